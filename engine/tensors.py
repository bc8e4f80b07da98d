"""The one convention between images and the network: RGB uint8 HxWx3 <-> float NCHW in [-1, 1]."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch


def to_tensor(images: Sequence[np.ndarray] | np.ndarray, device: Optional[torch.device] = None) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(np.stack(images) if not isinstance(images, np.ndarray) else images))
    x = x.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    return x if device is None else x.to(device)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8."""
    return x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
