"""Choosing Real-ESRGAN's tile from the memory that is free.

Every tile also runs the overlap and context around it (docs/UPSCALE.md), so small tiles repeat much of the
photo: at 1 MP a 256 px tile runs 3.4x the photo's pixels, a 512 px tile 1.7x, at about the same time per
processed pixel. Memory is what limits the tile: the network's working memory grows with the tile's region,
dominated by its 64-channel feature maps at 4x resolution. So the tile is the largest that fits in a share of
the free memory, chosen once per device for the process (the estimate shown before a run and the run itself
use the same tile), and stepped down if it runs out of memory after all."""

from __future__ import annotations

from typing import Optional

import torch

from .ncnn_convert import PREPAD
from .tiles import DEFAULT_CONTEXT, DEFAULT_OVERLAP, DEFAULT_TILE

# Working memory per input pixel of a tile's region (prepad included), on the CPU in fp32, channels_last: measured
# 11,860 bytes for 788 px regions (a 1 MP photo at tile 512: 7,363 MB) and 9,150 for one 276 px region
# (docs/BENCHMARKS.md); rounded up. fp16 on a GPU should hold half (not yet measured there).
WORKING_BYTES_PER_PIXEL = {"cpu": 12_000, "cuda": 6_000}
AUTO_TILES = (128, 256, 384, 512, 768, 1024)
MEMORY_SHARE = 0.5  # of the free memory: the photo, its output and the rest of the app need the remainder

_chosen: dict[str, int] = {}


def region_side(tile: int) -> int:
    """Side of the input a tile of this size runs on, at most (an interior tile)."""
    return tile + 2 * (DEFAULT_OVERLAP + DEFAULT_CONTEXT + PREPAD)


def working_memory(tile: int, device_type: str = "cpu") -> int:
    """Bytes the network holds while it runs one tile of this size (an interior tile)."""
    per_pixel = WORKING_BYTES_PER_PIXEL.get(device_type, WORKING_BYTES_PER_PIXEL["cpu"])
    return region_side(tile) ** 2 * per_pixel


def free_memory(device: torch.device | str = "cpu") -> Optional[int]:
    """Bytes free for a new allocation on the device, or None when the system does not say."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:  # Linux
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil  # elsewhere (macOS, Windows), where it is installed

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - no psutil, or it cannot read this system
        return None


def tile_for_memory(free: Optional[int], device_type: str = "cpu", share: float = MEMORY_SHARE) -> int:
    """The largest tile whose working memory fits in `share` of `free` bytes; the smallest offered when none
    does, and the default when the free memory is unknown."""
    if free is None:
        return DEFAULT_TILE
    fitting = [t for t in AUTO_TILES if working_memory(t, device_type) <= share * free]
    return max(fitting) if fitting else AUTO_TILES[0]


def _key(device: torch.device) -> str:
    return f"{device.type}:{device.index or 0}"  # "cuda" and "cuda:0" are one device


def auto_tile(device: torch.device | str = "cpu") -> int:
    """The tile for this device, chosen from its free memory the first time it is asked, then kept."""
    device = torch.device(device)
    key = _key(device)
    if key not in _chosen:
        _chosen[key] = tile_for_memory(free_memory(device), device.type)
    return _chosen[key]


def resolve_tile(tile: int, device: torch.device | str = "cpu") -> int:
    """tile 0 means automatic."""
    return tile or auto_tile(device)


def smaller_tile(tile: int) -> Optional[int]:
    """The next automatic tile below this one, or None at the smallest."""
    below = [t for t in AUTO_TILES if t < tile]
    return max(below) if below else None


def lower_auto_tile(device: torch.device | str, tile: int) -> None:
    """An automatic tile ran out of memory: use `tile` on this device from now on."""
    _chosen[_key(torch.device(device))] = tile


def is_out_of_memory(exc: BaseException) -> bool:
    """An allocation failed (CUDA's own error, or the CPU allocator's RuntimeError), as opposed to a bug."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "not enough memory" in text)
