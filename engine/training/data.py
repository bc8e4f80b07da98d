"""Aligned HQ face folders loaded into memory once, with on-the-fly degradation.

Every random choice is a pure function of (seed, step, global sample index), so a resumed run and a
run split across DDP ranks see exactly the same samples as one uninterrupted process.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .. import degradations
from ..tensors import to_tensor

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def list_images(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images in {folder}")
    return files


def load_faces(folder: Path, size: int, limit: int | None = None) -> np.ndarray:
    """All images of a folder as an (N, size, size, 3) RGB uint8 array (area-resized)."""
    files = list_images(folder)[:limit]
    out = np.empty((len(files), size, size, 3), np.uint8)
    for i, path in enumerate(files):
        img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"cannot decode training image {path}")
        out[i] = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1]
    return out


class PairSampler:
    """Draws (HQ, LQ) training batches from an in-memory face array."""

    def __init__(self, faces: np.ndarray, seed: int, ranges=degradations.TRAIN, hflip: bool = True):
        self.faces = faces
        self.seed = seed
        self.ranges = ranges
        self.hflip = hflip

    def indices(self, step: int, global_batch: int) -> np.ndarray:
        """Global sample indices for a step: walks seeded per-epoch permutations."""
        n = len(self.faces)
        start = step * global_batch
        out = np.empty(global_batch, np.int64)
        for j in range(global_batch):
            epoch, pos = divmod(start + j, n)
            if j == 0 or pos == 0:
                perm = np.random.default_rng([self.seed, epoch]).permutation(n)
            out[j] = perm[pos]
        return out

    def batch(self, step: int, global_batch: int, rank: int = 0, world: int = 1):
        """This rank's slice of the step's global batch: (hq, lq) float tensors in [-1, 1]."""
        if global_batch % world:
            raise ValueError(f"global batch {global_batch} is not divisible by {world} processes")
        per = global_batch // world
        idx = self.indices(step, global_batch)
        hq, lq = [], []
        for j in range(rank * per, (rank + 1) * per):
            rng = np.random.default_rng([self.seed, step, j, 0xDA7A])
            img = self.faces[idx[j]]
            if self.hflip and rng.random() < 0.5:
                img = img[:, ::-1]
            img = np.ascontiguousarray(img)
            hq.append(img)
            lq.append(degradations.degrade(img, self.ranges, rng))
        return to_tensor(np.stack(hq)), to_tensor(np.stack(lq))
