"""The background upscaler: a converted Real-ESRGAN RRDBNet, loaded from safetensors and run tile by tile.

Loading follows the restoration model's rules: only a .safetensors file with our metadata (no pickles), its
configuration from that metadata, every tensor matching the architecture. 2x is the 4x network followed by
an area downscale of each tile's output (Real-ESRGAN's own --outscale resizes the same way, once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ModelError
from ..progress import CancelToken, ProgressCallback
from .ncnn_convert import build_rrdbnet
from .tiles import run_tiled

FORMAT = "facebridge-upscaler"
# tiling defaults, chosen by measurement (docs/UPSCALE.md): input pixels per tile cell, the cross-faded band
# on each side of a seam, and the photo context beyond it that each tile sees but does not keep
DEFAULT_TILE = 256
DEFAULT_OVERLAP = 16
DEFAULT_CONTEXT = 32


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
        self.device = torch.device(device)
        net = build_rrdbnet(self.config)
        expected = net.state_dict()
        if set(expected) != set(tensors) or any(expected[k].shape != tensors[k].shape for k in expected):
            raise ModelError(path, "upscaler weights do not match its configuration")
        net.load_state_dict(tensors)
        self.net = net.to(self.device).eval()

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """One tile, padded as the original release pads it (reflect), the padding cropped off again."""
        p, s = self.prepad, self.scale
        if p:
            mode = "reflect" if min(x.shape[-2:]) > p else "replicate"  # reflect needs more pixels than the pad
            y = self.net(F.pad(x, (p, p, p, p), mode=mode))
            return y[:, :, p * s:-p * s, p * s:-p * s].clamp(0, 1)
        return self.net(x).clamp(0, 1)

    def upscale(self, image: np.ndarray, factor: int, *, tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP,
                context: int = DEFAULT_CONTEXT, callback: Optional[ProgressCallback] = None,
                cancel: Optional[CancelToken] = None) -> np.ndarray:
        """RGB uint8 or uint16 (H, W, 3) -> (H*factor, W*factor, 3) of the same dtype; factor 2 or 4."""
        if factor not in (2, 4) or self.scale % factor:
            raise ValueError(f"upscale factor must be 2 or {self.scale}, got {factor}")
        return run_tiled(image, self._run, self.scale, factor=factor, tile=tile, overlap=overlap, context=context,
                         device=self.device, callback=callback, cancel=cancel)
