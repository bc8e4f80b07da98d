"""The training loop: bridge (I2SB loss on pseudo-hashed endpoints) or plain regression baseline.

Single process, or DDP under torchrun (gloo on CPU, nccl on GPU). Everything random is derived from
(seed, step, sample index), so resuming from a checkpoint continues exactly as if never interrupted.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

from ..bridge.hashing import get_hashing
from ..bridge.schedule import BridgeSchedule
from ..device import autocast, resolve_device
from ..modelspec import BridgeConfig
from ..network.config import preset
from ..network.unet import UNet, count_parameters
from ..progress import CancelToken, ProgressCallback, check, report
from .config import TrainConfig
from .data import PairSampler, load_faces

TIME_BUCKETS = 10  # loss is also logged per tenth of the bridge time (the "loss near the boundary" study)


def bridge_config(cfg: TrainConfig) -> BridgeConfig:
    return BridgeConfig(beta_max=cfg.beta_max, hashing=cfg.hashing, ot_ode=cfg.ot_ode, objective=cfg.objective)


def build_model(cfg: TrainConfig) -> UNet:
    ch = bridge_config(cfg).channels
    return UNet(preset(cfg.preset, in_channels=ch, out_channels=ch, image_size=cfg.image_size))


def lr_at(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def per_sample_noise(cfg: TrainConfig, step: int, first: int, count: int, shape, interval: int):
    """Bridge time index and Gaussian noise for samples first..first+count-1 of a step's global batch."""
    ns, zs = [], []
    for j in range(first, first + count):
        g = torch.Generator().manual_seed(hash((cfg.seed, step, j, 7)) & 0x7FFFFFFF)
        ns.append(int(torch.randint(0, interval, (1,), generator=g)))
        zs.append(torch.randn(shape, generator=g))
    return torch.tensor(ns), torch.stack(zs)


class Trainer:
    def __init__(self, cfg: TrainConfig, *, callback: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None):
        self.cfg = cfg
        self.callback, self.cancel = callback, cancel
        self.rank = int(os.environ.get("RANK", 0))
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.device = resolve_device(cfg.device)
        if self.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        self.dtype = torch.bfloat16 if (cfg.precision == "bf16" or (
            cfg.precision == "auto" and self.device.type == "cuda")) else torch.float32
        self.run_dir = Path(cfg.out)
        self.schedule = BridgeSchedule(beta_max=cfg.beta_max)
        self.bridge = bridge_config(cfg)
        self.hashing = get_hashing(cfg.hashing)
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg).to(self.device)
        self.ema = [p.detach().clone() for p in self.model.parameters()]
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.step = 0
        self.images_seen = 0
        self.wall_time = 0.0
        self.ddp = None
        if self.world > 1:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    # -- state ---------------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "ema": self.ema, "opt": self.opt.state_dict(),
                "step": self.step, "images_seen": self.images_seen, "wall_time": self.wall_time,
                "config": self.cfg.to_dict()}

    def save(self) -> None:
        if self.rank != 0:
            return
        tmp = self.ckpt_path.with_suffix(".tmp")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, self.ckpt_path)

    def load(self) -> bool:
        if not self.ckpt_path.exists():
            return False
        state = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        for e, s in zip(self.ema, state["ema"]):
            e.copy_(s)
        self.opt.load_state_dict(state["opt"])
        self.step, self.images_seen = int(state["step"]), int(state["images_seen"])
        self.wall_time = float(state["wall_time"])
        return True

    def ema_model(self) -> UNet:
        """A copy of the network carrying the EMA weights (what gets sampled and exported)."""
        model = build_model(self.cfg).to(self.device)
        for p, e in zip(model.parameters(), self.ema):
            p.data.copy_(e)
        return model.eval()

    # -- one step ------------------------------------------------------------------------------
    def loss(self, hq: torch.Tensor, lq: torch.Tensor, step: int):
        """Mean loss and per-sample (time index, loss) for bucketed logging."""
        net = self.ddp or self.model
        per = hq.shape[0]
        if self.bridge.objective == "regression":
            with autocast(self.device, self.dtype):
                out = net(lq, torch.zeros(per, device=self.device))
            per_sample = (out.float() - hq).abs().flatten(1).mean(1)
            return per_sample.mean(), None, per_sample
        x0, x1 = self.hashing.hash(hq, lq), self.hashing.endpoint_x1(lq)
        n, z = per_sample_noise(self.cfg, step, self.rank * per, per, x0.shape[1:], self.schedule.interval)
        n, z = n.to(self.device), z.to(self.device)
        xt = self.schedule.q_sample(n, x0, x1, ot_ode=self.cfg.ot_ode, noise=z)
        label = self.schedule.label(n, x0, xt)
        with autocast(self.device, self.dtype):
            out = net(xt, self.schedule.level(n))
        per_sample = (out.float() - label).pow(2).flatten(1).mean(1)
        return per_sample.mean(), n, per_sample

    def train_step(self, sampler: PairSampler) -> dict:
        cfg = self.cfg
        hq, lq = sampler.batch(self.step, cfg.batch, self.rank, self.world)
        hq, lq = hq.to(self.device), lq.to(self.device)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(cfg, self.step)
        loss, n, per_sample = self.loss(hq, lq, self.step)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.opt.step()
        decay = min(cfg.ema, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, [p.detach() for p in self.model.parameters()], 1 - decay)
        loss_value = loss.detach()
        if self.world > 1:
            dist.all_reduce(loss_value)
            loss_value /= self.world
        self.step += 1
        self.images_seen += cfg.batch
        return {"loss": float(loss_value), "grad_norm": float(grad_norm), "t": n, "per_sample": per_sample.detach()}

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> dict:
        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        resumed = self.load()
        if self.rank == 0:
            cfg.save(self.run_dir / "config.json")
        faces = load_faces(Path(cfg.data), cfg.image_size, cfg.limit or None)
        sampler = PairSampler(faces, cfg.seed)
        log = (self.run_dir / "log.jsonl").open("a") if self.rank == 0 else None
        start_wall, window_t, window_imgs = time.time(), time.time(), 0
        wall_at_start = self.wall_time
        buckets = np.zeros((2, TIME_BUCKETS))
        report(self.callback, "train", self.step, cfg.steps, "resumed" if resumed else "started")
        try:
            while self.step < cfg.steps:
                check(self.cancel)
                if cfg.minutes and self.wall_time >= cfg.minutes * 60:
                    break
                info = self.train_step(sampler)
                window_imgs += cfg.batch
                self.wall_time = wall_at_start + time.time() - start_wall
                if info["t"] is not None:
                    b = (info["t"].cpu().numpy() * TIME_BUCKETS // self.schedule.interval).astype(int)
                    np.add.at(buckets[0], b, info["per_sample"].float().cpu().numpy())
                    np.add.at(buckets[1], b, 1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    rate = window_imgs / max(1e-9, time.time() - window_t)
                    record = {"step": self.step, "loss": info["loss"], "lr": lr_at(cfg, self.step - 1),
                              "grad_norm": info["grad_norm"], "images_per_s": rate,
                              "images_seen": self.images_seen, "wall_s": round(self.wall_time, 1)}
                    if buckets[1].sum():
                        record["loss_by_t"] = [round(s / c, 6) if c else None for s, c in zip(*buckets)]
                    if log:
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                    buckets[:] = 0
                    window_t, window_imgs = time.time(), 0
                    report(self.callback, "train", self.step, cfg.steps,
                           f"loss {info['loss']:.4f}  {rate:.1f} img/s")
                if self.step % cfg.ckpt_every == 0:
                    self.save()
                if self.rank == 0 and cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_samples(faces)
        finally:
            self.save()
            if log:
                log.close()
        if self.rank == 0:
            self.write_samples(faces)
        return {"step": self.step, "images_seen": self.images_seen, "wall_time": self.wall_time}

    def write_samples(self, faces: np.ndarray) -> None:
        """A small grid (LQ | restored at 4 steps | HQ) from fixed training faces, to watch progress."""
        import cv2

        from ..restorer import Restorer
        from ..degradations import degrade_for_eval

        hq = faces[:4]
        lq = np.stack([degrade_for_eval(img, "moderate", seed=0, index=i) for i, img in enumerate(hq)])
        restorer = Restorer(self.ema_model(), self.provisional_spec(), device=str(self.device))
        out = np.stack(restorer.restore(list(lq), steps=4, seed=0))
        rows = [np.concatenate(list(a), axis=1) for a in (lq, out, hq)]
        grid = np.concatenate(rows, axis=0)
        cv2.imwrite(str(self.run_dir / "samples.png"), grid[..., ::-1])

    def provisional_spec(self, template=None, provenance=None):
        from ..modelspec import FFHQ_512, ModelSpec

        return ModelSpec(network=self.model.config, bridge=self.bridge,
                         template=template or FFHQ_512.scaled(self.cfg.image_size),
                         provenance=provenance or {})


def train(cfg: TrainConfig, *, callback=None, cancel=None) -> dict:
    """Entry point: initialise DDP when launched by torchrun, run, clean up."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
        dist.init_process_group(backend)
    try:
        trainer = Trainer(cfg, callback=callback, cancel=cancel)
        result = trainer.run()
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    return result


def hardware_string(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def with_overrides(cfg: TrainConfig, **kw) -> TrainConfig:
    return replace(cfg, **kw)


__all__ = ["Trainer", "train", "build_model", "lr_at", "count_parameters", "hardware_string", "with_overrides"]
