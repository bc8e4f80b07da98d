"""Small helpers for the documentation grids (degradation_grid.py, ablation_grid.py): captions and saving."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def caption(width: int, text: str, x: int = 4, height: int = 18) -> np.ndarray:
    """A white strip with black text, to stack above or beside image cells."""
    strip = np.full((height, width, 3), 255, np.uint8)
    put(strip, text, x)
    return strip


def put(strip: np.ndarray, text: str, x: int) -> None:
    cv2.putText(strip, text, (x, strip.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)


def save(grid: np.ndarray, out: str) -> None:
    """Write an RGB grid as PNG, creating the folder."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), grid[..., ::-1])
    print(f"wrote {out}")
