"""Real-ESRGAN's generator, RRDBNet (ESRGAN, Wang et al. 2018), written out for the converted weights.

Our own few lines instead of a model zoo: the upscaler then needs nothing beyond PyTorch at run time (the
slim CPU app carries no torchvision, which spandrel imports). Parameters are registered in the order the
ncnn release lists its convolutions (conv_first, 23 blocks x 3 dense blocks x 5 convs, conv_body, two
upsampling convs, conv_hr, conv_last), which is the order conversion assigns them in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2, inplace=True)


class DenseBlock(nn.Module):
    """Five 3x3 convs, each seeing every earlier output; the result is added back scaled by 0.2."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(features + i * growth, growth if i < 4 else features, 3, 1, 1)
                                   for i in range(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = [x]
        for conv in self.convs[:4]:
            seen.append(_lrelu(conv(torch.cat(seen, 1))))
        return self.convs[4](torch.cat(seen, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual: three dense blocks, their result added back scaled by 0.2."""

    def __init__(self, features: int, growth: int):
        super().__init__()
        self.blocks = nn.Sequential(*(DenseBlock(features, growth) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x) * 0.2 + x


class RRDBNet(nn.Module):
    """4x (or 2x) super-resolution: features at the input size, then nearest 2x resizes each followed by a conv."""

    def __init__(self, in_nc: int = 3, out_nc: int = 3, num_filters: int = 64, num_blocks: int = 23,
                 growth: int = 32, scale: int = 4):
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"RRDBNet scale must be 2 or 4, got {scale}")
        self.scale = scale
        self.conv_first = nn.Conv2d(in_nc, num_filters, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_filters, growth) for _ in range(num_blocks)))
        self.conv_body = nn.Conv2d(num_filters, num_filters, 3, 1, 1)
        self.ups = nn.ModuleList(nn.Conv2d(num_filters, num_filters, 3, 1, 1) for _ in range(scale // 2))
        self.conv_hr = nn.Conv2d(num_filters, num_filters, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_filters, out_nc, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for up in self.ups:
            feat = _lrelu(up(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(_lrelu(self.conv_hr(feat)))
