"""Tiled inference: exact where the context covers the network's reach, progress per tile, cancel between."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.errors import Cancelled
from engine.progress import CancelToken
from engine.upscale.tiles import run_tiled, spans, tile_regions


class StandIn(torch.nn.Module):
    """A cheap enlarging network with a known reach (one pixel per 3x3 conv): 2x nearest by default (reach 3),
    or 4x bilinear through a sigmoid (reach 2), which stands in for Real-ESRGAN's shape."""

    def __init__(self, scale: int = 2, convs: int = 3, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.scale = scale
        self.convs = torch.nn.Sequential(*[torch.nn.Conv2d(3, 3, 3, padding=1) for _ in range(convs)])

    def forward(self, x):
        if self.scale == 2:
            return F.interpolate(self.convs(x), scale_factor=2, mode="nearest")
        return torch.sigmoid(F.interpolate(self.convs(x), scale_factor=self.scale, mode="bilinear",
                                           align_corners=False))


def four_x():
    return StandIn(scale=4, convs=2, seed=1)


def test_cells_cover_the_image_once_and_regions_add_overlap_and_context():
    rows, cols = spans(100, 32, 4), spans(70, 32, 4)
    covered = np.zeros((100, 70), int)
    for r in rows:
        for c in cols:
            covered[r.cell0:r.cell1, c.cell0:c.cell1] += 1
    assert (covered == 1).all() and len(rows) * len(cols) == 12
    assert [(c.keep0, c.keep1) for c in cols] == [(0, 36), (28, 68), (60, 70)]
    regions = tile_regions(100, 70, 32, 4, 10)
    assert len(regions) == 12 and regions[0] == (0, 46, 0, 46) and regions[4] == (18, 78, 18, 70)


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


def _whole(net, image):
    with torch.inference_mode():
        return net(torch.from_numpy(image).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("tile,overlap", [(32, 8), (40, 20), (25, 3)])
def test_cross_faded_tiles_are_exact_when_the_context_covers_the_reach(tile, overlap):
    # the fade weights sum to one at every pixel, including a last cell narrower than the overlap band
    net = four_x().eval()
    image = np.random.default_rng(2).random((70, 83, 3)).astype(np.float32)
    whole = _whole(net, image)
    tiled = run_tiled(image, net, 4, tile=tile, overlap=overlap, context=4)
    assert tiled.shape == whole.shape
    assert np.abs(tiled - whole).max() < 1e-5


def test_cross_fading_softens_seams_that_context_cannot_remove():
    net = four_x().eval()
    image = np.random.default_rng(3).random((64, 64, 3)).astype(np.float32)
    whole = _whole(net, image)
    hard = run_tiled(image, net, 4, tile=32, overlap=0, context=0)
    faded = run_tiled(image, net, 4, tile=32, overlap=8, context=0)
    # the largest jump across the seam row (128) relative to the untiled output
    seam = lambda a: np.abs(np.diff(a[124:132], axis=0) - np.diff(whole[124:132], axis=0)).max()  # noqa: E731
    assert seam(faded) < seam(hard) / 2


def test_factor_two_from_a_4x_network_matches_area_averaging_the_whole_output():
    import cv2

    net = four_x().eval()
    image = np.random.default_rng(4).random((48, 56, 3)).astype(np.float32)
    whole = _whole(net, image)
    expected = cv2.resize(whole, (112, 96), interpolation=cv2.INTER_AREA)
    tiled = run_tiled(image, net, 4, factor=2, tile=20, overlap=4, context=4)
    assert tiled.shape == (96, 112, 3)
    assert np.abs(tiled - expected).max() < 1e-5
    with pytest.raises(ValueError):
        run_tiled(image, net, 4, factor=3)


@pytest.mark.parametrize("dtype,peak", [(np.uint8, 255), (np.uint16, 65535)])
def test_integer_photos_come_back_in_their_own_dtype(dtype, peak):
    net = four_x().eval()
    image = (np.random.default_rng(5).random((40, 40, 3)) * peak).astype(dtype)
    whole = _whole(net, image.astype(np.float32) / peak)
    tiled = run_tiled(image, net, 4, tile=16, overlap=4, context=4)
    assert tiled.dtype == dtype
    assert np.abs(tiled.astype(np.float64) - np.round(whole * peak)).max() <= 1
