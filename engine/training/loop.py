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
from dataclasses import asdict, replace
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.distributed as dist

from ..bridge.hashing import get_hashing
from ..bridge.parametrization import Moments, Parametrisation, visited_indices
from ..bridge.schedule import BridgeSchedule
from ..degradations import train_ranges
from ..device import autocast, resolve_device
from ..modelspec import BridgeConfig
from ..network.config import preset
from ..network.unet import UNet, count_flops, count_parameters
from ..progress import CancelToken, ProgressCallback, check, report
from .config import TrainConfig
from .data import BatchedPairSampler, PairSampler, load_faces
from .data_pool import PooledPairSampler

TIME_BUCKETS = 10  # loss is also logged per tenth of the bridge time (the "loss near the boundary" study)
MOMENT_SAMPLES = 512  # training pairs the endpoint moments of "x0"/"precond" are measured on


def bridge_config(cfg: TrainConfig, moments: Optional[Moments] = None) -> BridgeConfig:
    param = "eps" if cfg.objective == "regression" else cfg.param
    return BridgeConfig(beta_max=cfg.beta_max, hashing=cfg.hashing, ot_ode=cfg.ot_ode, objective=cfg.objective,
                        param=param, moments=moments.to_dict() if moments is not None and param != "eps" else None)


def measure_moments(cfg: TrainConfig, faces: np.ndarray) -> Moments:
    """Endpoint second moments from a fixed set of training pairs (deterministic in the seed; the per-sample
    path on the CPU whichever path trains, so a run's moments do not depend on its device)."""
    hashing = get_hashing(cfg.hashing)
    probe = PairSampler(faces, seed=cfg.seed + 0x5EED, ranges=train_ranges(cfg.degradation))
    hq, lq = probe.batch(0, min(MOMENT_SAMPLES, len(faces)))
    return Moments.measure(hashing.hash(hq, lq), hashing.endpoint_x1(lq))


def build_model(cfg: TrainConfig) -> UNet:
    ch = 3 if cfg.objective == "regression" else get_hashing(cfg.hashing).channels
    return UNet(preset(cfg.preset, in_channels=ch, out_channels=ch, image_size=cfg.image_size))


def lr_at(cfg: TrainConfig, step: int, wall_time: float = 0.0) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.schedule == "time":
        frac = min(1.0, wall_time / (cfg.minutes * 60))
    else:
        frac = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def parse_step_counts(text: str) -> list[int]:
    try:
        counts = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"step_counts must be comma-separated integers, got {text!r}") from None
    if not counts or any(not 1 <= c <= 999 for c in counts):
        raise ValueError(f"step counts must be between 1 and 999, got {text!r}")
    return counts


@lru_cache(maxsize=8)
def _visited(step_counts: str, interval: int) -> list[list[int]]:
    """Parsed once per run, not on every training step."""
    return visited_indices(parse_step_counts(step_counts), interval)


@lru_cache(maxsize=8)
def _visited_table(step_counts: str, interval: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The visited indices of each step count as one padded table, and each row's length."""
    visited = _visited(step_counts, interval)
    table = torch.zeros(len(visited), max(map(len, visited)), dtype=torch.long)
    for i, row in enumerate(visited):
        table[i, : len(row)] = torch.tensor(row)
    return table.to(device), torch.tensor([len(r) for r in visited]).to(device)


def draw_times(cfg: TrainConfig, g: torch.Generator, count: int, interval: int) -> torch.Tensor:
    """Bridge indices for a global batch: uniform, or mostly the indices the offered step counts visit.

    "steps": pick a step count uniformly, then one of the indices where its sampler calls the network;
    a `uniform_share` of samples stays uniform so step counts outside the list still work.
    """
    n = torch.randint(0, interval, (count,), generator=g, device=g.device)
    if cfg.time_sampling == "uniform":
        return n
    table, lengths = _visited_table(cfg.step_counts, interval, str(g.device))
    pick = torch.randint(0, len(lengths), (count,), generator=g, device=g.device)
    where = torch.rand(count, generator=g, dtype=torch.float64, device=g.device)
    keep_uniform = torch.rand(count, generator=g, device=g.device) < cfg.uniform_share
    length = lengths[pick]
    col = torch.minimum(length - 1, (where * length).floor().long())
    return torch.where(keep_uniform, n, table[pick, col])


def step_noise(cfg: TrainConfig, step: int, global_batch: int, shape, interval: int,
               device: Optional[torch.device] = None):
    """Bridge time indices and Gaussian noise for a step's whole global batch, from one generator
    seeded by (seed, step): resume is exact and every DDP rank slices the same draw. The batched data
    path draws on the training device (a CPU draw and copy would cap a GPU run's speed)."""
    g = torch.Generator(device=device or "cpu").manual_seed(hash((cfg.seed, step, 7)) & 0x7FFFFFFF)
    n = draw_times(cfg, g, global_batch, interval)
    z = torch.randn((global_batch, *shape), generator=g, device=g.device)
    return n, z


def ema_decay(cfg: TrainConfig, step: int, images_seen: int) -> float:
    """Fixed decay with a warm-up, or a half-life that is a fixed fraction of the images seen so far."""
    if cfg.ema_halflife > 0:
        halflife = cfg.ema_halflife * max(images_seen, cfg.batch)
        return 0.5 ** (cfg.batch / halflife)
    return min(cfg.ema, (1 + step) / (10 + step))


class Trainer:
    def __init__(self, cfg: TrainConfig, *, callback: Optional[ProgressCallback] = None,
                 cancel: Optional[CancelToken] = None, faces: Optional[np.ndarray] = None):
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
        self.hashing = get_hashing(cfg.hashing)
        self.faces = faces if faces is not None else load_faces(Path(cfg.data), cfg.image_size, cfg.limit or None)
        ranges = train_ranges(cfg.degradation)
        # auto: the batched tensor path on an accelerator, unless the range needs what only the per-sample path
        # has (old-photo damage) or workers were given to feed it
        self.batched = cfg.data_path == "batched" or (
            cfg.data_path == "auto" and self.device.type != "cpu" and not cfg.data_workers and not ranges.old_photo)
        if self.batched:
            self.sampler = BatchedPairSampler(self.faces, cfg.seed, self.device, ranges)
        elif cfg.data_workers:
            self.sampler = PooledPairSampler(self.faces, cfg.seed, ranges, cfg.data_workers)
        else:
            self.sampler = PairSampler(self.faces, cfg.seed, ranges)
        needs_moments = cfg.objective == "bridge" and cfg.param != "eps"
        self.moments = measure_moments(cfg, self.faces) if needs_moments else None
        self.bridge = bridge_config(cfg, self.moments)
        self.param = Parametrisation(self.bridge.param, self.schedule, self.moments)
        self.perceptual = None
        self.init_provenance: Optional[dict] = None
        self.init_template = None  # the face template of the --init model, when it has one
        self.fresh_prefixes: tuple[str, ...] = ()  # parameter prefixes of the parts the --init model lacks
        if cfg.perceptual > 0 or cfg.component > 0:
            from ..evaluation.backbones import load_lpips

            self.perceptual = load_lpips(self.device, net="vgg")
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg).to(self.device)
        self.disc = self.d_opt = None
        self._fake = None  # this step's predicted clean faces, for the discriminator (GAN runs only)
        self._adversarial: dict = {}  # the discriminator's last update: its loss, R1 and mean logits
        if cfg.gan > 0:  # seeded after the network, so every DDP rank starts from the same discriminator
            from .adversarial import PatchDiscriminator

            self.disc = PatchDiscriminator(cfg.gan_width).to(self.device)
            self.d_opt = torch.optim.Adam(self.disc.parameters(), lr=cfg.d_lr, betas=(0.5, 0.999))
        if cfg.init:
            self._init_from(Path(cfg.init))
        self.components = self._component_boxes() if cfg.component > 0 or cfg.component_pixel > 0 else None
        # FLOPs of one training image (forward + backward ~ 3x forward), for the TFLOP/s the log reports
        self.train_flops = 3 * count_flops(self.model)
        if cfg.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = [p.detach().clone() for p in self.model.parameters()]
        # fused AdamW: one kernel for all parameters on a GPU (the CPU keeps the loop runs were made with)
        self.opt = torch.optim.AdamW(self._param_groups(), lr=cfg.lr, weight_decay=0.0,
                                     fused=True if self.device.type == "cuda" else None)
        self.step = 0
        self.images_seen = 0
        self.wall_time = 0.0
        self.ddp = None
        if self.world > 1:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.net = self.ddp or self.model
        if cfg.compile:
            self.net = torch.compile(self.net)

    def _param_groups(self) -> list[dict]:
        """One group, or two when parts new to the --init model learn at --fresh-lr-mult times the rate (the
        same split on a resume: _init_from runs then too)."""
        named = list(self.model.named_parameters())
        fresh = [p for n, p in named if self.fresh_prefixes and n.startswith(self.fresh_prefixes)]
        if not fresh or self.cfg.fresh_lr_mult == 1.0:
            return [{"params": [p for _, p in named], "lr_mult": 1.0}]
        rest = [p for n, p in named if not n.startswith(self.fresh_prefixes)]
        return [{"params": rest, "lr_mult": 1.0}, {"params": fresh, "lr_mult": self.cfg.fresh_lr_mult}]

    def _init_from(self, path: Path) -> None:
        """Start from another model's weights (same architecture, the same behind a larger patch, or the same
        without a detail branch); EMA starts from them too."""
        from ..io.checkpoints import load_checkpoint
        from ..network.transfer import carry_state, gained_parts

        other, spec = load_checkpoint(path, self.device)
        self.fresh_prefixes = tuple(gained_parts(spec.network, self.model.config))
        # the same network, or the same behind a larger patch (a 128 px model starting a 256 px one)
        self.model.load_state_dict(carry_state(other.state_dict(), spec.network, self.model.config,
                                               fresh=self.model.state_dict()))
        self.init_template = spec.template
        self.init_provenance = {"file": path.name, **{k: spec.provenance.get(k) for k in (
            "steps", "images_seen", "wall_time_s", "hardware", "git_commit")}, "param": spec.bridge.param}

    def _component_boxes(self) -> list[tuple[int, int, int]]:
        """Eye and mouth boxes from the template the training faces are aligned to: the --init model's (trained on
        the same faces), else one derived from the data by detection."""
        from .components import component_boxes

        template = self.init_template
        if template is None:
            from .template import derive_template

            template, _ = derive_template(Path(self.cfg.data), self.cfg.image_size, samples=100)
        return component_boxes(template, self.cfg.image_size)

    # -- state ---------------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.run_dir / "checkpoint.pt"

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "ema": self.ema, "opt": self.opt.state_dict(),
                "step": self.step, "images_seen": self.images_seen, "wall_time": self.wall_time,
                "config": self.cfg.to_dict(), "bridge": json.dumps(asdict(self.bridge)),
                "hardware": hardware_string(self.device),
                "init": json.dumps(self.init_provenance)} | (
                {"disc": self.disc.state_dict(), "d_opt": self.d_opt.state_dict()} if self.disc is not None else {})

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
        if self.disc is not None and "disc" in state:  # a GAN run resumed (a run that adds the GAN starts it fresh)
            self.disc.load_state_dict(state["disc"])
            self.d_opt.load_state_dict(state["d_opt"])
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
        net = self.net
        per = hq.shape[0]
        if self.cfg.channels_last:
            hq, lq = hq.contiguous(memory_format=torch.channels_last), lq.contiguous(memory_format=torch.channels_last)
        if self.bridge.objective == "regression":
            with autocast(self.device, self.dtype):
                out = net(lq, torch.zeros(per, device=self.device))
            out = out.float()
            pixel = "l1" if self.cfg.pixel_loss == "auto" else self.cfg.pixel_loss
            err = (out - hq).abs() if pixel == "l1" else (out - hq).pow(2)
            per_sample = err.flatten(1).mean(1) + self._perceptual(out, hq) + self._component_pixel(out, hq)
            return per_sample.mean(), None, per_sample
        x0, x1 = self.hashing.hash(hq, lq), self.hashing.endpoint_x1(lq)
        n, z = step_noise(self.cfg, step, per * self.world, x0.shape[1:], self.schedule.interval,
                          self.device if self.batched else None)
        n, z = n[self.rank * per:(self.rank + 1) * per], z[self.rank * per:(self.rank + 1) * per]
        n, z = n.to(self.device), z.to(self.device)
        xt = self.schedule.q_sample(n, x0, x1, ot_ode=self.cfg.ot_ode, noise=z)
        target = self.param.target(n, x0, xt)
        with autocast(self.device, self.dtype):
            out = net(self.param.net_input(n, xt), self.schedule.level(n))
        out = out.float()
        per_sample = (out - target).pow(2).flatten(1).mean(1)
        self._fake = None
        if self.perceptual is not None or self.disc is not None or self.cfg.component_pixel > 0:
            face = self.hashing.unhash(self.param.pred_x0(n, xt, out), lq)
            per_sample = per_sample + self._perceptual(face, hq) + self._component_pixel(face, hq)
            if self._gan_on(step):
                from .adversarial import generator_loss

                self.disc.requires_grad_(False)  # the generator's term moves the network only
                late = n.to(face.device).float() / (self.schedule.interval - 1) <= self.cfg.gan_max_t
                if late.all():
                    per_sample = per_sample + self.cfg.gan * generator_loss(self.cfg.gan_loss, self._judge(face))
                elif late.any():  # the discriminator judges only the samples that get its term
                    term = generator_loss(self.cfg.gan_loss, self._judge(face[late]))
                    per_sample = per_sample.index_add(0, late.nonzero().squeeze(1), self.cfg.gan * term)
                self.disc.requires_grad_(True)
            if self.disc is not None and step % self.cfg.d_every == 0:  # it learns from step 0: warm at gan_start
                self._fake = face.detach()
        return per_sample.mean(), n, per_sample

    def _gan_on(self, step: int) -> bool:
        """Whether the generator's adversarial term is on at this step (the discriminator always trains)."""
        return self.disc is not None and step >= self.cfg.gan_start

    def discriminator_step(self, hq: torch.Tensor) -> dict:
        """One discriminator update on this step's real faces and the network's predicted clean faces. Under
        DDP its gradients are averaged by hand (it is not wrapped), so every rank keeps the same one."""
        from .adversarial import discriminator_loss, r1_penalty

        logits = self._judge(torch.cat([hq, self._fake]))
        real, fake = logits[: hq.shape[0]], logits[hq.shape[0]:]
        loss = discriminator_loss(self.cfg.gan_loss, real, fake)
        r1 = r1_penalty(self.disc, hq) if self.cfg.r1 > 0 else torch.zeros((), device=hq.device)
        self.d_opt.zero_grad(set_to_none=True)
        (loss + 0.5 * self.cfg.r1 * r1).backward()
        if self.world > 1:
            for p in self.disc.parameters():
                if p.grad is not None:
                    dist.all_reduce(p.grad)
                    p.grad /= self.world
        self.d_opt.step()
        return {"d_loss": loss.detach(), "r1": r1.detach(), "d_real": real.detach().mean(),
                "d_fake": fake.detach().mean()}

    def _judge(self, faces: torch.Tensor) -> torch.Tensor:
        """Discriminator logits, in the network's precision (bf16 halves its cost on a CPU with native bf16 as
        well as on a GPU) and returned as fp32 for the losses. R1 stays in fp32: it differentiates twice."""
        with autocast(self.device, self.dtype):
            return self.disc(faces).float()

    def _lpips(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """LPIPS-VGG in the network's precision, as fp32."""
        with autocast(self.device, self.dtype):
            return self.perceptual(a, b).float()

    def _perceptual(self, face: torch.Tensor, hq: torch.Tensor) -> torch.Tensor:
        """Weighted LPIPS-VGG per sample (of a square and of the facial components), on the first
        `perceptual_share` of the batch (samples are in random order); zeros elsewhere and when both are off."""
        out = torch.zeros(face.shape[0], device=face.device)
        if self.perceptual is None:
            return out
        k = max(1, round(face.shape[0] * self.cfg.perceptual_share))
        face, hq = face[:k], hq[:k]
        if self.cfg.perceptual > 0:
            out[:k] = self.cfg.perceptual * self._lpips(*self._perceptual_patch(face, hq)).reshape(-1)
        if self.cfg.component > 0:  # the eyes and mouth, whole, whatever square the term above saw
            from .components import crop_components

            parts = self._lpips(crop_components(face, self.components), crop_components(hq, self.components))
            out[:k] = out[:k] + self.cfg.component * parts.reshape(k, len(self.components)).mean(1)
        return out

    def _component_pixel(self, face: torch.Tensor, hq: torch.Tensor) -> torch.Tensor:
        """Weighted L1 per sample on the eye and mouth boxes (mean over the boxes), every sample: it costs no
        backbone, and it holds where the parts are and how dark, not what texture they have."""
        if self.cfg.component_pixel <= 0:
            return torch.zeros(face.shape[0], device=face.device)
        from .components import crop_components

        diff = (crop_components(face, self.components) - crop_components(hq, self.components)).abs()
        return self.cfg.component_pixel * diff.flatten(1).mean(1).reshape(face.shape[0], -1).mean(1)

    def _perceptual_patch(self, face: torch.Tensor, hq: torch.Tensor):
        """The same random square of both (one per step and rank, drawn from the seed, so a resumed run sees
        the patches an uninterrupted one would); the whole faces when `perceptual_crop` is 0."""
        size = self.cfg.perceptual_crop
        h, w = face.shape[-2:]
        if not size or size >= min(h, w):
            return face, hq
        g = torch.Generator().manual_seed((self.cfg.seed * 1_000_003 + self.step) * 64 + self.rank)
        y = int(torch.randint(0, h - size + 1, (1,), generator=g))
        x = int(torch.randint(0, w - size + 1, (1,), generator=g))
        return face[..., y:y + size, x:x + size], hq[..., y:y + size, x:x + size]

    def train_step(self, sampler: PairSampler) -> dict:
        cfg = self.cfg
        hq, lq = sampler.batch(self.step, cfg.batch, self.rank, self.world)
        hq, lq = hq.to(self.device), lq.to(self.device)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(cfg, self.step, self.wall_time) * group.get("lr_mult", 1.0)
        loss, n, per_sample = self.loss(hq, lq, self.step)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.opt.step()
        if self._fake is not None:  # the last update's figures stand on the steps between updates (d_every)
            self._adversarial = self.discriminator_step(hq)
        adversarial = self._adversarial
        decay = ema_decay(cfg, self.step, self.images_seen + cfg.batch)
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, [p.detach() for p in self.model.parameters()], 1 - decay)
        loss_value = loss.detach()
        if self.world > 1:
            dist.all_reduce(loss_value)
            loss_value /= self.world
        self.step += 1
        self.images_seen += cfg.batch
        # tensors, not floats: reading a value waits for the GPU, so the loop reads them only when it logs
        return {"loss": loss_value, "grad_norm": grad_norm, "t": n, "per_sample": per_sample.detach(), **adversarial}

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> dict:
        cfg = self.cfg
        self.run_dir.mkdir(parents=True, exist_ok=True)
        resumed = self.load()
        if self.rank == 0:
            cfg.save(self.run_dir / "config.json")
        faces, sampler = self.faces, self.sampler
        log = (self.run_dir / "log.jsonl").open("a") if self.rank == 0 else None
        start_wall, window_t, window_imgs = time.time(), time.time(), 0
        wall_at_start = self.wall_time
        buckets = torch.zeros(2, TIME_BUCKETS, device=self.device, dtype=torch.float64)
        report(self.callback, "train", self.step, cfg.steps, "resumed" if resumed else "started")
        try:
            while self.step < cfg.steps:
                check(self.cancel)
                if self.out_of_time():
                    break
                info = self.train_step(sampler)
                window_imgs += cfg.batch
                self.wall_time = wall_at_start + time.time() - start_wall
                if info["t"] is not None:
                    b = (info["t"].to(self.device) * TIME_BUCKETS // self.schedule.interval).long()
                    buckets[0].index_add_(0, b, info["per_sample"].double())
                    buckets[1].index_add_(0, b, torch.ones_like(b, dtype=torch.float64))
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    loss, grad_norm = float(info["loss"]), float(info["grad_norm"])
                    rate = window_imgs / max(1e-9, time.time() - window_t)
                    record = {"step": self.step, "loss": loss, "lr": self.opt.param_groups[0]["lr"],
                              "grad_norm": grad_norm, "images_per_s": rate,
                              "tflops": round(rate * self.train_flops / 1e12, 3),
                              "images_seen": self.images_seen, "wall_s": round(self.wall_time, 1)}
                    for key in ("d_loss", "r1", "d_real", "d_fake"):
                        if key in info:
                            record[key] = round(float(info[key]), 5)
                    if buckets[1].sum():
                        record["loss_by_t"] = [round(s / c, 6) if c else None for s, c in zip(*buckets.tolist())]
                    if log:
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                    buckets[:] = 0
                    window_t, window_imgs = time.time(), 0
                    report(self.callback, "train", self.step, cfg.steps,
                           f"loss {loss:.4f}  {rate:.1f} img/s  {record['tflops']:.3g} TFLOP/s")
                if self.step % cfg.ckpt_every == 0:
                    self.save()
                if self.rank == 0 and cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_samples(faces)
        finally:
            self.save()
            if log:
                log.close()
            if isinstance(sampler, PooledPairSampler):
                sampler.close()
        if self.rank == 0:
            self.write_samples(faces)
        return {"step": self.step, "images_seen": self.images_seen, "wall_time": self.wall_time}

    def out_of_time(self) -> bool:
        """The wall-clock budget is spent. Under DDP every rank must stop at the same step (or the others
        would wait forever in the gradient all-reduce), so rank 0's clock decides for all."""
        stop = bool(self.cfg.minutes) and self.wall_time >= self.cfg.minutes * 60
        if self.world > 1 and self.cfg.minutes:
            flag = torch.tensor([float(stop)], device=self.device)
            dist.broadcast(flag, src=0)
            stop = bool(flag.item())
        return stop

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
