"""Baseline JPEG (4:2:0, IJG quality tables) as batched tensor ops, with a quality per image.

The per-sample degradation encodes with libjpeg through OpenCV, one image at a time on the CPU. This
re-implements the same lossy steps so a whole batch is compressed on the training device: JFIF YCbCr,
2x2 chroma averaging, 8x8 orthonormal DCT, quantisation by the IJG tables scaled to the quality,
rounding, and libjpeg's default "fancy" chroma upsampling (a half-pixel bilinear 2x, edges replicated).
It is not bit-exact with libjpeg (integer DCT, fixed-point colour); tests bound the difference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# ITU T.81 Annex K tables (row-major), the ones libjpeg scales by quality
_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
_CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
           47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32


def quant_tables(quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) integer qualities 1..100 -> luma and chroma tables (N, 8, 8), as libjpeg's jpeg_set_quality."""
    q = quality.clamp(1, 100).to(torch.float64)
    scale = torch.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)
    out = []
    for base in (_LUMA, _CHROMA):
        t = torch.tensor(base, dtype=torch.float64, device=q.device).view(1, 8, 8)
        out.append(torch.floor((t * scale.view(-1, 1, 1) + 50.0) / 100.0).clamp(1, 255).float())
    return out[0], out[1]


def _dct_matrix(device) -> torch.Tensor:
    """The 8x8 2-D DCT as one 64x64 matrix acting on flattened blocks: one GEMM per plane, not
    thousands of tiny 8x8 products."""
    k = torch.arange(8, dtype=torch.float64)
    m = torch.cos((2 * k.view(1, 8) + 1) * k.view(8, 1) * math.pi / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return torch.kron(m, m).float().to(device)


def _blocks(x: torch.Tensor) -> torch.Tensor:
    """(N, H, W) -> (N, H/8 * W/8, 64): flattened 8x8 blocks."""
    n, h, w = x.shape
    return x.reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4).reshape(n, -1, 64)


def _unblocks(b: torch.Tensor, h: int, w: int) -> torch.Tensor:
    n = b.shape[0]
    return b.reshape(n, h // 8, w // 8, 8, 8).permute(0, 1, 3, 2, 4).reshape(n, h, w)


def _code_plane(plane: torch.Tensor, table: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """Level shift, DCT, quantise, dequantise, inverse DCT; returns rounded, clamped 0..255 samples."""
    h, w = plane.shape[-2:]
    coef = _blocks(plane - 128.0) @ dct.T
    t = table.reshape(-1, 1, 64)
    coef = torch.round(coef / t) * t
    return (_unblocks(coef @ dct, h, w) + 128.0).round().clamp(0, 255)


def jpeg_roundtrip(rgb: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Compress and decompress a batch. rgb: (N, 3, H, W) float holding 0..255 integers, H and W multiples
    of 16; quality: (N,) integers. Returns the decoded batch in the same form."""
    n, _, h, w = rgb.shape
    if h % 16 or w % 16:
        raise ValueError(f"jpeg_roundtrip needs sides divisible by 16, got {h}x{w}")
    r, g, b = rgb.float().unbind(1)
    y = (0.299 * r + 0.587 * g + 0.114 * b).round()
    cb = (-0.168736 * r - 0.331264 * g + 0.5 * b + 128.0).round()
    cr = (0.5 * r - 0.418688 * g - 0.081312 * b + 128.0).round()
    chroma = F.avg_pool2d(torch.stack([cb, cr], 1), 2).round()
    luma_t, chroma_t = quant_tables(quality.to(rgb.device))
    dct = _dct_matrix(rgb.device)
    y = _code_plane(y, luma_t, dct)
    cbcr = torch.stack([_code_plane(chroma[:, i], chroma_t, dct) for i in range(2)], 1)
    cb, cr = F.interpolate(cbcr, scale_factor=2, mode="bilinear", align_corners=False).unbind(1)
    cb, cr = cb - 128.0, cr - 128.0
    out = torch.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], 1)
    return out.round().clamp(0, 255)
