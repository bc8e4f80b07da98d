"""`facebridge` entry point: sub-commands live in small modules and register themselves here."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Optional, Sequence

from .. import __version__
from ..errors import EngineError


def build_parser() -> argparse.ArgumentParser:
    from . import train_cmd

    parser = argparse.ArgumentParser(prog="facebridge", description="FaceBridge: restore faces in old and "
                                     "low-quality photos with P-I2SB.")
    parser.add_argument("--version", action="version", version=f"facebridge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--self-test", action="store_true", help="same as the self-test command "
                        "(given first, it takes that command's options)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        module.add_parsers(sub)
    train_cmd.add_parsers(sub)
    return parser


def _command_modules():
    from . import bench_cmd, eval_cmd, gui_cmd, info_cmd, models_cmd, restore_cmd, selftest_cmd

    return [restore_cmd, eval_cmd, bench_cmd, models_cmd, info_cmd, gui_cmd, selftest_cmd]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--self-test"]:  # the flag form the built application documents
        argv[0] = "self-test"
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except EngineError as exc:
        print(f"facebridge: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("facebridge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
