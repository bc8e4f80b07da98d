"""Bridge samplers: I2SB's posterior sampler (I2SB Eq. 4, optional OT-ODE) and I3SB (METHOD.md 3).

Both walk the I2SB step set from index interval-1 (X_1, the LQ endpoint) down to 0. The sampler only
sees a `pred_x0_fn(x_n, n) -> x0_hat` so it never depends on a network. It returns the last x0
prediction: I2SB's own chain ends at X at index 0, which differs from x0_hat by the 0.01 std offset of
the discrete schedule; returning x0_hat removes that residual noise and makes an exact predictor exact.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import torch

from ..errors import BadInputError
from ..progress import CancelToken, check
from .schedule import BridgeSchedule, step_indices

PredX0Fn = Callable[[torch.Tensor, int], torch.Tensor]
Generators = Optional[Union[torch.Generator, Sequence[torch.Generator]]]
StepCallback = Callable[[int, int, torch.Tensor], None]  # (step done, total, x0 prediction)

SAMPLERS = ("i2sb", "i3sb")


def _noise(like: torch.Tensor, generator) -> torch.Tensor:
    """Gaussian noise drawn on the CPU so seeds agree across devices.

    `generator` may be one torch.Generator for the whole batch, or a list with one per batch item so
    that each face's result is independent of what else shares its batch.
    """
    if isinstance(generator, (list, tuple)):
        if len(generator) != like.shape[0]:
            raise BadInputError(f"{len(generator)} generators for a batch of {like.shape[0]}")
        z = torch.stack([torch.randn(like.shape[1:], generator=g, dtype=torch.float32) for g in generator])
    else:
        z = torch.randn(like.shape, generator=generator, dtype=torch.float32)
    return z.to(device=like.device, dtype=like.dtype)


def i2sb_posterior(schedule: BridgeSchedule, m: int, n: int, x_n: torch.Tensor, x0: torch.Tensor,
                   *, ot_ode: bool, generator: Generators) -> torch.Tensor:
    """One I2SB step n -> m < n: sample p(X_m | X_n, x0_hat) = N(x0_hat, s_m^2) * N(X_n, alpha^2)."""
    std_m, std_n = schedule.std_fwd[m], schedule.std_fwd[n]
    alpha = math.sqrt(std_n**2 - std_m**2)
    coef_x0, coef_xn, var = (float(v) for v in _product(std_m, alpha))
    x_m = coef_x0 * x0 + coef_xn * x_n
    if not ot_ode and m > 0:
        x_m = x_m + math.sqrt(var) * _noise(x_m, generator)
    return x_m


def _product(s1: float, s2: float):
    denom = s1**2 + s2**2
    return s2**2 / denom, s1**2 / denom, s1**2 * s2**2 / denom


def i3sb_step(schedule: BridgeSchedule, m: int, n: int, x_n: torch.Tensor, x0: torch.Tensor,
              x_start: torch.Tensor, *, eta: float, generator: Generators) -> torch.Tensor:
    """One I3SB step n -> m: keep the deviation from the predicted marginal mean, top up with noise."""
    fwd, bwd, sb = schedule.std_fwd, schedule.std_bwd, schedule.std_sb

    def marginal_mean(k: int) -> torch.Tensor:
        total = fwd[k] ** 2 + bwd[k] ** 2
        return float(bwd[k] ** 2 / total) * x0 + float(fwd[k] ** 2 / total) * x_start

    alpha2 = fwd[n] ** 2 - fwd[m] ** 2
    g = eta * fwd[m] * math.sqrt(alpha2) / math.sqrt(fwd[m] ** 2 + alpha2)
    if m == 0:
        g = 0.0
    s_m, s_n = float(sb[m]), float(sb[n])
    if g < s_m:
        k = math.sqrt(s_m**2 - g**2) / s_n
        x_m = marginal_mean(m) + k * (x_n - marginal_mean(n))
    else:
        g, x_m = s_m, marginal_mean(m)
    if g > 0:
        x_m = x_m + g * _noise(x_m, generator)
    return x_m


def sample(pred_x0_fn: PredX0Fn, x1: torch.Tensor, *, nfe: int, schedule: BridgeSchedule,
           sampler: str = "i2sb", eta: float = 0.6, ot_ode: bool = False,
           generator: Generators = None, callback: Optional[StepCallback] = None,
           cancel: Optional[CancelToken] = None, clip_denoise: bool = False) -> torch.Tensor:
    """Run the bridge from X_1 = x1 with `nfe` network calls and return the final x0 prediction.

    The state stays in float32 whatever precision pred_x0_fn uses internally.
    """
    if sampler not in SAMPLERS:
        raise BadInputError(f"unknown sampler {sampler!r}; choose one of {list(SAMPLERS)}")
    if not 0.0 <= eta <= 1.0:
        raise BadInputError(f"eta must be in [0, 1], got {eta}")
    indices = step_indices(nfe, schedule.interval)[::-1]
    x_start = x1.float()
    x_n = x_start
    x0 = x_start
    for i, (n, m) in enumerate(zip(indices[:-1], indices[1:])):
        check(cancel)
        x0 = pred_x0_fn(x_n, n).float()
        if clip_denoise:
            x0 = x0.clamp(-1.0, 1.0)
        if sampler == "i2sb" or n == schedule.interval - 1:
            x_n = i2sb_posterior(schedule, m, n, x_n, x0, ot_ode=ot_ode, generator=generator)
        else:
            x_n = i3sb_step(schedule, m, n, x_n, x0, x_start, eta=eta, generator=generator)
        if callback is not None:
            callback(i + 1, nfe, x0)
    return x0
