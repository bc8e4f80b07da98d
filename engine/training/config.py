"""TrainConfig: one frozen record of a training run, written to run_dir/config.json."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..degradations import TRAIN_RANGES


@dataclass(frozen=True)
class TrainConfig:
    data: str  # folder of aligned HQ faces (the train split)
    out: str  # run directory
    objective: str = "bridge"  # or "regression" (plain one-pass UNet baseline, L1)
    hashing: str = "none"  # vanilla I2SB: better than cat at our scale (docs/ABLATION.md)
    preset: str = "small"
    image_size: int = 128
    # training range: narrow (GPU-NOTES) | wide (GFPGAN's, plus old-photo damage) | mixed (wide, half of it done
    # at twice the crop's size, as the peers' 512 px protocol reaches a 256 px model)
    degradation: str = "narrow"
    beta_max: float = 0.3
    ot_ode: bool = False
    batch: int = 16  # global batch (split across DDP processes)
    lr: float = 2e-4
    warmup: int = 200
    min_lr_ratio: float = 0.1
    steps: int = 10000  # cosine schedule length and hard stop
    # steps: the cosine learning rate follows step / steps; time: it follows the share of `minutes` spent, for
    # budgeted runs whose throughput is not known ahead (a GPU run sized in minutes)
    schedule: str = "steps"
    minutes: float = 0.0  # wall-clock budget; 0 = none
    ema: float = 0.999  # fixed EMA decay, used when ema_halflife is 0
    # EMA sized to the run: half-life = this fraction of the images seen so far (EDM-style); 0 = fixed `ema`
    ema_halflife: float = 0.0
    param: str = "eps"  # network parametrisation: eps (I2SB label) | x0 | precond
    time_sampling: str = "uniform"  # uniform over all indices | steps (the indices the offered counts visit)
    step_counts: str = "1,2,4,8,16"  # the step counts that "steps" time sampling concentrates on
    uniform_share: float = 0.2  # with "steps": share of samples still drawn uniformly (other step counts)
    perceptual: float = 0.0  # weight of LPIPS-VGG on the predicted clean face (0 = off)
    # share of each batch the perceptual term is computed on: VGG16 costs about 3x the small UNet per image on a
    # CPU (measured 10.2 -> 2.6 images/s at batch 8 with it on every sample)
    perceptual_share: float = 0.25
    # side of the random square the perceptual term sees (0 = the whole face): a 128 px patch of a 256 px face
    # keeps the pixel scale LPIPS judges detail at, for a quarter of VGG16's cost
    perceptual_crop: int = 0
    # weight of LPIPS-VGG on the template's eye and mouth boxes (engine/training/components.py), on the same share
    # of the batch: GFPGAN's facial components, meant to hold identity under a GAN; measured, it moved identity
    # further (TRAINING.md, session 15) (0 = off)
    component: float = 0.0
    # weight of L1 on the same eye and mouth boxes, on every sample: a term that pins the parts' shape and tone
    # rather than asking for their texture, as the LPIPS one did (0 = off)
    component_pixel: float = 0.0
    # adversarial term on the predicted clean face (engine/training/adversarial.py); 0 = off
    gan: float = 0.0  # its weight in the generator's loss
    gan_loss: str = "hinge"  # hinge | ns (non-saturating)
    gan_width: int = 32  # the patch discriminator's base width (32: 0.7 M parameters, 64: 2.8 M)
    d_lr: float = 2e-4  # the discriminator's learning rate (Adam, betas 0.5 / 0.999)
    r1: float = 0.0  # R1 gradient penalty weight on real faces (0 = off)
    # the discriminator updates on every N-th step only: on this CPU its update (with R1) took 38 % of a GAN
    # step (py-spy, session 15), as much as the network's own forward pass
    d_every: int = 1
    # step at which the generator's adversarial term starts; the discriminator trains from step 0, so it can
    # already tell real from predicted faces when its signal reaches the network
    gan_start: int = 0
    # the generator's adversarial term only where the bridge time t (0 clean .. 1 degraded) is at most this:
    # the late states, where the face's structure is already set and the term can only add texture (1 = all)
    gan_max_t: float = 1.0
    pixel_loss: str = "auto"  # regression only: auto (L1, the original baseline) | l1 | mse
    init: str = ""  # optional .safetensors to initialise the network from (same architecture)
    # learning-rate factor for the parts the network has and the --init model lacks (a detail branch, top
    # blocks): they start at zero and have to be learnt, while the rest only needs fine-tuning
    fresh_lr_mult: float = 1.0
    # batched: degrade whole batches as tensor ops on the training device (the GPU path; the same code runs
    # on a CPU); per-sample: the OpenCV loop, exact across any number of DDP processes. auto = batched on an
    # accelerator (per-sample where the range has old-photo damage or data_workers are set), per-sample on a
    # CPU, where both measured about equally fast (docs/DEVICE.md)
    data_path: str = "auto"
    # per-sample path: worker processes that make the next batch while this one trains (0 = in the training
    # process). Same batches whatever the count; for a GPU host's spare cores, not this 2-core CPU
    data_workers: int = 0
    channels_last: bool = False  # network tensors in NHWC (measure: GroupNorm may prefer NCHW)
    compile: bool = False  # torch.compile the training network (pays off only on long GPU runs)
    grad_clip: float = 1.0
    seed: int = 0
    precision: str = "auto"  # auto = bf16 autocast on CUDA, fp32 elsewhere
    device: str = "auto"
    limit: int = 0  # use only the first N training images (0 = all)
    log_every: int = 20
    ckpt_every: int = 500
    sample_every: int = 500

    def __post_init__(self):
        choices = {"objective": ("bridge", "regression"), "param": ("eps", "x0", "precond"),
                   "time_sampling": ("uniform", "steps"), "pixel_loss": ("auto", "l1", "mse"),
                   "data_path": ("auto", "batched", "per-sample"),
                   "schedule": ("steps", "time"), "degradation": tuple(TRAIN_RANGES),
                   "gan_loss": ("hinge", "ns")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        if not 0.0 < self.perceptual_share <= 1.0:
            raise ValueError(f"perceptual_share must be in (0, 1], got {self.perceptual_share}")
        if self.perceptual_crop and not 16 <= self.perceptual_crop <= self.image_size:
            raise ValueError(f"perceptual_crop must be 0 or between 16 and image_size ({self.image_size}) px, "
                             f"got {self.perceptual_crop}")
        if not 0.0 <= self.uniform_share <= 1.0:
            raise ValueError(f"uniform_share must be in [0, 1], got {self.uniform_share}")
        if self.schedule == "time" and self.minutes <= 0:
            raise ValueError("schedule 'time' needs a wall-clock budget (minutes > 0)")
        if self.data_workers < 0:
            raise ValueError(f"data_workers must not be negative, got {self.data_workers}")
        if self.data_workers and self.data_path == "batched":
            raise ValueError("data_workers feeds the per-sample path; the batched path makes its pairs on the "
                             "training device (use --data-path per-sample)")
        if min(self.perceptual, self.component, self.component_pixel, self.ema_halflife, self.gan, self.r1) < 0:
            raise ValueError("perceptual, component, component_pixel, ema_halflife, gan and r1 must not be negative")
        if self.fresh_lr_mult <= 0:
            raise ValueError(f"fresh_lr_mult must be positive, got {self.fresh_lr_mult}")
        if self.d_every < 1:
            raise ValueError(f"d_every must be at least 1, got {self.d_every}")
        if not 0.0 < self.gan_max_t <= 1.0:
            raise ValueError(f"gan_max_t is a bridge time in (0, 1], got {self.gan_max_t}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))
