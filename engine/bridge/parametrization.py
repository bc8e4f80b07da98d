"""How the network's output becomes the clean-endpoint estimate x0_hat, and what it is trained on.

Three parametrisations of the same bridge (stored in the checkpoint's BridgeConfig, so sampling always
matches training):

- ``eps``: I2SB's label (X_n - X_0) / sigma_n (I2SB Eq. 12); x0_hat = X_n - sigma_n * F.
- ``x0``: the network predicts X_0 directly from the scaled state c_in * X_n.
- ``precond``: D = c_skip * X_n + c_out * F(c_in * X_n), with the scalings derived for the bridge
  marginal X_n = a_n X_0 + b_n X_1 + s_n z (the EDM/DDBM construction): c_in normalises the input's
  second moment, c_skip is the least-squares coefficient of X_0 on X_n, and c_out is the RMS of what is
  left, so F's target has unit second moment at every bridge time. Training F with plain MSE is then
  the clean-image MSE weighted by 1 / c_out^2: each time's contribution starts balanced.

The data moments (per channel: E[X_0^2], E[X_1^2], E[X_0 X_1]) are measured from training pairs once
and travel with the weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .schedule import BridgeSchedule

PARAMETRISATIONS = ("eps", "x0", "precond")
MIN_C_OUT = 1e-3  # keeps the target finite where X_0 is (nearly) a function of X_n


@dataclass(frozen=True)
class Moments:
    """Per-channel second moments of the bridge endpoints (uncentred: the network has no intercept)."""

    x0x0: tuple[float, ...]
    x1x1: tuple[float, ...]
    x0x1: tuple[float, ...]

    def __post_init__(self):
        lengths = {len(self.x0x0), len(self.x1x1), len(self.x0x1)}
        if len(lengths) != 1:
            raise ValueError(f"moment vectors differ in length: {sorted(lengths)}")
        for name in ("x0x0", "x1x1", "x0x1"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))

    def to_dict(self) -> dict:
        return {"x0x0": list(self.x0x0), "x1x1": list(self.x1x1), "x0x1": list(self.x0x1)}

    @classmethod
    def from_dict(cls, d: dict) -> "Moments":
        return cls(tuple(d["x0x0"]), tuple(d["x1x1"]), tuple(d["x0x1"]))

    @classmethod
    def measure(cls, x0: torch.Tensor, x1: torch.Tensor) -> "Moments":
        """From endpoint batches (B, C, H, W)."""
        dims = (0, 2, 3)
        x0, x1 = x0.double(), x1.double()
        r = lambda t: tuple(round(float(v), 6) for v in t)  # noqa: E731 (stable JSON)
        return cls(r((x0 * x0).mean(dims)), r((x1 * x1).mean(dims)), r((x0 * x1).mean(dims)))


def scalings(schedule: BridgeSchedule, moments: Moments) -> dict[str, np.ndarray]:
    """c_in, c_skip, c_out tables of shape (interval, channels), float64."""
    a = schedule.mu_x0[:, None]
    b = schedule.mu_x1[:, None]
    s2 = (schedule.std_sb**2)[:, None]
    m00, m11, m01 = (np.asarray(v, np.float64)[None, :] for v in (moments.x0x0, moments.x1x1, moments.x0x1))
    var = a * a * m00 + b * b * m11 + 2 * a * b * m01 + s2
    cov = a * m00 + b * m01
    c_skip = cov / var
    c_out = np.sqrt(np.maximum(m00 - cov * cov / var, MIN_C_OUT**2))
    return {"c_in": 1.0 / np.sqrt(var), "c_skip": c_skip, "c_out": c_out}


class Parametrisation:
    """Turns network outputs into x0_hat and builds training targets, for one of PARAMETRISATIONS."""

    def __init__(self, name: str, schedule: BridgeSchedule, moments: Moments | None):
        if name not in PARAMETRISATIONS:
            raise ValueError(f"unknown parametrisation {name!r}; choose one of {list(PARAMETRISATIONS)}")
        if name != "eps" and moments is None:
            raise ValueError(f"parametrisation {name!r} needs the endpoint moments")
        self.name, self.schedule = name, schedule
        self._tables = scalings(schedule, moments) if moments is not None else None
        self._cache: dict = {}

    def _table(self, key: str, n: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        cache_key = (key, like.device)
        if cache_key not in self._cache:
            self._cache[cache_key] = torch.as_tensor(self._tables[key], dtype=torch.float32, device=like.device)
        return self._cache[cache_key][n.long()].reshape(n.shape[0], -1, 1, 1)

    def _as_index(self, n, x: torch.Tensor) -> torch.Tensor:
        if isinstance(n, int):
            return torch.full((x.shape[0],), n, dtype=torch.long, device=x.device)
        return n.to(x.device)

    def net_input(self, n, xt: torch.Tensor) -> torch.Tensor:
        if self.name == "eps":
            return xt
        return xt * self._table("c_in", self._as_index(n, xt), xt)

    def pred_x0(self, n, xt: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        n = self._as_index(n, xt)
        if self.name == "eps":
            return self.schedule.pred_x0(n, xt, out)
        if self.name == "x0":
            return out
        return self._table("c_skip", n, xt) * xt + self._table("c_out", n, xt) * out

    def target(self, n: torch.Tensor, x0: torch.Tensor, xt: torch.Tensor) -> torch.Tensor:
        """What the network output is regressed on (plain MSE in this space)."""
        if self.name == "eps":
            return self.schedule.label(n, x0, xt)
        if self.name == "x0":
            return x0
        return (x0 - self._table("c_skip", n, xt) * xt) / self._table("c_out", n, xt)


def visited_indices(step_counts: Sequence[int], interval: int) -> list[list[int]]:
    """For each step count, the bridge indices where the sampler calls the network."""
    from .schedule import step_indices

    return [step_indices(k, interval)[1:] for k in step_counts]
