"""Tiled inference: exact where the context covers the network's reach, progress per tile, cancel between."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.errors import Cancelled
from engine.progress import CancelToken
from engine.upscale.tiles import run_tiled, tile_grid, tiles_for


class StandIn(torch.nn.Module):
    """A cheap 2x network with a known reach: 3 3x3 convs (radius 3 px) then nearest 2x."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.convs = torch.nn.Sequential(*[torch.nn.Conv2d(3, 3, 3, padding=1) for _ in range(3)])

    def forward(self, x):
        return F.interpolate(self.convs(x), scale_factor=2, mode="nearest")


def test_grid_covers_the_image_once():
    cores = tile_grid(100, 70, 32)
    covered = np.zeros((100, 70), int)
    for y0, y1, x0, x1 in cores:
        covered[y0:y1, x0:x1] += 1
    assert (covered == 1).all() and len(cores) == tiles_for(100, 70, 32) == 12


def test_enough_context_gives_the_untiled_result_and_too_little_does_not():
    net = StandIn().eval()
    image = np.random.default_rng(0).random((70, 90, 3)).astype(np.float32)
    with torch.inference_mode():
        whole = net(torch.from_numpy(image).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    tiled = run_tiled(image, net, 2, tile=32, context=3)
    assert tiled.shape == (140, 180, 3)
    assert np.abs(tiled - whole).max() < 1e-5
    no_context = run_tiled(image, net, 2, tile=32, context=0)
    assert np.abs(no_context - whole).max() > 1e-3  # the seams the context is there to remove


def test_progress_per_tile_and_cancel_between_tiles():
    net = StandIn().eval()
    image = np.zeros((64, 64, 3), np.float32)
    seen = []
    run_tiled(image, net, 2, tile=32, callback=seen.append)
    assert [p.step for p in seen] == [1, 2, 3, 4] and all(p.total == 4 for p in seen)
    token = CancelToken()

    def cancel_after_first(p):
        token.cancel()

    with pytest.raises(Cancelled):
        run_tiled(image, net, 2, tile=32, callback=cancel_after_first, cancel=token)
    with pytest.raises(ValueError):
        run_tiled(image, net, 2, tile=0)
