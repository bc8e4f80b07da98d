"""Entry point of the built application: one program that is both the desktop app and the CLI.

No arguments, or only paths (a file dropped on the icon, "Open with"), opens the window; anything else
(`restore ...`, `--self-test`, `--help`) goes to the `facebridge` command line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional, Sequence


def _usable_streams() -> None:
    # a windowed Windows/macOS build starts without stdout/stderr; printing must not crash it
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))


def wants_gui(argv: Sequence[str]) -> bool:
    return not argv or all(not a.startswith("-") and Path(a).exists() for a in argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    _usable_streams()
    # macOS passes a process serial number to apps started from Finder
    args = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-psn_")]
    if wants_gui(args):
        from gui.app import main as gui_main

        return gui_main(args)
    from engine.cli.main import main as cli_main

    return cli_main(args)
