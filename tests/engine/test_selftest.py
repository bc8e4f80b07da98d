"""The installation self-test: passes on this checkout, and each check can fail."""

import numpy as np
import pytest

from engine.cli.paths import default_model_path
from engine.selftest import _footprint, run_self_test

pytestmark = pytest.mark.skipif(not default_model_path().exists(), reason="the shipped model is not present")


def test_self_test_passes_on_this_checkout():
    lines = []
    report = run_self_test(device="cpu", echo=lines.append)
    assert report.ok, report.failure
    assert {"load", "decode", "detect_align", "restore", "paste", "encode", "upscale compact"} <= set(report.timings)
    assert lines[-1].startswith("self-test passed")


def test_missing_model_is_reported(tmp_path):
    report = run_self_test(model=str(tmp_path / "nope.safetensors"), echo=lambda _: None)
    assert not report.ok and "model is missing" in report.failure


def test_a_photo_without_faces_fails(tmp_path):
    from engine.io.images import Photo, write_image

    blank = tmp_path / "blank.png"
    write_image(blank, Photo(np.full((200, 200, 3), 128, np.uint8)))
    report = run_self_test(sample=str(blank), echo=lambda _: None)
    assert not report.ok and "no face" in report.failure


def test_changes_away_from_the_faces_are_caught(monkeypatch):
    from engine.pipeline import PhotoRestorer

    finish = PhotoRestorer.finish

    def leaky_finish(self, prep, restored, options):
        result = finish(self, prep, restored, options)
        result.photo.pixels[-1, -1] ^= 255  # one corner pixel, far from any face
        return result

    monkeypatch.setattr(PhotoRestorer, "finish", leaky_finish)
    report = run_self_test(echo=lambda _: None)
    assert not report.ok and "changed away from the faces" in report.failure


def test_footprint_covers_the_pasted_crop():
    inverse = np.array([[2.0, 0, 10], [0, 2.0, 20]])  # a 16 px crop pasted at 2x, offset (10, 20)
    mask = _footprint((100, 100, 3), [inverse], 16, margin=0)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (10, 41, 20, 51)
