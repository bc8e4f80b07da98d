"""ADM-style UNet (Dhariwal & Nichol 2021, as used by I2SB): time embedding, residual blocks with
scale-shift norm, self-attention at low resolutions, skip connections. No file I/O here."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import UNetConfig


def _groups(ch: int) -> int:
    for g in (32, 16, 8, 4, 2):
        if ch % g == 0 and ch // g >= 2:
            return g
    return 1


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(_groups(ch), ch)


def _zero(module: nn.Module) -> nn.Module:
    """Zero-initialise the last layer of a residual branch so every block starts as the identity."""
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def timestep_embedding(level: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of a continuous level (I2SB feeds 1000 * t, t in [1e-4, 1])."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=level.device) / half)
    args = level.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class ResBlock(nn.Module):
    """hidden: the width between the two convolutions (default ch_out; wider in the top blocks)."""

    def __init__(self, ch_in: int, ch_out: int, emb_dim: int, dropout: float, hidden: int | None = None):
        super().__init__()
        hidden = hidden or ch_out
        self.norm1 = _norm(ch_in)
        self.conv1 = nn.Conv2d(ch_in, hidden, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * hidden)
        self.norm2 = _norm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(hidden, ch_out, 3, padding=1))
        self.skip = nn.Identity() if ch_in == ch_out else nn.Conv2d(ch_in, ch_out, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    def __init__(self, ch: int, head_channels: int):
        super().__init__()
        self.heads = max(1, ch // head_channels)
        self.norm = _norm(ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = _zero(nn.Conv2d(ch, ch, 1))

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x, emb=None):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x, emb=None):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Stage(nn.Sequential):
    """A sequence of blocks that all take (x, emb)."""

    def forward(self, x, emb):
        for block in self:
            x = block(x, emb)
        return x


class UNet(nn.Module):
    def __init__(self, config: UNetConfig):
        super().__init__()
        self.config = c = config
        p2 = c.patch_size**2
        emb_dim = 4 * c.base_channels
        self.time_embed = nn.Sequential(nn.Linear(c.base_channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv2d(c.in_channels * p2, c.base_channels, 3, padding=1)

        ch, res = c.base_channels, c.image_size // c.patch_size
        skips = [ch]
        self.down = nn.ModuleList()
        for level, mult in enumerate(c.channel_mult):
            for _ in range(c.num_res_blocks):
                blocks = [ResBlock(ch, mult * c.base_channels, emb_dim, c.dropout)]
                ch = mult * c.base_channels
                if res in c.attention_resolutions:
                    blocks.append(Attention(ch, c.head_channels))
                self.down.append(Stage(*blocks))
                skips.append(ch)
            if level < len(c.channel_mult) - 1:
                self.down.append(Stage(Downsample(ch)))
                skips.append(ch)
                res //= 2
        self.middle = Stage(ResBlock(ch, ch, emb_dim, c.dropout), Attention(ch, c.head_channels),
                            ResBlock(ch, ch, emb_dim, c.dropout))
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(c.channel_mult))):
            for i in range(c.num_res_blocks + 1):
                blocks = [ResBlock(ch + skips.pop(), mult * c.base_channels, emb_dim, c.dropout)]
                ch = mult * c.base_channels
                if res in c.attention_resolutions:
                    blocks.append(Attention(ch, c.head_channels))
                if level and i == c.num_res_blocks:
                    blocks.append(Upsample(ch))
                    res *= 2
                self.up.append(Stage(*blocks))
        if c.top_blocks:
            width = c.top_width or 4 * c.base_channels
            self.top = Stage(*[ResBlock(ch, ch, emb_dim, c.dropout, hidden=width) for _ in range(c.top_blocks)])
        self.head = nn.Sequential(_norm(ch), nn.SiLU(), _zero(nn.Conv2d(ch, c.out_channels * p2, 3, padding=1)))
        if c.detail_channels:
            # the detail branch: the input at half the patch beside the top features (nearest-upsampled), one
            # residual block, and a zero-initialised output, so a network that gains it starts as it was
            q, dc = c.patch_size // 2, c.detail_channels
            self.detail_in = nn.Conv2d(c.in_channels * q * q + ch, dc, 3, padding=1)
            self.detail_block = ResBlock(dc, dc, emb_dim, c.dropout)
            self.detail_out = nn.Sequential(_norm(dc), nn.SiLU(), _zero(nn.Conv2d(dc, c.out_channels * q * q, 3,
                                                                                  padding=1)))

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, S, S); level: (B,) continuous time level (I2SB: 1000 * t)."""
        c = self.config
        emb = self.time_embed(timestep_embedding(level, c.base_channels).to(x.dtype))
        pixels = x
        if c.patch_size > 1:
            x = F.pixel_unshuffle(x, c.patch_size)
        h = self.stem(x)
        hs = [h]
        for stage in self.down:
            h = stage(h, emb)
            hs.append(h)
        h = self.middle(h, emb)
        for stage in self.up:
            h = stage(torch.cat([h, hs.pop()], dim=1), emb)
        if c.top_blocks:
            h = self.top(h, emb)
        out = self.head(h)
        if c.patch_size > 1:
            out = F.pixel_shuffle(out, c.patch_size)
        if c.detail_channels:
            q = c.patch_size // 2
            d = torch.cat([F.pixel_unshuffle(pixels, q) if q > 1 else pixels,
                           F.interpolate(h, scale_factor=2.0, mode="nearest")], dim=1)
            d = self.detail_out(self.detail_block(self.detail_in(d), emb))
            out = out + (F.pixel_shuffle(d, q) if q > 1 else d)
        return out


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: UNet, batch: int = 1) -> int:
    """Floating-point operations (2 per multiply-add) of one forward pass, i.e. one sampler step."""
    from torch.utils.flop_counter import FlopCounterMode

    c = model.config
    device = next(model.parameters()).device
    x = torch.zeros(batch, c.in_channels, c.image_size, c.image_size, device=device)
    level = torch.ones(batch, device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x, level)
    return int(counter.get_total_flops())
