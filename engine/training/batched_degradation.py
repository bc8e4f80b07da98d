"""The training degradation (engine/degradations.py) as batched tensor ops on the training device.

Same model and ranges as the per-sample OpenCV path, one batch at a time: rotated Gaussian blur (by FFT,
kernels truncated where the per-sample path truncates them), bilinear downscale without antialiasing,
Gaussian noise and uint8 rounding at the small size, JPEG (engine/training/jpeg.py), bilinear upscale
back, optional grayscale, and the horizontal flip of the clean face.

Every sample keeps its own downscale factor although the batch has one shape: the small image lives in
the top-left corner of a full-size canvas whose remaining rows and columns repeat its last row and column,
which is exactly how libjpeg pads a partial 8x8 block, so the JPEG blocks see what they would see alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..degradations import DegradationRanges
from .jpeg import jpeg_roundtrip

MAX_KERNEL = 41  # the per-sample path's kernel size cap (gaussian_kernel's max_size)
# On a CPU the batch is degraded in chunks that stay in cache (measured on 2 cores: whole-batch elementwise
# ops are memory-bound and several times slower per image); an accelerator takes the whole batch at once.
# Chunks are drawn from the batch sorted by downscale factor, so each chunk's small canvas is only as big
# as its largest member needs. The chunk size is part of the random stream, so it is fixed per device type.
CPU_CHUNK = 32


@dataclass
class BatchParams:
    """One tensor of shape (N,) per random choice, drawn as degradations.sample_params draws them."""
    sigma_x: torch.Tensor
    sigma_y: torch.Tensor
    theta: torch.Tensor
    downscale: torch.Tensor
    noise: torch.Tensor  # std in 1/255 units
    jpeg: torch.Tensor  # integer quality
    gray: torch.Tensor  # bool
    flip: torch.Tensor  # bool: mirror the clean face first

    def __getitem__(self, index) -> "BatchParams":
        return BatchParams(**{k: v[index] for k, v in vars(self).items()})


def sample_params(ranges: DegradationRanges, n: int, g: torch.Generator, hflip: bool = True) -> BatchParams:
    """Draw a batch of degradation parameters from the generator's device."""
    dev = g.device

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=g, device=dev, dtype=torch.float64)

    def coin(p):
        return torch.rand(n, generator=g, device=dev, dtype=torch.float64) < p

    sx = uniform(*ranges.blur_sigma)
    aniso = coin(ranges.aniso_prob)
    sy = torch.where(aniso, uniform(*ranges.blur_sigma), sx)
    theta = torch.where(aniso, uniform(-math.pi, math.pi), torch.zeros_like(sx))
    downscale = uniform(*ranges.downscale)
    noise = uniform(*ranges.noise)
    jpeg = uniform(float(ranges.jpeg[0]), float(ranges.jpeg[1])).floor().long()
    gray = coin(ranges.gray_prob)
    flip = coin(0.5) if hflip else torch.zeros(n, dtype=torch.bool, device=dev)
    return BatchParams(sx.float(), sy.float(), theta.float(), downscale.float(), noise.float(), jpeg, gray, flip)


def blur_kernels(p: BatchParams) -> torch.Tensor:
    """(N, K, K) normalised rotated Gaussians on one shared grid; each is zero outside its own radius,
    radius = ceil(3 sigma) clipped to [1, 20] exactly as degradations.gaussian_kernel."""
    smax = torch.maximum(p.sigma_x, p.sigma_y)
    radius = torch.ceil(3.0 * smax.double()).clamp(1, MAX_KERNEL // 2).long()
    r = int(radius.max())
    ax = torch.arange(-r, r + 1, device=smax.device, dtype=torch.float32)
    yy, xx = torch.meshgrid(ax, ax, indexing="ij")
    c, s = torch.cos(p.theta).view(-1, 1, 1), torch.sin(p.theta).view(-1, 1, 1)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = torch.exp(-0.5 * ((u / p.sigma_x.view(-1, 1, 1)) ** 2 + (v / p.sigma_y.view(-1, 1, 1)) ** 2))
    inside = (xx.abs() <= radius.view(-1, 1, 1)) & (yy.abs() <= radius.view(-1, 1, 1))
    k = k * inside
    return k / k.sum(dim=(1, 2), keepdim=True)


def _fft_size(n: int) -> int:
    """Smallest size >= n whose only prime factors are 2, 3 and 5 (measured: 160 is 1.6x faster than 152)."""
    while True:
        m = n
        for f in (2, 3, 5):
            while m % f == 0:
                m //= f
        if m == 1:
            return n
        n += 1


def blur(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Per-sample 2-D convolution with reflect-101 borders, by FFT (kernels up to 25x25 make a direct
    depthwise convolution 2.5x slower on a CPU)."""
    n, c, h, w = x.shape
    r = kernels.shape[-1] // 2
    padded = F.pad(x, (r, r, r, r), mode="reflect")
    ph, pw = _fft_size(padded.shape[-2]), _fft_size(padded.shape[-1])
    padded = F.pad(padded, (0, pw - padded.shape[-1], 0, ph - padded.shape[-2]))
    # flip: filter2D correlates; place the kernel centre at the origin for a circular convolution
    k = torch.fft.rfft2(kernels.flip(-1, -2), s=(ph, pw))
    # the kernel's centre sits at (r, r) of its grid: shifting the output by r is a phase ramp
    fy = torch.fft.fftfreq(ph, device=x.device).view(-1, 1)
    fx = torch.fft.rfftfreq(pw, device=x.device).view(1, -1)
    k = k * torch.exp(2j * math.pi * r * (fy + fx))
    out = torch.fft.irfft2(torch.fft.rfft2(padded) * k.unsqueeze(1), s=(ph, pw))
    return out[..., r: r + h, r: r + w]


def _axis_coords(size: int, valid: torch.Tensor, src_size, canvas: int) -> torch.Tensor:
    """Normalised grid_sample coordinates (align_corners=False) for each sample along one axis.

    Output pixel j of a resize from `src_size` to `valid` samples source (j + 0.5) * src/valid - 0.5
    (OpenCV's INTER_LINEAR convention), clamped to the source's valid extent; pixels past `valid`
    repeat the last valid one. `canvas` is the sampled tensor's size along the axis."""
    j = torch.arange(size, device=valid.device, dtype=torch.float32).view(1, -1)
    valid = valid.view(-1, 1).float()
    j = torch.minimum(j, valid - 1)
    src = (j + 0.5) * (src_size.view(-1, 1).float() / valid) - 0.5
    src = torch.minimum(src.clamp(min=0.0), src_size.view(-1, 1).float() - 1)
    return (2 * src + 1) / canvas - 1


def _resample(x: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor) -> torch.Tensor:
    n, h, w = x.shape[0], gy.shape[1], gx.shape[1]
    grid = torch.stack([gx.view(n, 1, w).expand(n, h, w), gy.view(n, h, 1).expand(n, h, w)], dim=-1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _round_up(v: int, m: int = 16) -> int:
    return -(-v // m) * m


def degrade(hq: torch.Tensor, p: BatchParams, g: torch.Generator, chunk: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, H, W) uint8 clean faces -> (flipped clean, degraded), both float 0..255 on hq's device.
    chunk: samples degraded together (0 = CPU_CHUNK on a CPU, the whole batch elsewhere)."""
    clean = hq.float()
    flip = p.flip.nonzero().flatten()
    clean[flip] = clean[flip].flip(-1)
    n = clean.shape[0]
    chunk = chunk or (CPU_CHUNK if clean.device.type == "cpu" else n)
    if chunk >= n:
        return clean, _degrade_chunk(clean, p, g)
    order = torch.argsort(p.downscale, descending=True, stable=True)
    lq = torch.empty_like(clean)
    for start in range(0, n, chunk):
        idx = order[start: start + chunk]
        lq[idx] = _degrade_chunk(clean[idx], p[idx], g)
    return clean, lq


def _degrade_chunk(clean: torch.Tensor, p: BatchParams, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = clean.shape
    x = blur(clean / 255.0, blur_kernels(p))
    # the small size each sample is resized to: int(side / factor) as the per-sample path; the canvas
    # holding them is a multiple of 16 (whole JPEG MCUs) just large enough for the largest
    sw = torch.clamp(torch.floor(w / p.downscale.double()), min=1).long()
    sh = torch.clamp(torch.floor(h / p.downscale.double()), min=1).long()
    cw, ch = _round_up(int(sw.max())), _round_up(int(sh.max()))
    full_w, full_h = torch.full_like(sw, w), torch.full_like(sh, h)
    small = _resample(x, _axis_coords(cw, sw, full_w, w), _axis_coords(ch, sh, full_h, h))
    noise = torch.randn(small.shape, generator=g, device=g.device, dtype=small.dtype).to(small.device)
    small = (small + noise * (p.noise.view(-1, 1, 1, 1) / 255.0)).clamp(0, 1)
    small = torch.round(small * 255.0)
    # repeat the last valid row/column over the rest of the canvas (libjpeg's partial-block padding)
    cols = torch.minimum(torch.arange(cw, device=x.device).view(1, -1), sw.view(-1, 1) - 1)
    rows = torch.minimum(torch.arange(ch, device=x.device).view(1, -1), sh.view(-1, 1) - 1)
    small = small.gather(3, cols.view(n, 1, 1, cw).expand(n, 3, ch, cw))
    small = small.gather(2, rows.view(n, 1, ch, 1).expand(n, 3, ch, cw))
    small = jpeg_roundtrip(small, p.jpeg)
    lq = _resample(small, _axis_coords(w, full_w, sw, cw), _axis_coords(h, full_h, sh, ch)).round().clamp(0, 255)
    gray = p.gray.nonzero().flatten()
    g = lq[gray]
    lq[gray] = (0.299 * g[:, 0] + 0.587 * g[:, 1] + 0.114 * g[:, 2]).round().unsqueeze(1).expand(-1, 3, -1, -1)
    return lq
