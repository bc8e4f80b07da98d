"""`facebridge eval`."""

from __future__ import annotations

import argparse
import sys

from .paths import default_model_path


def add_parsers(sub) -> None:
    p = sub.add_parser("eval", help="score a model on a folder of faces (PSNR, SSIM, LPIPS, DISTS, identity)",
                       description="Score a model. --protocol faces (default): aligned face crops degraded at a "
                       "level and restored directly. --protocol celeba-test: the peers' benchmark, 512 px whole-head "
                       "faces (celebahq-faces/eval) degraded by GFPGAN's CelebA-Test recipe and restored through "
                       "the whole-photo path (detect, align, restore, paste back), scored at 512 px.")
    p.add_argument("--hq", required=True, help="folder of high-quality face images")
    p.add_argument("--protocol", choices=["faces", "celeba-test"], default="faces")
    p.add_argument("--model", default=None, help="model .safetensors (default: the bundled model)")
    p.add_argument("--align", choices=["none", "detect"], default="none",
                   help="none: inputs are aligned like the model's training data; detect: detect and align")
    p.add_argument("--degradation", choices=["mild", "moderate", "severe"], default="moderate")
    p.add_argument("--steps", default=None, help="comma-separated step counts (default: 1,2,4,8,16,100; "
                   "celeba-test: 1,2,4,8,16)")
    p.add_argument("--sampler", choices=["i2sb", "i3sb"], default="i2sb")
    p.add_argument("--eta", type=float, default=0.6)
    p.add_argument("--limit", type=int, default=0, help="use only the first N faces")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-identity", action="store_true", help="skip the (slow) dlib identity metric")
    p.add_argument("--no-dists", action="store_true", help="skip DISTS")
    p.add_argument("--reuse-input", default="", metavar="JSON", help="celeba-test: take the degraded-input row "
                   "from an earlier run's JSON (same images, seed and settings; checked)")
    p.add_argument("--reference", default="", metavar="NETS",
                   help="celeba-test: also score general upscalers as reference rows (comma-separated: quality = "
                        "Real-ESRGAN x4plus, compact): the degraded photo at 128 px enlarged x4, no face model")
    p.add_argument("--dists-limit", type=int, default=100, help="celeba-test: DISTS (slow at 512 px) on the first N "
                   "images, at the input and the default step count (0 = all)")
    p.add_argument("--batch", type=int, default=16, help="faces per network batch")
    p.add_argument("--out", default=None, help="write the full results as JSON here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.run import EvalConfig, evaluate, markdown_table, parse_steps

    try:
        steps = parse_steps(args.steps or ("1,2,4,8,16" if args.protocol == "celeba-test" else "1,2,4,8,16,100"))
    except ValueError as exc:
        print(f"facebridge eval: error: {exc}", file=sys.stderr)
        return 2
    if args.protocol == "celeba-test":
        return run_photo_protocol(args, steps)
    cfg = EvalConfig(hq=args.hq, model=str(args.model or default_model_path()), degradation=args.degradation,
                     steps=steps, sampler=args.sampler, eta=args.eta, align=args.align, limit=args.limit,
                     seed=args.seed, device=args.device, identity=not args.no_identity,
                     dists=not args.no_dists, batch=args.batch)
    return _report(evaluate, markdown_table, cfg, args.out)


def _report(evaluate, table, cfg, out) -> int:
    """Run an evaluation with a progress bar, print its table, write its JSON when asked."""
    from ..evaluation.run import save_result
    from .progress_bar import TerminalProgress

    bar = TerminalProgress(sys.stderr)
    result = evaluate(cfg, callback=bar)
    bar.close()
    print(table(result))
    if out:
        save_result(result, out)
    return 0


def run_photo_protocol(args: argparse.Namespace, steps) -> int:
    from ..evaluation.photo_protocol import ProtocolConfig, evaluate_photos, markdown_table

    cfg = ProtocolConfig(eval_dir=args.hq, model=str(args.model or default_model_path()), steps=tuple(steps),
                         limit=args.limit, seed=args.seed, device=args.device, dists=not args.no_dists,
                         identity=not args.no_identity, batch=args.batch, dists_limit=args.dists_limit,
                         reuse_input=args.reuse_input,
                         references=tuple(r for r in args.reference.split(",") if r))
    return _report(evaluate_photos, markdown_table, cfg, args.out)
