"""Tiled inference for image-to-image networks that enlarge by an integer factor.

Each tile is run with `context` extra pixels of the photo around it (fewer at the photo's border), and only
its core is written to the output. A network whose receptive field fits in the context gives exactly the
untiled result; Real-ESRGAN's nominal field is far larger, so how much context it needs is measured
(docs/UPSCALE.md). Memory is bounded by the tile: one tile's activations plus the output array, never the
network on the whole photo. Progress is reported per tile and cancellation is checked between tiles.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch

from ..progress import CancelToken, ProgressCallback, check, report


def tile_grid(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) cores covering the image, row by row."""
    return [(y, min(height, y + tile), x, min(width, x + tile))
            for y in range(0, height, tile) for x in range(0, width, tile)]


def run_tiled(image: np.ndarray, fn: Callable[[torch.Tensor], torch.Tensor], scale: int, *, tile: int = 192,
              context: int = 32, device: torch.device | str = "cpu", callback: Optional[ProgressCallback] = None,
              cancel: Optional[CancelToken] = None) -> np.ndarray:
    """image: (H, W, C) float32 in [0, 1]. fn: (1, C, h, w) -> (1, C, h*scale, w*scale) on `device`.
    Returns (H*scale, W*scale, C) float32."""
    if tile < 1 or context < 0 or scale < 1:
        raise ValueError(f"tile must be >= 1, context >= 0 and scale >= 1 (got {tile}, {context}, {scale})")
    h, w, c = image.shape
    out = np.empty((h * scale, w * scale, c), np.float32)
    cores = tile_grid(h, w, tile)
    for i, (y0, y1, x0, x1) in enumerate(cores):
        check(cancel)
        ry0, ry1 = max(0, y0 - context), min(h, y1 + context)
        rx0, rx1 = max(0, x0 - context), min(w, x1 + context)
        region = torch.from_numpy(np.ascontiguousarray(image[ry0:ry1, rx0:rx1])).permute(2, 0, 1)[None].to(device)
        with torch.inference_mode():
            up = fn(region)[0].permute(1, 2, 0).float().cpu().numpy()
        oy, ox = (y0 - ry0) * scale, (x0 - rx0) * scale
        out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = up[oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
        report(callback, "upscale", i + 1, len(cores), f"tile {i + 1}/{len(cores)}")
    return out


def tiles_for(height: int, width: int, tile: int) -> int:
    return math.ceil(height / tile) * math.ceil(width / tile)
