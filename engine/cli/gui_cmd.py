"""`facebridge gui [PATH ...]`: the desktop app (imported lazily: the engine never needs Qt)."""

from __future__ import annotations

import argparse


def add_parsers(sub) -> None:
    p = sub.add_parser("gui", help="open the desktop application")
    p.add_argument("paths", nargs="*", help="photos to open, or a folder for the batch view")
    p.add_argument("--model", default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gui.app import main as gui_main

    return gui_main(args.paths, model=args.model)
