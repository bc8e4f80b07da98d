"""Image-quality and identity metrics on RGB uint8 images (same size pairs).

PSNR and SSIM on RGB, no border crop (PMRF convention); SSIM is the Wang et al. Gaussian-window SSIM
averaged over channels. LPIPS uses AlexNet (inputs in [-1, 1]); DISTS uses
VGG16 (inputs in [0, 1]). Identity distance is the Euclidean
distance between dlib ResNet face descriptors (same person usually < 0.6).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..tensors import to_tensor


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for ch in range(a.shape[2]):
        x, y = a[..., ch].astype(np.float64), b[..., ch].astype(np.float64)
        blur = lambda z: cv2.GaussianBlur(z, (11, 11), 1.5)[5:-5, 5:-5]  # noqa: E731
        mx, my = blur(x), blur(y)
        sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
        vals.append(m.mean())
    return float(np.mean(vals))


class _BackboneMetric:
    """A distance computed by a network on batches of image pairs (inputs in [-1, 1])."""

    def __init__(self, device: str, load):
        self.device = torch.device(device)
        self.model = load(self.device)

    def _score(self, ta: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        return self.model(ta, tb)

    @torch.no_grad()
    def __call__(self, a: list[np.ndarray], b: list[np.ndarray], batch: int = 32) -> list[float]:
        out = []
        for i in range(0, len(a), batch):
            ta = to_tensor(a[i:i + batch], self.device)
            tb = to_tensor(b[i:i + batch], self.device)
            out.extend(self._score(ta, tb).reshape(-1).tolist())
        return out


class LPIPS(_BackboneMetric):
    def __init__(self, device: str = "cpu"):
        from .backbones import load_lpips

        super().__init__(device, load_lpips)


class DISTS(_BackboneMetric):
    def __init__(self, device: str = "cpu"):
        from .backbones import load_dists

        super().__init__(device, load_dists)

    def _score(self, ta: torch.Tensor, tb: torch.Tensor) -> torch.Tensor:
        return self.model((ta + 1) / 2, (tb + 1) / 2)  # DISTS takes [0, 1]


class IdentityDistance:
    """dlib descriptor distance for aligned face crops: the identity meter's own descriptor
    (engine/identity.py), so evaluation and the app measure identity the same way."""

    def __init__(self):
        from ..identity import IdentityMeter

        self.meter = IdentityMeter()

    def descriptor(self, face: np.ndarray) -> np.ndarray:
        d = self.meter.describe(face)
        return np.full(128, np.nan) if d is None else d

    def __call__(self, a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
        return [float(np.linalg.norm(self.descriptor(x) - self.descriptor(y))) for x, y in zip(a, b)]
