"""The batched tensor degradation draws and applies the same degradation model as the per-sample path."""

import cv2
import numpy as np
import pytest
import torch

from engine import degradations as D
from engine.training import batched_degradation as B
from engine.training.data import BatchedPairSampler, PairSampler
from engine.training.jpeg import jpeg_roundtrip, quant_tables

from .helpers import face_like


def psnr(a, b) -> float:
    mse = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def faces(n=12, size=64):
    return np.stack([face_like(size, i) for i in range(n)])


def test_parameter_statistics_match_the_per_sample_draws():
    n = 20000
    rng = np.random.default_rng(0)
    ref = [D.sample_params(D.TRAIN, rng) for _ in range(n)]
    p = B.sample_params(D.TRAIN, n, torch.Generator().manual_seed(0))
    pairs = {"sigma_x": p.sigma_x, "sigma_y": p.sigma_y, "theta": p.theta, "downscale": p.downscale,
             "noise": p.noise, "jpeg": p.jpeg.float(), "gray": p.gray.float()}
    for name, ours in pairs.items():
        theirs = np.array([float(getattr(r, name)) for r in ref])
        ours = ours.double().numpy()
        width = theirs.max() - theirs.min()
        # the same quantiles (a two-sample check of the whole distribution), within 2 % of the range
        for q in (0.05, 0.25, 0.5, 0.75, 0.95):
            a, b = np.quantile(theirs, q), np.quantile(ours, q)
            assert abs(a - b) <= 0.02 * width, (name, q, a, b)
        assert abs(theirs.std() - ours.std()) <= 0.02 * width, name
        assert theirs.min() - 0.01 * width <= ours.min() and ours.max() <= theirs.max() + 0.01 * width, name
    # anisotropic share, and the flip coin
    assert abs((p.sigma_x != p.sigma_y).float().mean().item() - D.TRAIN.aniso_prob) < 0.02
    assert abs(p.flip.float().mean().item() - 0.5) < 0.02
    assert p.jpeg.min() >= D.TRAIN.jpeg[0] and p.jpeg.max() < D.TRAIN.jpeg[1]


@pytest.mark.parametrize("quality", [30, 60, 90])
def test_tensor_jpeg_matches_libjpeg(quality):
    imgs = faces(4, 64)
    ref = np.stack([cv2.imdecode(cv2.imencode(".jpg", im[..., ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, quality])[1],
                                 cv2.IMREAD_COLOR)[..., ::-1] for im in imgs])
    ours = jpeg_roundtrip(torch.from_numpy(imgs).permute(0, 3, 1, 2).float(), torch.full((4,), quality))
    ours = ours.permute(0, 2, 3, 1).numpy()
    assert psnr(ours, ref) > 40  # close to libjpeg's own decode
    assert abs(psnr(ours, imgs) - psnr(ref, imgs)) < 0.5  # and the same amount of loss
    assert abs(psnr(ours, imgs) - psnr(ref, imgs)) < abs(psnr(ref, imgs) - 100)  # (not trivially lossless)


def test_quant_tables_follow_ijg_scaling():
    luma, chroma = quant_tables(torch.tensor([50, 100, 1]))
    assert luma[0, 0, 0] == 16 and chroma[0, 0, 0] == 17  # quality 50 = the Annex K tables
    assert (luma[1] == 1).all()  # quality 100: all ones
    assert (luma[2] == 255).all()  # quality 1: clipped to baseline's 255


def test_batched_degradation_matches_the_per_sample_path_with_the_same_parameters():
    """Noise off, every deterministic step (blur, downscale, JPEG, upscale, gray) applied by both paths.
    JPEG of the smallest images (10-20 px) is where the two codecs' rounding differs most, so the bound
    is on the median and the mean loss; a few images may differ more."""
    imgs = faces(16, 128)
    g = torch.Generator().manual_seed(3)
    p = B.sample_params(D.TRAIN, len(imgs), g, hflip=False)
    p.noise.zero_()
    _, lq = B.degrade(torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous(), p, g, chunk=5)
    lq = lq.permute(0, 2, 3, 1).byte().numpy()
    agreement, strength_ours, strength_ref = [], [], []
    for i, img in enumerate(imgs):
        ref = D.apply(img, D.DegradationParams(float(p.sigma_x[i]), float(p.sigma_y[i]), float(p.theta[i]),
                                               float(p.downscale[i]), 0.0, int(p.jpeg[i]), bool(p.gray[i]), 0))
        agreement.append(psnr(lq[i], ref))
        strength_ours.append(psnr(lq[i], img))
        strength_ref.append(psnr(ref, img))
    assert np.median(agreement) > 40 and min(agreement) > 28, agreement
    assert abs(np.mean(strength_ours) - np.mean(strength_ref)) < 0.3


def test_noise_has_the_drawn_strength():
    """Blur and scale off: the output's deviation from the input is the noise (plus JPEG at high quality)."""
    flat = np.full((64, 32, 32, 3), 128, np.uint8)
    g = torch.Generator().manual_seed(0)
    ranges = D.DegradationRanges((0.1, 0.1), (1.0, 1.0), (10.0, 10.0), (95, 96))
    p = B.sample_params(ranges, 64, g, hflip=False)
    _, lq = B.degrade(torch.from_numpy(flat).permute(0, 3, 1, 2).contiguous(), p, g)
    rng = np.random.default_rng(0)
    ref = np.stack([D.degrade(img, ranges, rng) for img in flat])
    ours_std, ref_std = lq.float().std().item(), ref.astype(float).std()
    assert 4 < ours_std and abs(ours_std - ref_std) / ref_std < 0.15


def test_batched_sampler_is_deterministic_per_step_and_flips_clean_and_degraded_together():
    s = BatchedPairSampler(faces(10, 32), seed=1, device=torch.device("cpu"))
    hq1, lq1 = s.batch(4, 8)
    hq2, lq2 = s.batch(4, 8)
    assert torch.equal(hq1, hq2) and torch.equal(lq1, lq2)
    assert not torch.equal(s.batch(5, 8)[1], lq1)
    assert hq1.shape == lq1.shape == (8, 3, 32, 32) and hq1.min() >= -1 and hq1.max() <= 1
    # the same faces as the per-sample sampler, possibly mirrored
    per = PairSampler(faces(10, 32), seed=1)
    idx = per.indices(4, 8)
    ref = torch.from_numpy(faces(10, 32)[idx]).permute(0, 3, 1, 2).float() / 127.5 - 1
    for a, b in zip(hq1, ref):
        assert torch.allclose(a, b) or torch.allclose(a, b.flip(-1))
    # the degraded face follows its clean face's orientation: it is closer to it than to the mirror image
    for hq, lq in zip(hq1, lq1):
        assert (lq - hq).abs().mean() < (lq - hq.flip(-1)).abs().mean() or torch.allclose(hq, hq.flip(-1), atol=0.05)


def test_ddp_ranks_slice_one_global_batch():
    s = BatchedPairSampler(faces(10, 32), seed=0, device=torch.device("cpu"))
    whole_hq, _ = s.batch(2, 8)
    r0, _ = s.batch(2, 8, rank=0, world=2)
    r1, _ = s.batch(2, 8, rank=1, world=2)
    assert torch.equal(torch.cat([r0, r1]), whole_hq)
    with pytest.raises(ValueError):
        s.batch(2, 7, world=2)


def test_blur_is_the_per_sample_kernel_with_the_same_borders():
    """Random texture and strongly anisotropic, rotated kernels: orientation, truncation and the
    reflect-101 border must all match OpenCV's filter2D with degradations.gaussian_kernel."""
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 40, 48)).astype(np.float32)
    p = B.BatchParams(sigma_x=torch.tensor([0.3, 4.0, 2.0, 1.0, 3.0, 0.1]), sigma_y=torch.tensor([3.0, 0.5, 2.0, 1.0, 0.8, 0.1]),
                      theta=torch.tensor([0.7, -1.2, 0.0, 0.0, 2.5, 0.0]), downscale=torch.ones(6), noise=torch.zeros(6),
                      jpeg=torch.full((6,), 90), gray=torch.zeros(6, dtype=torch.bool), flip=torch.zeros(6, dtype=torch.bool))
    ours = B.blur(torch.from_numpy(x), B.blur_kernels(p)).numpy()
    for i in range(6):
        k = D.gaussian_kernel(float(p.sigma_x[i]), float(p.sigma_y[i]), float(p.theta[i]))
        ref = cv2.filter2D(x[i].transpose(1, 2, 0), -1, k, borderType=cv2.BORDER_REFLECT_101).transpose(2, 0, 1)
        assert np.abs(ours[i] - ref).max() < 1e-4, i
