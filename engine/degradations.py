"""Blind-face-restoration degradation model (METHOD.md section 4.1):
y = [ (x * k_sigma) downscaled by r  + noise ]_JPEG(q), upscaled back, optional grayscale.

Images are RGB uint8 HxWx3. Random parameters are drawn first (`sample_params`) and applied second
(`apply`), so evaluation can fix them per image and seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DegradationRanges:
    blur_sigma: tuple[float, float]
    downscale: tuple[float, float]
    noise: tuple[float, float]  # Gaussian noise std, in 1/255 units
    jpeg: tuple[int, int]
    aniso_prob: float = 0.0  # probability of an anisotropic, rotated kernel
    gray_prob: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# Training ranges follow GPU-NOTES.md's prototype (a subset of GFPGAN's), with anisotropic kernels.
TRAIN = DegradationRanges((0.1, 4.0), (1.0, 6.0), (0.0, 15.0), (40, 95), aniso_prob=0.5, gray_prob=0.1)
# Evaluation levels. moderate and severe are exactly GPU-NOTES.md's protocol so numbers compare.
LEVELS: dict[str, DegradationRanges] = {
    "mild": DegradationRanges((0.5, 1.5), (1.5, 2.0), (1.0, 5.0), (70, 90)),
    "moderate": DegradationRanges((1.0, 3.0), (2.0, 4.0), (3.0, 10.0), (50, 80)),
    "severe": DegradationRanges((2.0, 4.0), (4.0, 8.0), (8.0, 20.0), (30, 60)),
}


def get_level(name: str) -> DegradationRanges:
    try:
        return LEVELS[name]
    except KeyError:
        raise ValueError(f"unknown degradation level {name!r}; choose one of {sorted(LEVELS)}") from None


@dataclass(frozen=True)
class DegradationParams:
    sigma_x: float
    sigma_y: float
    theta: float
    downscale: float
    noise: float
    jpeg: int
    gray: bool
    noise_seed: int


def sample_params(ranges: DegradationRanges, rng: np.random.Generator) -> DegradationParams:
    sx = float(rng.uniform(*ranges.blur_sigma))
    aniso = rng.random() < ranges.aniso_prob
    sy = float(rng.uniform(*ranges.blur_sigma)) if aniso else sx
    theta = float(rng.uniform(-math.pi, math.pi)) if aniso else 0.0
    return DegradationParams(
        sigma_x=sx, sigma_y=sy, theta=theta,
        downscale=float(rng.uniform(*ranges.downscale)),
        noise=float(rng.uniform(*ranges.noise)),
        jpeg=int(rng.uniform(ranges.jpeg[0], ranges.jpeg[1])),
        gray=bool(rng.random() < ranges.gray_prob),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
    )


def gaussian_kernel(sigma_x: float, sigma_y: float, theta: float, max_size: int = 41) -> np.ndarray:
    """Normalised 2-D Gaussian on an integer grid, rotated by theta; odd size up to max_size."""
    radius = min(max_size // 2, max(1, int(math.ceil(3.0 * max(sigma_x, sigma_y)))))
    ax = np.arange(-radius, radius + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).astype(np.float32)


def apply(image: np.ndarray, p: DegradationParams) -> np.ndarray:
    """Degrade an RGB uint8 image; returns RGB uint8 of the same size."""
    h, w = image.shape[:2]
    x = image.astype(np.float32) / 255.0
    x = cv2.filter2D(x, -1, gaussian_kernel(p.sigma_x, p.sigma_y, p.theta), borderType=cv2.BORDER_REFLECT_101)
    small = (max(1, int(w / p.downscale)), max(1, int(h / p.downscale)))
    x = cv2.resize(x, small, interpolation=cv2.INTER_LINEAR)
    if p.noise > 0:
        noise_rng = np.random.default_rng(p.noise_seed)
        x = x + noise_rng.standard_normal(x.shape, dtype=np.float32) * (p.noise / 255.0)
    x = np.clip(x, 0.0, 1.0)
    x8 = np.round(x * 255.0).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", x8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(p.jpeg)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    x8 = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    x8 = cv2.resize(x8, (w, h), interpolation=cv2.INTER_LINEAR)
    if p.gray:
        g = cv2.cvtColor(np.ascontiguousarray(x8), cv2.COLOR_RGB2GRAY)
        x8 = np.repeat(g[..., None], 3, axis=2)
    return np.ascontiguousarray(x8)


def degrade(image: np.ndarray, ranges: DegradationRanges, rng: np.random.Generator) -> np.ndarray:
    return apply(image, sample_params(ranges, rng))


def degrade_for_eval(image: np.ndarray, level: str, *, seed: int, index: int) -> np.ndarray:
    """Deterministic degradation for evaluation: the same (image index, seed) always gives the same LQ."""
    rng = np.random.default_rng([seed, index, 0xE7A1])
    return apply(image, sample_params(get_level(level), rng))
