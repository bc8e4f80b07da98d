"""UNetConfig: everything needed to rebuild the network, round-tripped through JSON in checkpoints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 6
    out_channels: int = 6
    image_size: int = 128  # the face size the model works at (square)
    base_channels: int = 64
    channel_mult: tuple[int, ...] = (1, 2, 2, 4)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (16,)  # feature-map sizes (pixels) that get self-attention
    head_channels: int = 32
    dropout: float = 0.0
    patch_size: int = 1  # >1: pixel-unshuffle stem / pixel-shuffle head, cuts cost at full resolution
    # >0: a detail branch of this width at half the patch (twice the UNet's top resolution), which sees the
    # input pixels there and adds to the head's output; 0 = none (every model before v7)
    detail_channels: int = 0
    # >0: this many wide residual blocks on the decoder's top grid, just before the head, each through
    # top_width hidden channels (0: 4x base_channels) and ending in a zero-initialised layer, so a network that
    # gains them starts as it was; 0 = none (every model before v15)
    top_blocks: int = 0
    top_width: int = 0

    def __post_init__(self):
        object.__setattr__(self, "channel_mult", tuple(int(m) for m in self.channel_mult))
        object.__setattr__(self, "attention_resolutions", tuple(int(r) for r in self.attention_resolutions))
        for name in ("in_channels", "out_channels", "image_size", "base_channels", "num_res_blocks",
                     "head_channels", "patch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"UNetConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.detail_channels < 0:
            raise ValueError(f"UNetConfig.detail_channels must be >= 0, got {self.detail_channels}")
        if self.top_blocks < 0 or self.top_width < 0:
            raise ValueError(f"UNetConfig.top_blocks and top_width must be >= 0, got {self.top_blocks}, {self.top_width}")
        if self.detail_channels and self.patch_size % 2:
            raise ValueError(f"a detail branch works at half the patch: patch_size must be even, got {self.patch_size}")
        if not self.channel_mult:
            raise ValueError("UNetConfig.channel_mult must not be empty")
        factor = self.patch_size * 2 ** (len(self.channel_mult) - 1)
        if self.image_size % factor:
            raise ValueError(f"image_size {self.image_size} must be divisible by {factor} "
                             f"(patch_size x 2^(levels-1))")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channel_mult"] = list(self.channel_mult)
        d["attention_resolutions"] = list(self.attention_resolutions)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown UNetConfig keys: {sorted(unknown)}")
        return cls(**d)


PRESETS: dict[str, UNetConfig] = {
    # under 100k parameters: unit tests
    "tiny": UNetConfig(image_size=32, base_channels=8, channel_mult=(1, 2), num_res_blocks=1,
                       attention_resolutions=(16,), head_channels=8),
    # the shipped CPU-trainable model: 128 px faces through a 2x2 pixel-unshuffle stem, 4.5 M
    # parameters, 3.1 GFLOPs per step (about 11 training images/s on 2 CPU cores)
    "small": UNetConfig(image_size=128, base_channels=32, channel_mult=(1, 2, 4, 4), num_res_blocks=1,
                        attention_resolutions=(8,), head_channels=32, patch_size=2),
    # the whole-head model: "small" at 256 px behind a 4x4 pixel-unshuffle stem, so every level inside works at
    # the sizes "small" does at 128 px (64 to 8 px) and costs about the same per step; a "small" model's weights
    # carry over exactly (engine/network/transfer.py)
    "head256": UNetConfig(image_size=256, base_channels=32, channel_mult=(1, 2, 4, 4), num_res_blocks=1,
                          attention_resolutions=(8,), head_channels=32, patch_size=4),
    # head256 plus a 32-channel detail branch at 128 px (engine/network/unet.py): the 4x4 stem alone squeezes
    # each 4x4 patch (48 values) through 32 channels and loses fine detail even on a clean face (measured: v6 on
    # undegraded eval faces, identity 0.196, PSNR 30.0; the training degradation's scale was the larger cause, see
    # TRAINING.md, v7). head256 weights carry over exactly (transfer.py)
    "head256d": UNetConfig(image_size=256, base_channels=32, channel_mult=(1, 2, 4, 4), num_res_blocks=1,
                           attention_resolutions=(8,), head_channels=32, patch_size=4, detail_channels=32),
    # head256d plus two wide blocks (128 hidden channels) on the 64 px top grid before the head: more capacity
    # where each 4x4 patch's detail is drawn, for 1.2 GFLOPs more per step; head256d weights carry over exactly
    "head256w": UNetConfig(image_size=256, base_channels=32, channel_mult=(1, 2, 4, 4), num_res_blocks=1,
                           attention_resolutions=(8,), head_channels=32, patch_size=4, detail_channels=32,
                           top_blocks=2, top_width=128),
    # the device kit's default (docs/DEVICE.md): 23 M parameters behind a 2x2 pixel-unshuffle stem, 15.5 GFLOPs
    # per forward pass, a third of "base", so a 9-minute GPU run can see over a million images
    "gpu": UNetConfig(image_size=128, base_channels=64, channel_mult=(1, 2, 3, 4), num_res_blocks=2,
                      attention_resolutions=(16, 8), head_channels=32, patch_size=2),
    # the GPU prototype's size (GPU-NOTES.md): about 19 M parameters at 128 px, 52 GFLOPs per forward pass
    "base": UNetConfig(image_size=128, base_channels=64, channel_mult=(1, 2, 2, 4), num_res_blocks=2,
                       attention_resolutions=(16,), head_channels=32),
}


def preset(name: str, *, in_channels: int, out_channels: int, **overrides) -> UNetConfig:
    try:
        base = PRESETS[name].to_dict()
    except KeyError:
        raise ValueError(f"unknown network preset {name!r}; choose one of {sorted(PRESETS)}") from None
    base.update(in_channels=in_channels, out_channels=out_channels, **overrides)
    return UNetConfig.from_dict(base)
