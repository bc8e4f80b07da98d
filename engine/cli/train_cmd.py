"""`facebridge train` and `facebridge export`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import fields
from pathlib import Path

from ..training.config import TrainConfig
from .progress_bar import TerminalProgress


def add_parsers(sub) -> None:
    p = sub.add_parser("train", help="train a model (single process, or DDP under torchrun)")
    defaults = TrainConfig(data="", out="")
    for f in fields(TrainConfig):
        if f.name in ("data", "out"):
            continue
        value = getattr(defaults, f.name)
        kind = type(value)
        if kind is bool:
            p.add_argument(f"--{f.name.replace('_', '-')}", action="store_true", default=value)
        else:
            p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=value)
    p.add_argument("--data", required=True, help="folder of aligned HQ training faces")
    p.add_argument("--out", required=True, help="run directory (resumes if it holds a checkpoint)")
    p.set_defaults(func=run_train)

    e = sub.add_parser("export", help="export a run's EMA weights as a shipping .safetensors model")
    e.add_argument("run", help="run directory written by `facebridge train`")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--template-from", default=None,
                   help="folder of aligned faces to derive the 5-point template from (default: the run's data)")
    e.add_argument("--template-samples", type=int, default=300)
    e.add_argument("--template-model", default=None,
                   help="take the face template from this model (trained on the same aligned faces) instead")
    e.add_argument("--steps", type=int, default=4, help="default step count stored in the model")
    e.add_argument("--fp32", action="store_true", help="store float32 weights instead of float16")
    e.add_argument("--licence-note", default=None, help="what the training data's licences make of the model "
                   "(default: derived from the run's data)")
    e.set_defaults(func=run_export)

    a = sub.add_parser("annotate", help="store a model's measured step curve (from `facebridge eval --out`) in "
                       "its metadata, so the app and CLI can guide step choices")
    a.add_argument("model")
    a.add_argument("--eval", required=True, help="JSON written by `facebridge eval --out`")
    a.add_argument("--compare", default="", help="step counts to compare by default (default: 1, 4, the model's "
                   "default and 16, where measured)")
    a.set_defaults(func=run_annotate)


def run_train(args: argparse.Namespace) -> int:
    from ..training.loop import train

    import signal

    from ..errors import Cancelled
    from ..progress import CancelToken

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    cfg = TrainConfig(**values)
    bar = TerminalProgress(sys.stderr, quiet=getattr(args, "quiet", False))
    cancel = CancelToken()
    # SIGTERM/SIGINT stop after the current step and write the checkpoint (background jobs ignore SIGINT)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: cancel.cancel())
    try:
        result = train(cfg, callback=bar, cancel=cancel)
    except Cancelled:
        bar.close()
        print("stopped; the checkpoint is saved, run the same command again to resume", file=sys.stderr)
        return _leave(130)
    bar.close()
    print(json.dumps(result))
    return _leave(0)


def _leave(code: int) -> int:
    """A torchrun worker ends here without C++ static destructors: in CI a gloo rank aborted after its work was
    done and written ("terminate called without an active exception": a thread still joinable at exit).
    Everything is saved by now (checkpoint, log) and the process group destroyed."""
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def run_annotate(args: argparse.Namespace) -> int:
    from ..io.checkpoints import read_spec
    from ..training.export import annotate_model

    path = annotate_model(Path(args.model), Path(args.eval), args.compare)
    d = read_spec(path).defaults
    print(f"{path}: measured {d.measured} ({d.measured_on}); compare {d.compare}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..training.export import export_run

    path = export_run(Path(args.run), Path(args.output), template_from=args.template_from,
                      template_samples=args.template_samples, default_steps=args.steps, fp16=not args.fp32,
                      template_model=args.template_model, licence_note=args.licence_note)
    print(f"wrote {path}")
    return 0
