"""`facebridge bench --upscale`: seconds per input megapixel for Real-ESRGAN x2/x4, and peak memory.

Each measurement runs in a fresh process, so its peak resident memory (ru_maxrss; on CUDA also the peak
allocated GPU memory) belongs to that measurement alone. Two kinds:
- real: the converted Real-ESRGAN x4plus through Upscaler, on a crop of the sample photo tiled out to the
  requested size (time per megapixel, and peak memory at that size);
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
tile = resolve_tile(tile, device)  # 0: what a restore on this device would choose
sample = read_image(resources_dir() / "samples" / "astronaut_low_quality.jpg").pixels
side = max(16, round((mp * 1e6) ** 0.5))
reps = -(-side // sample.shape[0])
image = np.ascontiguousarray(np.tile(sample, (reps, reps, 1))[:side, :side])
if kind == "real":
    from engine.upscale.model import Upscaler
    from engine.upscale.weights import ensure_upscaler
    up = Upscaler(ensure_upscaler(), device=device)
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
                    factors: tuple[int, ...] = (2, 4)) -> list[str]:
    """Markdown: Real-ESRGAN at each factor at `real_mp`, and the stand-in at `stand_in_mp` (x2)."""
    runs = [probe("real", real_mp, f, tile, device) for f in factors]
    if stand_in_mp:
        runs.append(probe("stand-in", stand_in_mp, 2, tile, device))
    lines = ["### Background upscaling (Real-ESRGAN x4plus, tiled)", "",
             f"Tile {runs[0].tile} px{' (automatic: from free memory)' if not tile else ''}, each run in a fresh "
             "process. 'above input + output' is the peak resident memory "
             "minus the process before the run, minus the output array: the working memory the tiling bounds.",
             "", "| network | input | factor | seconds | s per input MP | peak RSS | above input + output |"
             + (" peak GPU |" if runs[0].device == "cuda" else ""),
             "|---|---|---|---|---|---|---|" + ("---|" if runs[0].device == "cuda" else "")]
    for r in runs:
        name = "Real-ESRGAN x4plus" if r.kind == "real" else "stand-in (1 conv)"
        work = r.peak_rss_mb - r.rss_before_mb - r.output_mb
        lines.append(f"| {name} | {r.side}x{r.side} ({r.megapixels:.2f} MP) | x{r.factor} | {r.seconds:.1f} | "
                     f"{r.seconds_per_mp:.0f} | {r.peak_rss_mb:.0f} MB | {work:.0f} MB |"
                     + (f" {r.peak_gpu_mb:.0f} MB |" if r.peak_gpu_mb is not None else ""))
    return lines + [""]
