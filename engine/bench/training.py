"""`facebridge bench --training`: training throughput on the current device.

Two numbers at a chosen batch: images/s of the data path alone (today's per-sample OpenCV loop against the
batched tensor path on the device), and images/s plus achieved TFLOP/s of whole training steps (data,
forward, backward, optimiser, EMA) with the batched path, as the device kit trains.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .photo import sync


def synthetic_faces(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Smooth random colour fields with some edges: stand-ins when no face folder is given (the
    degradation's cost does not depend on the content)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((count, size, size, 3), np.uint8)
    for i in range(count):
        f = rng.uniform(2, 9, 3)
        img = np.stack([np.sin(f[0] * xx + rng.uniform(0, 6)), np.cos(f[1] * yy + rng.uniform(0, 6)),
                        np.sin(f[2] * (xx + yy))], axis=-1)
        out[i] = ((img * 0.5 + 0.5) * 255).astype(np.uint8)
    return out


def _rate(fn, device: torch.device, images: int, repeats: int) -> tuple[float, float]:
    """Median images/s over `repeats` timed calls after one warm-up, and the half-range in images/s."""
    fn(0)
    sync(device)
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        fn(i + 1)
        sync(device)
        times.append(time.perf_counter() - t)
    rates = [images / t for t in times]
    return statistics.median(rates), (max(rates) - min(rates)) / 2


def bench_data_paths(faces: np.ndarray, device: torch.device, batch: int, repeats: int) -> dict:
    from ..training.data import BatchedPairSampler, PairSampler

    per_sample = PairSampler(faces, seed=0)
    batched = BatchedPairSampler(faces, seed=0, device=device)
    return {"per-sample (OpenCV, CPU)": _rate(lambda s: per_sample.batch(s, batch), torch.device("cpu"), batch, repeats),
            f"batched ({device.type})": _rate(lambda s: batched.batch(s, batch), device, batch, repeats)}


def bench_train_steps(faces: np.ndarray, device: torch.device, batch: int, repeats: int, preset: str,
                      channels_last: bool = False, compile: bool = False) -> dict:
    import tempfile

    from ..training.config import TrainConfig
    from ..training.loop import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(data="(in memory)", out=tmp, preset=preset, image_size=faces.shape[1], batch=batch,
                          param="precond", time_sampling="steps", ot_ode=True, ema_halflife=0.1,
                          data_path="batched", device=str(device), channels_last=channels_last, compile=compile)
        trainer = Trainer(cfg, faces=faces)
        rate, spread = _rate(lambda s: trainer.train_step(trainer.sampler), device, batch, repeats)
    return {"images_per_s": rate, "spread": spread, "tflops": rate * trainer.train_flops / 1e12,
            "params_m": sum(p.numel() for p in trainer.model.parameters()) / 1e6,
            "peak_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None}


def training_section(device: torch.device, batch: int, repeats: int, preset: Optional[str], data: Optional[str],
                     variants: bool = False, size: int = 128) -> list[str]:
    from ..training.data import load_faces

    faces = load_faces(Path(data), size, limit=2048) if data else synthetic_faces(max(batch, 512), size)
    preset = preset or ("gpu" if device.type == "cuda" else "small")
    lines = [f"### Training throughput, batch {batch} ({'faces from ' + Path(data).name if data else 'synthetic faces'}, "
             f"{size} px; median of {repeats} after a warm-up)", "",
             "| path | images/s (median ± half-range) | per image |", "|---|---|---|"]
    data_rates = bench_data_paths(faces, device, batch, repeats)
    for name, (rate, spread) in data_rates.items():
        lines.append(f"| data: {name} | {rate:.0f} ± {spread:.0f} | {1000 / rate:.2f} ms |")
    rates = list(data_rates.values())
    lines += ["", f"Batched data path: **{rates[1][0] / rates[0][0]:.1f}x** the per-sample path's images/s.", "",
              "| training step (batched data) | preset | parameters | images/s | achieved TFLOP/s | peak GPU memory |",
              "|---|---|---|---|---|---|"]
    combos = [(False, False)] + ([(True, False), (False, True)] if variants else [])
    for channels_last, compile in combos:
        r = bench_train_steps(faces, device, batch, repeats, preset, channels_last, compile)
        name = "plain" + (" + channels_last" if channels_last else "") + (" + torch.compile" if compile else "")
        peak = f"{r['peak_mb']:.0f} MB" if r["peak_mb"] is not None else "n/a"
        lines.append(f"| {name} | {preset} | {r['params_m']:.1f} M | {r['images_per_s']:.1f} ± {r['spread']:.1f} | "
                     f"{r['tflops']:.3g} | {peak} |")
    lines.append("")
    return lines
