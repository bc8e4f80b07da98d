"""Pseudo-hashing (P-I2SB, METHOD.md 1.2): map (HQ x, LQ y) to bridge endpoints and back.

H(x, y) -> X_0 (the clean end the bridge is trained toward), with X_1 = endpoint_x1(y) the start of
sampling; J(X_0_hat, y) -> x recovers the restored image. `none` is vanilla I2SB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Hashing:
    name: str
    channels: int  # channels of the bridge state (network in and out)
    hash: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # H(x, y) -> X_0
    unhash: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # J(X_0, y) -> x
    endpoint_x1: Callable[[torch.Tensor], torch.Tensor]  # y -> X_1


HASHINGS: dict[str, Hashing] = {
    "none": Hashing("none", 3, lambda x, y: x, lambda x0, y: x0, lambda y: y),
    "cat": Hashing(
        "cat", 6,
        lambda x, y: torch.cat([x, y], dim=1),
        lambda x0, y: x0[:, :3],
        lambda y: torch.cat([y, y], dim=1),
    ),
    "res": Hashing("res", 3, lambda x, y: y - x, lambda x0, y: y - x0, lambda y: y),
}


def get_hashing(name: str) -> Hashing:
    try:
        return HASHINGS[name]
    except KeyError:
        raise ValueError(f"unknown hashing variant {name!r}; choose one of {sorted(HASHINGS)}") from None
