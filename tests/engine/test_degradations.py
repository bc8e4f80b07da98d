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


def test_mixed_range_runs_half_its_chains_at_twice_the_size():
    import cv2
    from dataclasses import replace

    wide = [d.sample_params(d.train_ranges("wide"), np.random.default_rng(i)) for i in range(200)]
    mixed = [d.sample_params(d.train_ranges("mixed"), np.random.default_rng(i)) for i in range(200)]
    assert all(p.work_scale == 1 for p in wide)
    # drawn after everything else: a mixed sample is the wide one, sometimes at twice the size
    assert all(replace(m, work_scale=1) == w for m, w in zip(mixed, wide))
    assert 70 < sum(p.work_scale == 2 for p in mixed) < 130

    img = face_like(64, seed=3)
    p = replace(d.sample_params(d.get_level("celeba-test"), np.random.default_rng(5)), sigma_x=3.0, sigma_y=3.0,
                downscale=4.0, noise=8.0, jpeg=70)
    big = cv2.resize(img, (128, 128), interpolation=cv2.INTER_CUBIC)
    by_hand = cv2.resize(d.apply(big, p), (64, 64), interpolation=cv2.INTER_AREA)
    assert np.array_equal(d.apply(img, replace(p, work_scale=2)), by_hand)

    def error(x):
        return float(np.abs(x.astype(np.float32) - img.astype(np.float32)).mean())

    # the same damage done at twice the size is milder once brought to the crop's size
    assert error(d.apply(img, replace(p, work_scale=2))) < 0.8 * error(d.apply(img, p))
