"""`facebridge bench`: print (and optionally write) Markdown tables of measured speed and memory."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import torch

from .paths import default_model_path


def add_parsers(sub) -> None:
    p = sub.add_parser("bench", help="measure speed and memory (network, whole-photo pipeline, peers)")
    p.add_argument("--model", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto")
    p.add_argument("--steps", default="1,2,4,8,16,32,100")
    p.add_argument("--batch", default="1,8,32")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--photos", nargs="*", default=None, help="photos for the pipeline benchmark")
    p.add_argument("--peers", action="store_true", help="also time GFPGAN, RestoreFormer and CodeFormer (spandrel)")
    p.add_argument("--memory", action="store_true", help="peak RSS for a 24-megapixel photo with 10 faces")
    p.add_argument("--memory-photo", default=None, help="photo with many faces to scale up for --memory")
    p.add_argument("--tuning", action="store_true", help="time channels_last, bf16/fp16, torch.compile, CUDA "
                   "graphs and thread settings against the plain network, and the batch/app pipeline overhead")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--training", action="store_true", help="training throughput instead: the data path alone "
                   "(per-sample against batched) and whole training steps, images/s and TFLOP/s at --train-batch")
    p.add_argument("--train-batch", type=int, default=256)
    p.add_argument("--train-preset", default=None, help="network preset for the training steps (default: gpu on "
                   "CUDA, small elsewhere)")
    p.add_argument("--train-data", default=None, help="face folder or pack (default: synthetic faces)")
    p.add_argument("--train-size", type=int, default=128, help="face size for the training benchmark")
    p.add_argument("--train-variants", action="store_true", help="also time channels_last and torch.compile")
    p.add_argument("--upscale", action="store_true", help="background upscaling instead: both Real-ESRGAN networks "
                   "(compact, the default, and x4plus) at x2 and x4, seconds per input megapixel, their ratio and "
                   "peak memory, plus the tiling around a cheap stand-in network on a large photo")
    p.add_argument("--upscale-mp", type=float, default=0.0,
                   help="photo size for the Real-ESRGAN runs, megapixels (default 1 on a GPU, 0.066 = 256x256 "
                        "on a CPU, where x4plus runs minutes per megapixel)")
    p.add_argument("--upscale-models", default="compact,quality",
                   help="background networks to time (default compact,quality)")
    p.add_argument("--upscale-factors", default="2,4", help="factors for the Real-ESRGAN runs (default 2,4)")
    p.add_argument("--stand-in-mp", type=float, default=24.0, help="photo size for the stand-in run (0 = skip)")
    p.add_argument("--tile", type=int, default=0,
                   help="upscaler tile size, input pixels (default 0: chosen from free memory, as restore does)")
    p.add_argument("--out", default=None, help="write the report (Markdown) here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bench.photo import bench_network, bench_peers, bench_pipeline, memory_probe, network_flops, peak_rate
    from ..device import resolve_precision
    from ..evaluation.run import parse_steps
    from ..session import open_session

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.training:
        return run_training(args)
    if args.upscale:
        return run_upscale(args)
    steps = parse_steps(args.steps)
    batches = [int(b) for b in args.batch.split(",")]
    model = args.model or str(default_model_path())
    # the detector only for the whole-photo benchmarks (a bare GPU machine has no facexlib)
    session = open_session(model, device=args.device, precision=args.precision,
                           need_detector=bool(args.photos or args.memory))
    r = session.restorer
    default_steps = r.spec.defaults.steps
    lines = _header("facebridge bench", r.device) + [
        f"- Model: `{Path(model).name}` ({r.spec.bridge.hashing}, {r.size} px, "
        f"{sum(p.numel() for p in r.model.parameters()) / 1e6:.2f} M parameters, "
        f"{network_flops(r) / 1e9:.2f} GFLOPs per step), precision {str(r.dtype).replace('torch.', '')}, "
        f"default {default_steps} steps", ""]
    rate = peak_rate(r.device)
    lines += [f"Measured peak dense matmul rate: {rate / 1e9:.0f} GFLOP/s (fp32). Floor at the default step count: "
              f"{network_flops(r) * default_steps / rate * 1000:.1f} ms per face.", ""]

    rows = bench_network(r, steps, batches, args.repeats)
    lines += ["### Network (per aligned face)", "",
              "| batch | per step (median ± half-range) | " + " | ".join(f"{s} steps" for s in steps) + " |",
              "|---|---|" + "---|" * len(steps)]
    for row in rows:
        lines.append(f"| {row.batch} | {row.per_step} | " +
                     " | ".join(f"{row.per_face_by_steps[s] * 1000:.1f} ms" for s in steps) + " |")
    ours_b1 = rows[0].per_face_by_steps.get(default_steps, rows[0].per_step.median * default_steps)
    lines.append("")

    if args.photos:
        lines += [f"### Whole-photo pipeline at {default_steps} steps (median of 3 after a warm-up)", "",
                  "| photo | faces | decode | detect+align | restore | paste | encode | total | overhead vs network |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in bench_pipeline(session, [Path(x) for x in args.photos], default_steps):
            over = (p["total"] - p["restore"]) / p["restore"] * 100 if p["restore"] else 0
            lines.append(f"| {p['photo']} | {p['faces']} | " + " | ".join(
                f"{p[k] * 1000:.0f} ms" for k in ("decode", "detect_align", "restore", "paste", "encode", "total"))
                + f" | {over:.0f}% |")
        lines.append("")

    if args.tuning:
        lines += tuning_section(session, args, batches, default_steps)

    if args.memory:
        photo = args.memory_photo or (args.photos[0] if args.photos else None)
        if photo:
            m = memory_probe(model, Path(photo), 24.0, 10, default_steps)
            lines += [f"### Memory: {m['width']}x{m['height']} photo ({m['width'] * m['height'] / 1e6:.1f} MP), "
                      f"{m['faces']} faces restored", "", f"Peak RSS of a fresh process: **{m['peak_rss_mb']:.0f} MB**", ""]
    if r.device.type == "cuda":
        lines.append(f"Peak GPU memory: {torch.cuda.max_memory_allocated() / 2**20:.0f} MB")

    if args.peers:
        dtype = resolve_precision(args.precision, r.device)
        peers = bench_peers(r.device, dtype, max(2, args.repeats // 2))
        lines += ["### Peers (random weights, 512 px, batch 1, same device and settings)", "",
                  "| network | GFLOPs/face | time per face | ratio to FaceBridge at default steps |", "|---|---|---|---|",
                  f"| FaceBridge ({default_steps} steps) | {network_flops(r) * default_steps / 1e9:.1f} | "
                  f"{ours_b1 * 1000:.1f} ms | 1.00 |"]
        for name, p in peers.items():
            lines.append(f"| {name} | {p['gflops']:.0f} | {p['timing']} | {p['timing'].median / ours_b1:.1f}x |")
        lines.append("")
    return _emit(lines, args.out)


def _header(command: str, device: torch.device) -> list[str]:
    """The report's title and machine line, the same for every bench mode."""
    from ..bench.photo import machine_line

    return [f"## `{command}` on {device.type.upper()}, {dt.date.today().isoformat()}", "",
            f"- Machine: {machine_line(device)}; torch threads {torch.get_num_threads()}"]


def _emit(lines: list[str], out: str | None) -> int:
    """Print the report and, with --out, write it too."""
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")
    return 0


def run_upscale(args: argparse.Namespace) -> int:
    from ..bench.upscale import upscale_section
    from ..device import resolve_device

    device = resolve_device(args.device)
    mp = args.upscale_mp or (1.0 if device.type == "cuda" else 256 * 256 / 1e6)
    lines = _header("facebridge bench --upscale", device) + [""]
    factors = tuple(int(f) for f in args.upscale_factors.split(","))
    lines += upscale_section(args.device, mp, args.stand_in_mp, args.tile, factors,
                             tuple(m.strip() for m in args.upscale_models.split(",")))
    return _emit(lines, args.out)


def run_training(args: argparse.Namespace) -> int:
    from ..bench.training import training_section
    from ..device import resolve_device

    device = resolve_device(args.device)
    lines = _header("facebridge bench --training", device) + [""]
    lines += training_section(device, args.train_batch, args.repeats, args.train_preset, args.train_data,
                              args.train_variants, size=args.train_size)
    return _emit(lines, args.out)


def tuning_section(session, args, batches, steps) -> list[str]:
    from ..bench.tuning import bench_batch_pipeline, bench_rerestore, bench_tuning, describe_row

    r = session.restorer
    lines = ["### Engine tuning (network per face at one step, each variant against fp32 in the same run)", "",
             "| variant | batch | per face | batch time (median ± half-range) | speed-up | set-up |",
             "|---|---|---|---|---|---|"]
    lines += [describe_row(row) for row in bench_tuning(r, sorted({batches[0], batches[-1]}), args.repeats)]
    lines.append("")
    if args.photos:
        lines += [f"### Pipeline overhead as the app and the batch engine pay it ({steps} steps)", "",
                  "| photo | faces | network alone | app re-restore (faces found at open) | overhead | "
                  "batch engine, per photo (8 copies) | overhead |", "|---|---|---|---|---|---|---|"]
        for photo in map(Path, args.photos):
            rr = bench_rerestore(session, photo, steps)
            bp = bench_batch_pipeline(session, photo, 8, steps)
            over = (bp["per_photo"] - rr["network"]) / rr["network"]
            lines.append(f"| {photo.name} | {rr['faces']} | {rr['network'] * 1000:.0f} ms | {rr['total'] * 1000:.0f} ms | "
                         f"{rr['overhead'] * 100:.0f}% | {bp['per_photo'] * 1000:.0f} ms | {over * 100:.0f}% |")
        lines.append("")
    return lines
