"""What a checkpoint says about its model: network, bridge, face template, defaults, provenance."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from typing import Optional

from .bridge.hashing import HASHINGS
from .bridge.parametrization import PARAMETRISATIONS
from .network.config import UNetConfig

OBJECTIVES = ("bridge", "regression")


@dataclass(frozen=True)
class BridgeConfig:
    interval: int = 1000
    beta_max: float = 0.3
    hashing: str = "cat"
    ot_ode: bool = False
    objective: str = "bridge"  # "regression": a plain one-pass UNet baseline y -> x
    param: str = "eps"  # network parametrisation (engine/bridge/parametrization.py)
    moments: Optional[dict] = None  # endpoint second moments for "x0"/"precond" (Moments.to_dict())

    def __post_init__(self):
        if self.param not in PARAMETRISATIONS:
            raise ValueError(f"unknown parametrisation {self.param!r}; choose one of {list(PARAMETRISATIONS)}")
        if self.objective == "bridge" and self.param != "eps" and not self.moments:
            raise ValueError(f"parametrisation {self.param!r} needs the endpoint moments")
        if self.hashing not in HASHINGS:
            raise ValueError(f"unknown hashing {self.hashing!r}; choose one of {sorted(HASHINGS)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; choose one of {list(OBJECTIVES)}")

    @property
    def channels(self) -> int:
        return 3 if self.objective == "regression" else HASHINGS[self.hashing].channels


WHOLE_HEAD_EYE_SPAN = 0.33  # between FFHQ's 0.25 and UTKFace's 0.40


@dataclass(frozen=True)
class FaceTemplate:
    """5 landmarks (left eye, right eye, nose, left mouth, right mouth; image left/right) in a size x size crop."""

    points: tuple[tuple[float, float], ...]
    size: int

    def __post_init__(self):
        pts = tuple((float(x), float(y)) for x, y in self.points)
        if len(pts) != 5:
            raise ValueError(f"a face template needs 5 points, got {len(pts)}")
        object.__setattr__(self, "points", pts)

    @property
    def eye_span(self) -> float:
        """Distance between the eyes as a share of the crop (tight UTKFace crops 0.40, whole heads 0.25)."""
        (lx, ly), (rx, ry) = self.points[:2]
        return float(((rx - lx) ** 2 + (ry - ly) ** 2) ** 0.5) / self.size

    @property
    def whole_head(self) -> bool:
        """The crop shows the whole head (hair, ears, jaw), as FFHQ's and CelebA-HQ's do, not only the face:
        the restored crop is blended in whole, not through a face-shaped oval."""
        return self.eye_span < WHOLE_HEAD_EYE_SPAN

    def scaled(self, size: int) -> "FaceTemplate":
        s = size / self.size
        return FaceTemplate(tuple((x * s, y * s) for x, y in self.points), size)

    def to_dict(self) -> dict:
        return {"points": [list(p) for p in self.points], "size": self.size}


# The tight face crop the identity thresholds were calibrated on (docs/IDENTITY.md): models v1-v5's template,
# derived from UTKFace's aligned faces. Whole-head crops are cut down to it before dlib describes them.
TIGHT_128 = FaceTemplate(((40.199, 39.839), (90.985, 40.145), (65.711, 69.889), (42.003, 89.939),
                          (88.302, 90.319)), 128)

# facexlib / GFPGAN FFHQ 512 template (METHOD.md 5.1): the fallback before a model derives its own.
FFHQ_512 = FaceTemplate(((192.98138, 239.94708), (318.90277, 240.1936), (256.63416, 314.01935),
                         (201.26117, 371.41043), (313.08905, 371.15118)), 512)


@dataclass(frozen=True)
class SamplingDefaults:
    steps: int = 4
    sampler: str = "i2sb"
    eta: float = 0.6
    # Step guidance the model carries from its own evaluation (empty for models never measured): a metric
    # per step count (lower is better), what it was measured on, and the step counts to compare by default.
    measured: dict = field(default_factory=dict)  # {"1": 0.197, "8": 0.166, ...}
    measured_on: str = ""  # e.g. "LPIPS, UTKFace eval, moderate, 300 faces"
    compare: str = ""  # e.g. "1,4,8,16"

    def measured_steps(self) -> list[int]:
        return sorted(int(k) for k in self.measured)

    def useful_max(self) -> int:
        """The largest measured step count; beyond it nothing says more steps still help (0 = unmeasured)."""
        return max(self.measured_steps(), default=0)

    def note(self, steps: int) -> str:
        """A short line on what the model's own measurement says about this step count ('' = nothing)."""
        if not self.measured:
            return ""
        counts = self.measured_steps()
        best = min(counts, key=lambda c: self.measured[str(c)])
        metric = self.measured_on.replace(",", " ").split()[0] if self.measured_on else "score"
        if str(steps) in self.measured:
            tail = ", the best measured" if steps == best else ""
            return f"measured {metric} {self.measured[str(steps)]:.3f} at {steps} step{'s' * (steps != 1)}{tail}"
        if steps > counts[-1]:
            return (f"not measured beyond {counts[-1]} steps (best: {metric} {self.measured[str(best)]:.3f} at "
                    f"{best}); more steps take longer and may not help")
        return ""


@dataclass(frozen=True)
class ModelSpec:
    network: UNetConfig
    bridge: BridgeConfig
    template: FaceTemplate
    defaults: SamplingDefaults = SamplingDefaults()
    provenance: dict = field(default_factory=dict)

    def to_metadata(self) -> dict:
        return {
            "network": self.network.to_dict(),
            "bridge": asdict(self.bridge),
            "template": self.template.to_dict(),
            "defaults": asdict(self.defaults),
            "provenance": self.provenance,
        }

    @classmethod
    def from_metadata(cls, d: dict) -> "ModelSpec":
        return cls(
            network=UNetConfig.from_dict(d["network"]),
            bridge=BridgeConfig(**d["bridge"]),
            template=FaceTemplate(tuple(map(tuple, d["template"]["points"])), int(d["template"]["size"])),
            defaults=SamplingDefaults(**d.get("defaults", {})),
            provenance=dict(d.get("provenance", {})),
        )
