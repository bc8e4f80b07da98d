"""TrainConfig: one frozen record of a training run, written to run_dir/config.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class TrainConfig:
    data: str  # folder of aligned HQ faces (the train split)
    out: str  # run directory
    objective: str = "bridge"  # or "regression" (plain one-pass UNet baseline, L1)
    hashing: str = "cat"
    preset: str = "small"
    image_size: int = 128
    beta_max: float = 0.3
    ot_ode: bool = False
    batch: int = 16  # global batch (split across DDP processes)
    lr: float = 2e-4
    warmup: int = 200
    min_lr_ratio: float = 0.1
    steps: int = 10000  # cosine schedule length and hard stop
    minutes: float = 0.0  # wall-clock budget; 0 = none
    ema: float = 0.999
    grad_clip: float = 1.0
    seed: int = 0
    precision: str = "auto"  # auto = bf16 autocast on CUDA, fp32 elsewhere
    device: str = "auto"
    limit: int = 0  # use only the first N training images (0 = all)
    log_every: int = 20
    ckpt_every: int = 500
    sample_every: int = 500

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))
