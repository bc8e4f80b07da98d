"""The automatic upscaler tile: the largest whose working memory fits in half the free memory, per model."""

import pytest
import torch

from engine.pipeline import RestoreOptions, upscale_pixels
from engine.upscale import memory
from engine.upscale.memory import AUTO_TILES, tile_for_memory, working_memory


def test_the_largest_tile_that_fits_is_chosen():
    assert working_memory(512) < working_memory(768)  # grows with the tile
    # just enough free memory for 512 px tiles at half of it, not for 768
    free = 2 * working_memory(512) + 1
    assert tile_for_memory(free) == 512
    assert tile_for_memory(2 * working_memory(768)) == 768
    assert tile_for_memory(10**15) == AUTO_TILES[-1]  # capped
    assert tile_for_memory(1) == AUTO_TILES[0]  # nothing fits: the smallest offered
    assert tile_for_memory(None) == 256  # unknown: the default
    # fp16 on a GPU holds half as much per pixel, so the same memory takes a larger tile
    free_q = 2 * working_memory(512, model="quality") + 1
    assert tile_for_memory(free_q, "cuda", model="quality") > tile_for_memory(free_q, "cpu", model="quality")
    # x4plus needs far more per pixel (and more context) than the compact model
    assert working_memory(512, model="quality") > 3 * working_memory(512, model="compact")
    assert tile_for_memory(free, model="quality") < tile_for_memory(free, model="compact")


def test_free_memory_is_read_on_this_system():
    free = memory.free_memory("cpu")
    assert free is None or free > 0


def test_the_choice_is_made_once_per_device_and_explicit_tiles_are_kept(monkeypatch):
    monkeypatch.setattr(memory, "_chosen", {})
    calls = []
    monkeypatch.setattr(memory, "free_memory", lambda d: calls.append(d) or 2 * working_memory(384) + 1)
    assert memory.resolve_tile(0, "cpu") == 384
    monkeypatch.setattr(memory, "free_memory", lambda d: 10**15)  # memory freed later: the choice holds
    assert memory.resolve_tile(0, torch.device("cpu")) == 384 and len(calls) == 1
    assert memory.resolve_tile(200, "cpu") == 200
    # x4plus makes its own choice, from its own memory figure
    monkeypatch.setattr(memory, "free_memory", lambda d: 2 * working_memory(384) + 1)
    assert memory.resolve_tile(0, "cpu", "quality") < 384 and memory.resolve_tile(0, "cpu") == 384


def test_the_estimate_counts_the_pixels_of_the_tile_a_run_will_use(monkeypatch):
    monkeypatch.setattr(memory, "_chosen", {"cpu:0:compact": 512})
    auto = upscale_pixels(1000, 1000, RestoreOptions(upscale=2))
    explicit = upscale_pixels(1000, 1000, RestoreOptions(upscale=2, tile=512))
    small = upscale_pixels(1000, 1000, RestoreOptions(upscale=2, tile=256))
    assert auto == explicit and small > 1.2 * auto  # large tiles repeat less context
    # x4plus's 128 px of overlap and context make small tiles far more costly than the compact model's 34
    quality = [upscale_pixels(1000, 1000, RestoreOptions(upscale=2, tile=t, background="quality")) for t in (512, 256)]
    assert quality[0] > auto and quality[1] > 1.5 * quality[0]
    assert RestoreOptions().tile == 0
    with pytest.raises(Exception, match="tile"):
        RestoreOptions(upscale=2, tile=16)
