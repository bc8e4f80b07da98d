"""`facebridge bench --upscale`: seconds per input megapixel for both background networks at x2/x4, their
ratio, and peak memory.

Each measurement runs in a fresh process, so its peak resident memory (ru_maxrss; on CUDA also the peak
allocated GPU memory) belongs to that measurement alone. Three kinds:
- compact and quality: the converted Real-ESRGAN networks (engine/upscale/catalog.py) through Upscaler, on a
  crop of the sample photo tiled out to the requested size (time per megapixel, and peak memory at that size);
- stand-in: the same tiling code around a cheap 4x network (one conv after a nearest-neighbour 4x), so a
  24-megapixel photo can show that memory follows the tile band and the output, not the network on the
  whole photo, in seconds instead of the hours the real network would take on a CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import json, sys, time, resource
sys.path.insert(0, {root!r})
import numpy as np, torch
from engine.io.images import read_image
from engine.cli.paths import resources_dir
from engine.device import resolve_device

def rss_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if sys.platform != "darwin" else r / 2**20

kind, mp, factor, tile, device = {kind!r}, {mp!r}, {factor!r}, {tile!r}, resolve_device({device!r})
from engine.upscale.memory import resolve_tile
tile = resolve_tile(tile, device, kind if kind != "stand-in" else "compact")  # 0: what a restore would choose
sample = read_image(resources_dir() / "samples" / "astronaut_low_quality.jpg").pixels
side = max(16, round((mp * 1e6) ** 0.5))
reps = -(-side // sample.shape[0])
image = np.ascontiguousarray(np.tile(sample, (reps, reps, 1))[:side, :side])
if kind != "stand-in":
    from engine.upscale.model import Upscaler
    from engine.upscale.weights import ensure_background
    up = Upscaler(ensure_background(kind), device=device)
    up.upscale(image[:32, :32], factor)  # warm-up (allocator, kernels), as a session's probe does
    run = lambda: up.upscale(image, factor, tile=tile)
else:
    from engine.upscale.tiles import DEFAULT_CONTEXT, DEFAULT_OVERLAP
    from engine.upscale.tiles import run_tiled
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1).to(device).eval()
    net = lambda x: conv(torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest"))
    run = lambda: run_tiled(image, net, 4, factor=factor, tile=tile, overlap=DEFAULT_OVERLAP,
                            context=DEFAULT_CONTEXT, device=device)
if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats()
before = rss_mb()
t = time.perf_counter()
out = run()
if device.type == "cuda":
    torch.cuda.synchronize()
sec = time.perf_counter() - t
print(json.dumps({{"kind": kind, "side": side, "factor": factor, "tile": tile, "seconds": sec,
                   "input_mb": image.nbytes / 1e6, "output_mb": out.nbytes / 1e6, "rss_before_mb": before,
                   "peak_rss_mb": rss_mb(), "device": device.type,
                   "peak_gpu_mb": torch.cuda.max_memory_allocated() / 1e6 if device.type == "cuda" else None}}))
"""


@dataclass
class UpscaleRun:
    kind: str
    side: int
    factor: int
    tile: int
    seconds: float
    input_mb: float
    output_mb: float
    rss_before_mb: float
    peak_rss_mb: float
    device: str
    peak_gpu_mb: Optional[float]

    @property
    def megapixels(self) -> float:
        return self.side * self.side / 1e6

    @property
    def seconds_per_mp(self) -> float:
        return self.seconds / self.megapixels


def probe(kind: str, megapixels: float, factor: int, tile: int, device: str = "auto",
          timeout: float = 7200) -> UpscaleRun:
    code = _PROBE.format(root=str(ROOT), kind=kind, mp=megapixels, factor=factor, tile=tile, device=device)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-1500:])
    return UpscaleRun(**json.loads(proc.stdout.strip().splitlines()[-1]))


def upscale_section(device: str, real_mp: float, stand_in_mp: float, tile: int,
                    factors: tuple[int, ...] = (2, 4), models: tuple[str, ...] = ("compact", "quality")) -> list[str]:
    """Markdown: each background network at each factor at `real_mp`, their ratio, and the stand-in at
    `stand_in_mp` (x2)."""
    from engine.upscale.catalog import MODELS

    runs = [probe(m, real_mp, f, tile, device) for m in models for f in factors]
    if stand_in_mp:
        runs.append(probe("stand-in", stand_in_mp, 2, tile, device))
    gpu = runs[0].device == "cuda"
    lines = ["### Background upscaling (Real-ESRGAN compact and x4plus, tiled)", "",
             f"Tile {'automatic (from free memory, per network)' if not tile else f'{tile} px'}, each run in a "
             "fresh process after a warm-up on 32x32 px. 'above input + output' is the peak resident memory "
             "minus the process before the run, minus the output array: the working memory the tiling bounds.",
             "", "| network | input | factor | tile | seconds | s per input MP | peak RSS | above input + output |"
             + (" peak GPU |" if gpu else ""),
             "|---|---|---|---|---|---|---|---|" + ("---|" if gpu else "")]
    for r in runs:
        name = MODELS[r.kind].title if r.kind in MODELS else "stand-in (1 conv)"
        work = r.peak_rss_mb - r.rss_before_mb - r.output_mb
        lines.append(f"| {name} | {r.side}x{r.side} ({r.megapixels:.2f} MP) | x{r.factor} | {r.tile} | "
                     f"{r.seconds:.1f} | {r.seconds_per_mp:.1f} | {r.peak_rss_mb:.0f} MB | {work:.0f} MB |"
                     + (f" {r.peak_gpu_mb:.0f} MB |" if r.peak_gpu_mb is not None else ""))
    lines.append("")
    by = {(r.kind, r.factor): r.seconds_per_mp for r in runs}
    for f in factors:
        if ("compact", f) in by and ("quality", f) in by:
            lines.append(f"- x{f}: compact {by['compact', f]:.1f} s per input MP, x4plus {by['quality', f]:.1f}: "
                         f"compact takes **1/{by['quality', f] / by['compact', f]:.1f}** of x4plus's time.")
    return lines + [""]
