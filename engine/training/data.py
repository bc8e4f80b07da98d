"""Aligned HQ face folders loaded into memory once, with on-the-fly degradation.

Every random choice is a pure function of (seed, step, global sample index), so a resumed run and a
run split across DDP ranks see exactly the same samples as one uninterrupted process.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

import torch

from .. import degradations
from ..io.image_folders import list_images
from ..tensors import to_tensor
from . import batched_degradation
from .pack import is_pack, load_pack

def load_faces(folder: Path, size: int, limit: int | None = None) -> np.ndarray:
    """All images of a folder, or of a face pack, as an (N, size, size, 3) RGB uint8 array (area-resized)."""
    if is_pack(folder):
        return load_pack(folder, size, limit)
    files = list_images(folder)[:limit]
    out = np.empty((len(files), size, size, 3), np.uint8)
    for i, path in enumerate(files):
        img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"cannot decode training image {path}")
        out[i] = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)[..., ::-1]
    return out


def epoch_indices(n: int, seed: int, step: int, global_batch: int) -> np.ndarray:
    """The step's global sample indices: consecutive positions in seeded per-epoch permutations of n."""
    pos = step * global_batch + np.arange(global_batch)
    epochs, where = np.divmod(pos, n)
    out = np.empty(global_batch, np.int64)
    for epoch in np.unique(epochs):
        mask = epochs == epoch
        out[mask] = np.random.default_rng([seed, int(epoch)]).permutation(n)[where[mask]]
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
        return epoch_indices(len(self.faces), self.seed, step, global_batch)

    def batch(self, step: int, global_batch: int, rank: int = 0, world: int = 1):
        """This rank's slice of the step's global batch: (hq, lq) float tensors in [-1, 1]."""
        pairs = [self.pair(step, j, int(i)) for j, i in self.jobs(step, global_batch, rank, world)]
        return stack_pairs(pairs)

    def jobs(self, step: int, global_batch: int, rank: int = 0, world: int = 1) -> list[tuple[int, int]]:
        """(global sample position, face index) for this rank's slice of the step's batch."""
        if global_batch % world:
            raise ValueError(f"global batch {global_batch} is not divisible by {world} processes")
        per = global_batch // world
        idx = self.indices(step, global_batch)
        return [(j, int(idx[j])) for j in range(rank * per, (rank + 1) * per)]

    def pair(self, step: int, position: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """One (clean, degraded) uint8 pair: a pure function of (seed, step, position) and the face."""
        rng = np.random.default_rng([self.seed, step, position, 0xDA7A])
        img = self.faces[index]
        if self.hflip and rng.random() < 0.5:
            img = img[:, ::-1]
        return degradations.degrade_pair(np.ascontiguousarray(img), self.ranges, rng)


def stack_pairs(pairs) -> tuple[torch.Tensor, torch.Tensor]:
    return to_tensor(np.stack([p[0] for p in pairs])), to_tensor(np.stack([p[1] for p in pairs]))


class BatchedPairSampler:
    """The same pairs' distribution, made on the training device a whole batch at a time.

    The faces live on the device as uint8 (12,000 at 128 px are 590 MB); degradation parameters and noise
    come from a device generator seeded by (seed, step, rank), so a resumed run continues exactly on the
    same device type and number of processes. (The per-sample PairSampler is exact across any world size,
    at CPU speed.)"""

    def __init__(self, faces: np.ndarray, seed: int, device: torch.device, ranges=degradations.TRAIN,
                 hflip: bool = True):
        if ranges.old_photo:
            raise ValueError("the batched data path has no old-photo damage (grain, halftone, scratches, tone); "
                             "train with --data-path per-sample or the narrow degradation range")
        self.faces = torch.from_numpy(np.ascontiguousarray(faces)).permute(0, 3, 1, 2).contiguous().to(device)
        self.seed, self.device, self.ranges, self.hflip = seed, device, ranges, hflip

    def generator(self, step: int, tag: int) -> torch.Generator:
        return torch.Generator(device=self.device).manual_seed(hash((self.seed, step, tag)) & 0x7FFFFFFF)

    def batch(self, step: int, global_batch: int, rank: int = 0, world: int = 1):
        """This rank's slice of the step's global batch: (hq, lq) float tensors in [-1, 1] on the device."""
        if global_batch % world:
            raise ValueError(f"global batch {global_batch} is not divisible by {world} processes")
        per = global_batch // world
        mine = slice(rank * per, (rank + 1) * per)
        idx = epoch_indices(len(self.faces), self.seed, step, global_batch)[mine]
        params = batched_degradation.sample_params(self.ranges, global_batch, self.generator(step, 0xDA7A),
                                                   self.hflip)[mine]
        hq = self.faces[torch.from_numpy(idx).to(self.device)]
        clean, lq = batched_degradation.degrade(hq, params, self.generator(step, 0x1015E + rank))
        return clean.div_(127.5).sub_(1.0), lq.div_(127.5).sub_(1.0)
