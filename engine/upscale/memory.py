"""Choosing a background upscaler's tile from the memory that is free.

Every tile also runs the overlap and context around it (docs/UPSCALE.md), so small tiles repeat much of the photo:
for x4plus at 1 MP a 256 px tile runs 3.4x the photo's pixels, a 512 px tile 1.7x, at about the same time per
processed pixel (the compact model's 34 px of context costs far less: 1.3x and 1.14x). Memory is what limits the
tile: the network's working memory grows with the tile's region, dominated by its 64-channel feature maps at 4x
resolution. So the tile is the largest that fits in a share of the free memory, chosen once per device and model
for the process (the estimate shown before a run and the run itself use the same tile), and stepped down if it runs
out of memory after all."""

from __future__ import annotations

from typing import Optional

import torch

from .catalog import DEFAULT, BackgroundModel, background_model
from .tiles import DEFAULT_TILE

# working memory per region pixel: BackgroundModel.working_bytes_per_pixel (engine/upscale/catalog.py)
AUTO_TILES = (128, 256, 384, 512, 768, 1024)
MEMORY_SHARE = 0.5  # of the free memory: the photo, its output and the rest of the app need the remainder

_chosen: dict[str, int] = {}


def _model(model: BackgroundModel | str) -> BackgroundModel:
    return background_model(model) if isinstance(model, str) else model


def region_side(tile: int, model: BackgroundModel | str = DEFAULT) -> int:
    """Side of the input a tile of this size runs on, at most (an interior tile)."""
    m = _model(model)
    return tile + 2 * (min(m.overlap, tile // 2) + m.context + m.prepad)


def working_memory(tile: int, device_type: str = "cpu", model: BackgroundModel | str = DEFAULT) -> int:
    """Bytes the network holds while it runs one tile of this size (an interior tile)."""
    m = _model(model)
    return region_side(tile, m) ** 2 * m.working_bytes_per_pixel(device_type)


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


def tile_for_memory(free: Optional[int], device_type: str = "cpu", share: float = MEMORY_SHARE,
                    model: BackgroundModel | str = DEFAULT) -> int:
    """The largest tile whose working memory fits in `share` of `free` bytes; the smallest offered when none
    does, and the default when the free memory is unknown."""
    if free is None:
        return DEFAULT_TILE
    fitting = [t for t in AUTO_TILES if working_memory(t, device_type, model) <= share * free]
    return max(fitting) if fitting else AUTO_TILES[0]


def _key(device: torch.device, model: BackgroundModel) -> str:
    return f"{device.type}:{device.index or 0}:{model.name}"  # "cuda" and "cuda:0" are one device


def auto_tile(device: torch.device | str = "cpu", model: BackgroundModel | str = DEFAULT) -> int:
    """The tile for this device and model, chosen from the free memory the first time it is asked, then kept."""
    device, m = torch.device(device), _model(model)
    key = _key(device, m)
    if key not in _chosen:
        _chosen[key] = tile_for_memory(free_memory(device), device.type, model=m)
    return _chosen[key]


def resolve_tile(tile: int, device: torch.device | str = "cpu", model: BackgroundModel | str = DEFAULT) -> int:
    """tile 0 means automatic."""
    return tile or auto_tile(device, model)


def smaller_tile(tile: int) -> Optional[int]:
    """The next automatic tile below this one, or None at the smallest."""
    below = [t for t in AUTO_TILES if t < tile]
    return max(below) if below else None


def lower_auto_tile(device: torch.device | str, tile: int, model: BackgroundModel | str = DEFAULT) -> None:
    """An automatic tile ran out of memory: use `tile` on this device for this model from now on."""
    _chosen[_key(torch.device(device), _model(model))] = tile


def is_out_of_memory(exc: BaseException) -> bool:
    """An allocation failed (CUDA's own error, or the CPU allocator's RuntimeError), as opposed to a bug."""
    if isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text
                                              or "not enough memory" in text)
