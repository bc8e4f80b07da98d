"""I2SB's discrete symmetric beta schedule and the analytic bridge marginal (I2SB Eq. 11, 12).

All tables are computed in float64 (METHOD.md section 2.2) and only cast at use time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

T0, T1 = 1e-4, 1.0  # I2SB's continuous time range; the network sees 1000 * linspace(T0, T1, N)[n]


def gaussian_product(sigma1: np.ndarray, sigma2: np.ndarray):
    """Coefficients of N(a, sigma1^2) * N(b, sigma2^2) renormalised: (coef_a, coef_b, variance)."""
    denom = sigma1**2 + sigma2**2
    return sigma2**2 / denom, sigma1**2 / denom, sigma1**2 * sigma2**2 / denom


@dataclass(frozen=True)
class BridgeSchedule:
    """The symmetric I2SB schedule with `interval` discrete indices 0..interval-1."""

    interval: int = 1000
    beta_max: float = 0.3

    def __post_init__(self):
        if self.interval < 2 or self.interval % 2:
            raise ValueError(f"interval must be an even integer >= 2, got {self.interval}")
        if not self.beta_max > 0:
            raise ValueError(f"beta_max must be positive, got {self.beta_max}")

    @cached_property
    def betas(self) -> np.ndarray:
        n = self.interval
        base = np.linspace(1e-4**0.5, (self.beta_max / n) ** 0.5, n, dtype=np.float64) ** 2
        half = base[: n // 2]
        return np.concatenate([half, half[::-1]])

    @cached_property
    def std_fwd(self) -> np.ndarray:
        """sigma_n: accumulated std from the clean end, including beta_n (so sigma_0 = 0.01)."""
        return np.sqrt(np.cumsum(self.betas))

    @cached_property
    def std_bwd(self) -> np.ndarray:
        """sigma_bar_n: std remaining to the degraded end, including beta_n."""
        return np.sqrt(np.flip(np.cumsum(np.flip(self.betas))))

    @cached_property
    def _marginal(self):
        return gaussian_product(self.std_fwd, self.std_bwd)

    @property
    def mu_x0(self) -> np.ndarray:
        return self._marginal[0]

    @property
    def mu_x1(self) -> np.ndarray:
        return self._marginal[1]

    @cached_property
    def std_sb(self) -> np.ndarray:
        return np.sqrt(self._marginal[2])

    @cached_property
    def network_levels(self) -> np.ndarray:
        """The continuous 'noise level' fed to the network's time embedding, in [0.1, 1000]."""
        return np.linspace(T0, T1, self.interval, dtype=np.float64) * 1000.0

    def level(self, n: torch.Tensor) -> torch.Tensor:
        """Network time input for integer indices n (any shape), float32 on n's device."""
        table = torch.as_tensor(self.network_levels, dtype=torch.float32, device=n.device)
        return table[n.long()]

    def take(self, table: np.ndarray, n: torch.Tensor, ndim: int) -> torch.Tensor:
        """Gather per-sample values of a float64 table at indices n, shaped to broadcast on ndim."""
        values = torch.as_tensor(table, dtype=torch.float32, device=n.device)[n.long()]
        return values.reshape(-1, *([1] * (ndim - 1)))

    def q_sample(self, n: torch.Tensor, x0: torch.Tensor, x1: torch.Tensor, *, ot_ode: bool = False,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
        """Draw X_n ~ q(X_n | X_0, X_1) (I2SB Eq. 11); deterministic mean with ot_ode."""
        xt = self.take(self.mu_x0, n, x0.ndim) * x0 + self.take(self.mu_x1, n, x0.ndim) * x1
        if not ot_ode:
            if noise is None:
                noise = torch.randn_like(x0)
            xt = xt + self.take(self.std_sb, n, x0.ndim) * noise
        return xt

    def label(self, n: torch.Tensor, x0: torch.Tensor, xt: torch.Tensor) -> torch.Tensor:
        """Regression target (X_n - X_0) / sigma_n (I2SB Eq. 12)."""
        return (xt - x0) / self.take(self.std_fwd, n, x0.ndim)

    def pred_x0(self, n: torch.Tensor | int, xt: torch.Tensor, net_out: torch.Tensor) -> torch.Tensor:
        """Invert the label: x0_hat = X_n - sigma_n * net_out."""
        if isinstance(n, int):
            return xt - float(self.std_fwd[n]) * net_out
        return xt - self.take(self.std_fwd, n, xt.ndim) * net_out


def step_indices(nfe: int, interval: int = 1000) -> list[int]:
    """I2SB's step set for `nfe` network calls: nfe+1 indices spread over [0, interval-1].

    Reproduces I2SB's accumulation of a fractional stride with Python's (banker's) round.
    """
    if not 1 <= nfe <= interval - 1:
        raise ValueError(f"step count must be between 1 and {interval - 1}, got {nfe}")
    count = nfe + 1
    stride = (interval - 1) / (count - 1)
    indices, cur = [], 0.0
    for _ in range(count):
        indices.append(round(cur))
        cur += stride
    return indices
