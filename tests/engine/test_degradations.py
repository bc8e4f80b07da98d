import numpy as np
import pytest

from engine import degradations as d

from .helpers import face_like


def test_deterministic_per_seed_and_index():
    img = face_like(64)
    a = d.degrade_for_eval(img, "moderate", seed=0, index=3)
    b = d.degrade_for_eval(img, "moderate", seed=0, index=3)
    c = d.degrade_for_eval(img, "moderate", seed=1, index=3)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).max() > 0
    assert a.shape == img.shape and a.dtype == np.uint8


@pytest.mark.parametrize("level", sorted(d.LEVELS))
def test_params_within_ranges(level):
    r = d.LEVELS[level]
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = d.sample_params(r, rng)
        assert r.blur_sigma[0] <= p.sigma_x <= r.blur_sigma[1]
        assert r.downscale[0] <= p.downscale <= r.downscale[1]
        assert r.noise[0] <= p.noise <= r.noise[1]
        assert r.jpeg[0] <= p.jpeg <= r.jpeg[1]


def test_levels_get_harder():
    img = face_like(64)
    err = {lv: np.mean([np.abs(d.degrade_for_eval(img, lv, seed=0, index=i).astype(float) - img).mean()
                        for i in range(10)]) for lv in ("mild", "moderate", "severe")}
    assert err["mild"] < err["moderate"] < err["severe"]


def test_kernel_normalised_and_gray():
    k = d.gaussian_kernel(2.0, 1.0, 0.5)
    assert k.sum() == pytest.approx(1.0, abs=1e-5) and k.shape[0] % 2 == 1
    p = d.DegradationParams(1.0, 1.0, 0.0, 2.0, 0.0, 90, True, 0)
    out = d.apply(face_like(32), p)
    assert (out[..., 0] == out[..., 1]).all()
    with pytest.raises(ValueError):
        d.get_level("extreme")
