"""A background upscaler: a converted Real-ESRGAN network (RRDBNet x4plus or the compact SRVGGNet), loaded from
safetensors and run tile by tile, with the tiling its catalog entry gives (engine/upscale/catalog.py).

Loading follows the restoration model's rules: only a .safetensors file with our metadata (no pickles), its
configuration from that metadata, every tensor matching the architecture. 2x is the 4x network followed by
an area downscale of each tile's output (Real-ESRGAN's own --outscale resizes the same way, once).

Progress moves inside a tile too: a forward hook on every convolution reports the share of the tile's
convolutions done (one 1024 px tile of the compact model is a whole photo's single pass).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ModelError
from ..progress import CancelToken, ProgressCallback
from .catalog import for_arch
from .ncnn_convert import build_rrdbnet
from .tiles import DEFAULT_TILE, run_tiled, tile_regions

FORMAT = "facebridge-upscaler"


class Upscaler:
    def __init__(self, path: Path, device: torch.device | str = "cpu"):
        from safetensors import safe_open

        path = Path(path)
        self.path = path
        if not path.is_file():
            raise ModelError(path, "upscaler weights not found")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k).float() for k in f.keys()}  # fp16-stored weights run in fp32
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own types for damaged files
            raise ModelError(path, f"not a readable .safetensors file ({exc})") from exc
        if meta.get("format") != FORMAT:
            raise ModelError(path, f"not a FaceBridge upscaler (format {meta.get('format')!r})")
        self.config = json.loads(meta["config"])
        self.prepad = int(meta.get("prepad", "0"))
        self.scale = int(self.config["scale"])
        self.model = for_arch(self.config.get("arch", ""))  # its tiling and memory figures
        self.overlap, self.context = self.model.overlap, self.model.context
        self.device = torch.device(device)
        net = build_rrdbnet(self.config)
        expected = net.state_dict()
        if set(expected) != set(tensors) or any(expected[k].shape != tensors[k].shape for k in expected):
            raise ModelError(path, "upscaler weights do not match its configuration")
        net.load_state_dict(tensors)
        # fp16 on a GPU, as Real-ESRGAN's own inference runs there (it changes the fp32 output by ~53 dB PSNR,
        # docs/UPSCALE.md); fp32 on the CPU, where half precision is slower
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        # channels_last on the CPU: 1.27x faster on a 256 px tile, output identical (docs/BENCHMARKS.md)
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.net = net.to(self.device, self.dtype, memory_format=self.memory_format).eval()
        self._convs = [m for m in self.net.modules() if isinstance(m, torch.nn.Conv2d)]
        self._part = None  # during a tile: reports the share of its convolutions done
        for i, conv in enumerate(self._convs):
            conv.register_forward_hook(self._conv_done_hook((i + 1) / len(self._convs)))

    def _conv_done_hook(self, share: float):
        def hook(_module, _inputs, _output) -> None:  # returns None: the output stays as it is
            if self._part is not None:
                self._part(share)
        return hook

    @property
    def title(self) -> str:
        return self.model.title

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """One tile, padded as the original release pads it (reflect), the padding cropped off again."""
        p, s = self.prepad, self.scale
        x = x.to(self.dtype).contiguous(memory_format=self.memory_format)
        if p:
            mode = "reflect" if min(x.shape[-2:]) > p else "replicate"  # reflect needs more pixels than the pad
            y = self.net(F.pad(x, (p, p, p, p), mode=mode))
            return y[:, :, p * s:-p * s, p * s:-p * s].float().clamp(0, 1)
        return self.net(x).float().clamp(0, 1)

    def processed_pixels(self, height: int, width: int, tile: int = DEFAULT_TILE) -> int:
        """Input pixels the network runs on for a photo of this size: every tile's region, padding included.
        Time is proportional to it (the network is convolutions at a fixed width)."""
        return processed_pixels(height, width, tile, self.overlap, self.context, self.prepad)

    def measure_rate(self, side: int = 0) -> float:
        """Seconds per processed pixel on this device, from one warm run on a side x side region (default: the
        model's probe size)."""
        side = side or self.model.probe_side
        x = torch.rand(1, 3, side, side, device=self.device)
        with torch.inference_mode():
            self._run(x[..., :16, :16])  # warm-up (allocator, kernels)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            self._run(x)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
        return (time.perf_counter() - t) / (side + 2 * self.prepad) ** 2

    def upscale(self, image: np.ndarray, factor: int, *, tile: int = DEFAULT_TILE, overlap: Optional[int] = None,
                context: Optional[int] = None, callback: Optional[ProgressCallback] = None,
                cancel: Optional[CancelToken] = None) -> np.ndarray:
        """RGB uint8 or uint16 (H, W, 3) -> (H*factor, W*factor, 3) of the same dtype; factor 2 or 4. overlap and
        context default to the model's own (a study may vary them)."""
        if factor not in (2, 4) or self.scale % factor:
            raise ValueError(f"upscale factor must be 2 or {self.scale}, got {factor}")
        overlap = self.overlap if overlap is None else overlap
        context = self.context if context is None else context

        def run(x: torch.Tensor, part) -> torch.Tensor:
            self._part = part
            try:
                return self._run(x)
            finally:
                self._part = None

        return run_tiled(image, run, self.scale, factor=factor, tile=tile, overlap=min(overlap, tile // 2),
                         context=context, device=self.device, callback=callback, cancel=cancel, reports_parts=True)


def processed_pixels(height: int, width: int, tile: int, overlap: int, context: int, prepad: int) -> int:
    overlap = min(overlap, tile // 2)  # as Upscaler.upscale runs small tiles
    return sum((y1 - y0 + 2 * prepad) * (x1 - x0 + 2 * prepad)
               for y0, y1, x0, x1 in tile_regions(height, width, tile, overlap, context))


def macs_per_pixel(net: torch.nn.Module) -> float:
    """Multiply-adds per input pixel. RRDBNet: convolutions after the nearest 2x resizes run on 4 (then 16) pixels
    per input pixel; Real-ESRGAN x4plus: 17.9 M, i.e. ~36 MFLOPs per input pixel. SRVGGNetCompact runs all of
    them at the input resolution: 1.2 M."""
    from .srvgg import SRVGGNetCompact, macs_per_pixel as srvgg_macs

    if isinstance(net, SRVGGNetCompact):
        return srvgg_macs(net)
    total, area = 0.0, 1
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            if name.startswith("ups."):
                area *= 4
            elif name == "conv_hr":
                pass
            k = m.kernel_size[0] * m.kernel_size[1]
            total += k * m.in_channels * m.out_channels * area
    return total
