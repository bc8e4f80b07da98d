"""`facebridge bench`: speed and memory of the network, the whole-photo pipeline and the peers.

Warm-up, repeated runs, median and spread; CUDA synchronised around every timing. Numbers are only
ever what this machine measured.
"""

from __future__ import annotations

import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..device import describe
from ..network.unet import count_flops
from ..restorer import Restorer


@dataclass
class Timing:
    median: float
    spread: float  # (max - min) / 2 over the repeats
    runs: int

    def __str__(self) -> str:
        return f"{self.median * 1000:.1f} ms ± {self.spread * 1000:.1f}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_it(fn: Callable[[], None], device: torch.device, *, warmup: int = 1, repeats: int = 5) -> Timing:
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return Timing(statistics.median(times), (max(times) - min(times)) / 2, repeats)


def peak_rate(device: torch.device, dtype=torch.float32) -> float:
    """Measured dense matmul rate (FLOP/s): the device's practical peak for the floor estimate."""
    n = 2048 if device.type == "cpu" else 8192
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    t = time_it(lambda: a @ b, device, warmup=1, repeats=3)
    return 2 * n**3 / t.median


@dataclass
class NetworkRow:
    batch: int
    per_step: Timing
    per_face_by_steps: dict = field(default_factory=dict)


def bench_network(restorer: Restorer, steps: Sequence[int], batches: Sequence[int], repeats: int) -> list[NetworkRow]:
    rows = []
    size, ch = restorer.size, restorer.spec.network.in_channels
    for b in batches:
        x = torch.randn(b, ch, size, size, device=restorer.device)
        timing = time_it(lambda: restorer._net(x, 500), restorer.device, repeats=repeats)
        row = NetworkRow(b, timing)
        for s in steps:  # the sampler's own arithmetic is negligible next to the network
            row.per_face_by_steps[s] = timing.median * s / b
        rows.append(row)
    return rows


def bench_pipeline(session, photos: Sequence[Path], steps: int, repeats: int = 3) -> list[dict]:
    from ..io.images import encode_image, read_image
    from ..pipeline import RestoreOptions

    out = []
    for path in photos:
        stages = {"decode": [], "detect_align": [], "restore": [], "paste": [], "encode": []}
        faces = 0
        for _ in range(repeats + 1):
            t = time.perf_counter()
            photo = read_image(path)
            decode = time.perf_counter() - t
            result = session.restore_photo(photo, RestoreOptions(steps=steps))
            t = time.perf_counter()
            encode_image(result.photo, "jpg", 95)
            encode = time.perf_counter() - t
            faces = len(result.faces)
            for k, v in (("decode", decode), ("encode", encode), *result.timings.items()):
                stages[k].append(v)
        med = {k: statistics.median(v[1:]) for k, v in stages.items()}  # first run is the warm-up
        out.append({"photo": Path(path).name, "faces": faces, **med, "total": sum(med.values())})
    return out


def peak_rss_mb() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / 1024 if sys.platform != "darwin" else usage / 2**20


def memory_probe(model: Optional[str], photo: Path, megapixels: float, faces: int, steps: int) -> float:
    """Peak RSS (MB) of a fresh process restoring `photo` scaled to `megapixels`, capped at `faces` faces."""
    code = (
        "import sys, cv2; sys.path.insert(0, %r)\n"
        "from engine.bench.photo import peak_rss_mb\n"
        "from engine.io.images import read_image, Photo\n"
        "from engine.session import open_session\n"
        "from engine.pipeline import RestoreOptions\n"
        "from engine.faces.types import DetectOptions\n"
        "p = read_image(%r); h, w = p.pixels.shape[:2]; s = (%f * 1e6 / (h * w)) ** 0.5\n"
        "big = Photo(cv2.resize(p.pixels, (round(w * s), round(h * s)), interpolation=cv2.INTER_CUBIC))\n"
        "del p\n"
        "r = open_session(%r).restore_photo(big, RestoreOptions(steps=%d, detect=DetectOptions(max_faces=%d, min_face=40)))\n"
        "print(len(r.faces), big.pixels.shape[1], big.pixels.shape[0], peak_rss_mb())\n"
    ) % (str(Path(__file__).resolve().parents[1]), str(photo), megapixels, model, steps, faces)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-1500:])
    n, w, h, rss = proc.stdout.split()
    return {"faces": int(n), "width": int(w), "height": int(h), "peak_rss_mb": float(rss)}


def build_peers(device: torch.device):
    """The peers' architectures with random weights (timing only), from spandrel."""
    from spandrel.architectures.GFPGAN.__arch.gfpganv1_clean_arch import GFPGANv1Clean
    from spandrel.architectures.RestoreFormer.__arch.restoreformer_arch import RestoreFormer
    from spandrel_extra_arches.architectures.CodeFormer.__arch.codeformer import CodeFormer

    return {"GFPGAN v1.4 (GFPGANv1Clean)": GFPGANv1Clean(out_size=512, channel_multiplier=2, sft_half=True),
            "RestoreFormer": RestoreFormer(), "CodeFormer": CodeFormer()}


def bench_peers(device: torch.device, dtype: torch.dtype, repeats: int) -> dict:
    from ..device import autocast

    out = {}
    for name, net in build_peers(device).items():
        net = net.to(device).eval()
        x = torch.randn(1, 3, 512, 512, device=device)

        def run(net=net):
            with torch.inference_mode(), autocast(device, dtype):
                net(x)

        flops = _flops(net, x)
        out[name] = {"timing": time_it(run, device, warmup=1, repeats=repeats), "gflops": flops / 1e9}
    return out


def _flops(net, x) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        net(x)
    return float(counter.get_total_flops())


def machine_line(device: torch.device) -> str:
    import os

    cpu = platform.processor() or platform.machine()
    return (f"{describe(device)}; {cpu}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}, "
            f"torch {torch.__version__}, numpy {np.__version__}")


def network_flops(restorer: Restorer) -> int:
    return count_flops(restorer.model)
