"""`facebridge self-test` (also `facebridge --self-test`): check this installation end to end."""

from __future__ import annotations

import argparse
import importlib.util


def add_parsers(sub) -> None:
    p = sub.add_parser("self-test", help="restore a bundled sample headless and check the result "
                       "(exit 0 when everything works)")
    p.add_argument("--model", default=None, help="checkpoint to test (default: the bundled model)")
    p.add_argument("--sample", default=None, help="photo to restore (default: the bundled sample)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--no-gui", action="store_true", help="skip the desktop part (Qt window, worker thread)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..selftest import run_self_test

    report = run_self_test(model=args.model, sample=args.sample, device=args.device)
    if not report.ok:
        return 1
    if args.no_gui or importlib.util.find_spec("PySide6") is None:
        print("  GUI part skipped" + ("" if args.no_gui else " (PySide6 is not installed)"))
        return 0
    from gui.selftest import run_gui_self_test  # lazily: the engine never needs Qt

    problem = run_gui_self_test(model=args.model, sample=args.sample)
    if problem:
        print(f"self-test FAILED (desktop part): {problem}")
        return 1
    print("desktop self-test passed")
    return 0
