"""`facebridge restore` and `facebridge compare`."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from ..faces.types import DetectOptions
from ..pipeline import RestoreOptions
from ..progress import CancelToken, Progress
from ..threads import apply_cpu_threads
from .progress_bar import TerminalProgress


def _bundled_default_steps() -> str:
    """The bundled model's default step count, read from its metadata for the help text."""
    try:
        from ..io.checkpoints import read_spec
        from .paths import default_model_path

        return str(read_spec(default_model_path()).defaults.steps)
    except Exception:  # noqa: BLE001 - help must print even without the model
        return "the model's default"


def _common(p: argparse.ArgumentParser, single_steps: bool = True) -> None:
    if single_steps:
        p.add_argument("--steps", type=int, default=None,
                       help=f"bridge steps, 1-999: more steps, more detail and more time (default: the model's own, "
                            f"{_bundled_default_steps()} for the bundled model)")
    p.add_argument("--sampler", choices=["i2sb", "i3sb"], default=None,
                   help="i2sb: the posterior sampler; i3sb: the implicit sampler, noise set by --eta (stochastic "
                        "models only; the bundled model is deterministic)")
    p.add_argument("--eta", type=float, default=None, help="I3SB noise scale in [0, 1] (default 0.6)")
    p.add_argument("--seed", type=int, default=0, help="noise seed of stochastic models (default 0)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto",
                   help="where the network runs; auto prefers a GPU (default auto)")
    p.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default="auto",
                   help="network precision; auto = fp16 on a GPU, fp32 on the CPU")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads for the network (default 0 = the cores other programs leave idle)")
    p.add_argument("--detector", choices=["auto", "retinaface", "retinaface_mobile", "mtcnn"], default="auto",
                   help="face detector; auto = RetinaFace when its weights are downloaded, else the bundled MTCNN")
    p.add_argument("--detector-weights", default=None, help="a local RetinaFace .pth file")
    p.add_argument("--model", default=None, help="model .safetensors (default: the bundled model)")
    p.add_argument("--aligned", action="store_true",
                   help="inputs are already aligned face crops: no detection, each image is one face")
    p.add_argument("--only-center-face", action="store_true", help="restore only the face nearest the centre")
    p.add_argument("--only-largest-face", action="store_true", help="restore only the largest face")
    p.add_argument("--max-faces", type=int, default=0, help="restore at most this many faces, largest first (0 = all)")
    p.add_argument("--min-face", type=int, default=20, help="ignore faces smaller than this (pixels, default 20)")
    p.add_argument("--threshold", type=float, default=0.9, help="face detection confidence, 0-1 (default 0.9)")
    p.add_argument("--upscale", type=float, default=1.0, metavar="FACTOR",
                   help="enlarge the whole photo: 1 keeps its size (default); 2 or 4 upscale the background with "
                        "a Real-ESRGAN network (--background) and paste the restored faces in at that size "
                        "(docs/UPSCALE.md); with --background none, any factor from 1 to 8")
    p.add_argument("--background", choices=["compact", "quality", "none", "realesrgan"], default="compact",
                   help="how --upscale enlarges the photo around the faces: compact (default: Real-ESRGAN's compact "
                        "general model, under a minute per megapixel on a CPU), quality (Real-ESRGAN x4plus: a little "
                        "crisper, about 18x slower, many minutes per megapixel on a CPU; 'realesrgan' is its old "
                        "name) or none (a plain Lanczos resize, instant)")
    p.add_argument("--tile", type=int, default=0,
                   help="upscaler tile size in input pixels: larger tiles repeat less context and run faster "
                        "but hold more memory (default 0: the largest that half the free memory allows)")
    p.add_argument("--identity", action="store_true",
                   help="measure how far each restored face drifted from the input (dlib descriptor distance; "
                        "kept < 0.30 <= changed < 0.60 <= different, docs/IDENTITY.md): in --report, and per step "
                        "count in compare")
    p.add_argument("--no-provenance", action="store_true",
                   help="do not record in the output that faces were restored, and with which model (by default "
                        "every output carries XMP: IPTC Digital Source Type compositeWithTrainedAlgorithmicMedia, "
                        "the model and its SHA-256, steps, seed, the restored regions; see `facebridge info`)")


def add_parsers(sub) -> None:
    p = sub.add_parser("restore", help="restore the faces in photos and folders",
                       description="Restore the faces in photos and folders. Outputs are named "
                                   "<name>_restored.<ext> (as the app names them) in restored/ beside each input, or "
                                   "in -o; originals are never overwritten.",
                       epilog="exit codes: 0 every file succeeded (or had no face), 1 some files failed (each with "
                              "its reason in --report), 2 usage error (bad option, no Ray cluster), 130 stopped "
                              "by Ctrl-C after writing the report")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files and folders")
    p.add_argument("-o", "--output", default=None, help="output folder (default: restored/ beside each input)")
    p.add_argument("--recursive", action="store_true")
    _common(p)
    p.add_argument("--suffix", default="_restored", help="added to output file names (default _restored)")
    p.add_argument("--ext", choices=["auto", "png", "jpg", "webp", "tif"], default="auto",
                   help="output format; auto keeps the input's format where it can be written, else PNG")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default 95)")
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose output exists (resume)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace outputs that exist already (without it, or --skip-existing, such a photo fails "
                        "with a reason and its earlier output is kept)")
    p.add_argument("--report", default=None, help="write a JSON report here")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="spread the work over a Ray cluster: an address, 'auto' (running cluster) or 'local'")
    p.add_argument("--ray-replicas", type=int, default=0, help="model replicas (default: one per GPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a summary")
    p.set_defaults(func=run_restore)

    c = sub.add_parser("compare", help="restore one photo at several step counts and make a labelled grid",
                       description="Restore one photo at several step counts (the faces are found once) and write a "
                                   "labelled grid: the whole photo at each count on top, each face below; prints the "
                                   "time per count (after an untimed warm-up) and, with --identity, each face's "
                                   "identity drift. The grid is written beside the photo unless -o says where.")
    c.add_argument("image")
    c.add_argument("--steps", dest="step_list", default=None,
                   help="comma-separated step counts (default: the model's suggestion from its measured curve, "
                        "else 1,4,16)")
    c.add_argument("-o", "--output", default=None, help="grid image path (default: <image>_compare.png)")
    c.add_argument("--overwrite", action="store_true", help="replace a grid that exists already")
    _common(c, single_steps=False)
    c.set_defaults(func=run_compare)


def restore_options(args) -> RestoreOptions:
    steps = getattr(args, "steps", None)
    if steps is not None and not 1 <= steps <= 999:
        raise ValueError(f"--steps must be between 1 and 999, got {steps}")
    return RestoreOptions(steps=getattr(args, "steps", None), sampler=args.sampler, eta=args.eta, seed=args.seed, aligned=args.aligned,
                          detect=DetectOptions(min_face=args.min_face, threshold=args.threshold,
                                               max_faces=args.max_faces, only_largest=args.only_largest_face,
                                               only_center=args.only_center_face),
                          upscale=args.upscale, background=args.background, tile=args.tile,
                          identity=args.identity, provenance=not args.no_provenance)


def run_restore(args: argparse.Namespace) -> int:
    from ..batch import BatchRunner, OutputOptions, collect_inputs
    from ..session import open_session

    try:
        options = restore_options(args)
        out = OutputOptions(Path(args.output) if args.output else None, args.suffix, args.ext, args.quality,
                            args.skip_existing, args.overwrite)
    except ValueError as exc:
        print(f"facebridge restore: error: {exc}", file=sys.stderr)
        return 2
    items, missing = collect_inputs([Path(p) for p in args.inputs], args.recursive)
    if args.ray:
        return _run_ray(args, items, missing, options, out)
    session = open_session(args.model, device=args.device, precision=args.precision, detector=args.detector,
                           detector_weights=args.detector_weights, need_detector=not args.aligned)
    apply_cpu_threads(session.restorer.device, args.threads)
    if options.network_upscale:
        from ..errors import ModelError

        try:
            session.upscaler(options.background)  # a missing upscaler is one clear error, not a failure per file
        except ModelError as exc:
            print(f"facebridge restore: error: {exc}", file=sys.stderr)
            return 2
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())  # finish the report on Ctrl-C
    bar = FileProgress(sys.stderr, quiet=args.quiet or args.json, total=len(items))
    try:
        summary = BatchRunner(session, options, out).run(items, callback=bar, cancel=cancel, report_path=args.report,
                                                         pre_failed=missing, on_file=bar.file_done)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    elif not args.quiet:
        for f in summary.files:
            if f.status == "failed":
                error = f.error or "failed"
                print(f"failed: {error if error.startswith(f.input) else f'{f.input}: {error}'}", file=sys.stderr)
            for w in f.warnings:
                print(f"warning: {f.input}: {w}", file=sys.stderr)
        print(summary_line(summary, args.output, args.report))
    if summary.cancelled:
        return 130
    return 0 if summary.ok else 1


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary_line(summary, output, report) -> str:
    """'3 files (2 done, 1 failed), 4 faces in 6.1 s; outputs in restored/ beside each input; report r.json'."""
    statuses = ("done", "no_face", "skipped", "failed", "cancelled")
    counts = ", ".join(f"{summary.count(s)} {s.replace('_', ' ')}" for s in statuses if summary.count(s))
    where = f"outputs in {output}" if output else "outputs in restored/ beside each input"
    written = summary.count("done") + summary.count("no_face")
    return (f"{plural(len(summary.files), 'file')} ({counts}), {plural(summary.faces, 'face')} in "
            f"{summary.seconds:.1f} s" + (f"; {where}" if written else "") + (f"; report {report}" if report else "")
            + (" - cancelled" if summary.cancelled else ""))


def _run_ray(args, items, missing, options, out) -> int:
    from ..distributed import restore_with_ray
    from ..errors import ClusterUnavailable

    session_kwargs = dict(model=args.model, device=args.device, precision=args.precision, detector=args.detector,
                          detector_weights=args.detector_weights, need_detector=not args.aligned)
    bar = TerminalProgress(sys.stderr, quiet=args.quiet or args.json)
    try:
        summary = restore_with_ray(args.ray, items, options, out, session_kwargs=session_kwargs,
                                   report_path=args.report, pre_failed=missing, replicas=args.ray_replicas,
                                   callback=bar)
    except ClusterUnavailable as exc:
        bar.close()
        print(f"facebridge restore: error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    elif not args.quiet:
        print(f"{len(summary.files)} files, {summary.faces} faces in {summary.seconds:.1f} s (Ray)")
    return 0 if summary.ok else 1


class FileProgress(TerminalProgress):
    """Files done, faces, faces/s and ETA for a batch."""

    def __init__(self, stream, *, quiet: bool, total: int):
        super().__init__(stream, quiet=quiet)
        self.total, self.files_done, self.faces = total, 0, 0
        self.t0 = time.monotonic()

    def file_done(self, k, report) -> None:
        if report.status in ("done", "no_face", "failed", "skipped"):
            self.files_done += 1
            self.faces += report.faces
            elapsed = time.monotonic() - self.t0
            super().__call__(Progress("restore", self.files_done, self.total,
                                      f"{self.faces} faces, {self.faces / max(elapsed, 1e-9):.2f} faces/s"))

    def __call__(self, p: Progress) -> None:  # per-step progress is too chatty for a batch bar
        pass


def _model_compare_default(model) -> str:
    from ..io.checkpoints import read_spec
    from .paths import default_model_path

    try:
        return read_spec(Path(model) if model else default_model_path()).defaults.compare or "1,4,16"
    except Exception:  # noqa: BLE001 - a missing model is reported by open_session just after
        return "1,4,16"


def run_compare(args: argparse.Namespace) -> int:
    from ..compare import compare_steps, render_grid
    from ..evaluation.run import parse_steps
    from ..io.images import Photo, read_image, write_image
    from ..session import open_session

    try:
        steps = parse_steps(args.step_list or _model_compare_default(args.model))
        options = restore_options(args)
    except ValueError as exc:
        print(f"facebridge compare: error: {exc}", file=sys.stderr)
        return 2
    target = Path(args.output) if args.output else Path(args.image).with_name(Path(args.image).stem + "_compare.png")
    if target.exists() and not args.overwrite:
        print(f"facebridge compare: error: {target} exists already; not replaced (--overwrite replaces it, -o "
              "writes elsewhere)", file=sys.stderr)
        return 1
    photo = read_image(args.image)
    session = open_session(args.model, device=args.device, precision=args.precision, detector=args.detector,
                           detector_weights=args.detector_weights, need_detector=not args.aligned)
    apply_cpu_threads(session.restorer.device, args.threads)
    runs = compare_steps(session, photo, steps, options)
    grid = render_grid(photo, runs)
    write_image(target, Photo(grid), fmt="png", protect=(args.image,))
    ident = args.identity
    print("| steps | faces | seconds | s/face |" + (" identity (per face) |" if ident else "") + "\n|---|---|---|---|"
          + ("---|" if ident else ""))
    for r in runs:
        row = f"| {r.steps} | {len(r.result.faces)} | {r.seconds:.2f} | {r.seconds / max(1, len(r.result.faces)):.3f} |"
        if ident:
            row += " " + ", ".join(f.identity.label() if f.identity else "identity unknown"
                                   for f in r.result.faces) + " |"
        print(row)
    print(f"grid: {target}")
    return 0
