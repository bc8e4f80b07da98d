"""`facebridge eval`."""

from __future__ import annotations

import argparse
import sys

from .paths import default_model_path


def add_parsers(sub) -> None:
    p = sub.add_parser("eval", help="score a model on a folder of faces (PSNR, SSIM, LPIPS, DISTS, identity)")
    p.add_argument("--hq", required=True, help="folder of high-quality face images")
    p.add_argument("--model", default=None, help="model .safetensors (default: the bundled model)")
    p.add_argument("--align", choices=["none", "detect"], default="none",
                   help="none: inputs are aligned like the model's training data; detect: detect and align")
    p.add_argument("--degradation", choices=["mild", "moderate", "severe"], default="moderate")
    p.add_argument("--steps", default="1,2,4,8,16,100")
    p.add_argument("--sampler", choices=["i2sb", "i3sb"], default="i2sb")
    p.add_argument("--eta", type=float, default=0.6)
    p.add_argument("--limit", type=int, default=0, help="use only the first N faces")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-identity", action="store_true", help="skip the (slow) dlib identity metric")
    p.add_argument("--no-dists", action="store_true", help="skip DISTS")
    p.add_argument("--batch", type=int, default=16, help="faces per network batch")
    p.add_argument("--out", default=None, help="write the full results as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.run import EvalConfig, evaluate, markdown_table, parse_steps, save_result
    from .progress_bar import TerminalProgress

    try:
        steps = parse_steps(args.steps)
    except ValueError as exc:
        print(f"facebridge eval: error: {exc}", file=sys.stderr)
        return 2
    cfg = EvalConfig(hq=args.hq, model=str(args.model or default_model_path()), degradation=args.degradation,
                     steps=steps, sampler=args.sampler, eta=args.eta, align=args.align, limit=args.limit,
                     seed=args.seed, device=args.device, identity=not args.no_identity,
                     dists=not args.no_dists, batch=args.batch)
    bar = TerminalProgress(sys.stderr)
    result = evaluate(cfg, callback=bar)
    bar.close()
    print(markdown_table(result))
    if args.out:
        save_result(result, args.out)
    return 0
