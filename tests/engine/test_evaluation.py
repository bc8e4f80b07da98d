import numpy as np
import pytest

from engine.evaluation.metrics import psnr, ssim

from .helpers import face_like


def test_psnr_known_values():
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a.copy()
    b[..., 0] += 10  # MSE = 100/3
    assert psnr(a, a) == float("inf")
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / (100 / 3)), abs=1e-9)


def test_ssim_properties():
    img = face_like(64)
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-9)
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 25, img.shape), 0, 255).astype(np.uint8)
    assert 0 < ssim(img, noisy) < 0.9
    assert ssim(img, noisy) < ssim(img, np.clip(img.astype(int) + 5, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def lpips_metric():
    pytest.importorskip("lpips")
    from engine.evaluation.metrics import LPIPS

    return LPIPS()


def test_lpips_identical_zero_and_monotone(lpips_metric):
    img = face_like(64)
    rng = np.random.default_rng(0)
    small = np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)
    big = np.clip(img + rng.normal(0, 40, img.shape), 0, 255).astype(np.uint8)
    d = lpips_metric([img, small, big], [img, img, img])
    assert d[0] == pytest.approx(0.0, abs=1e-6)
    assert 0 < d[1] < d[2]


@pytest.mark.parametrize("metric", ["dists", "lpips-vgg"])
def test_vgg_metrics_identical_zero_and_monotone(metric):
    """DISTS and LPIPS-VGG share the offline VGG16; both rank a mild and a strong blur correctly."""
    pytest.importorskip("lpips")
    import cv2

    if metric == "dists":
        pytest.importorskip("DISTS_pytorch")
        from engine.evaluation.metrics import DISTS

        score = DISTS()
    else:
        import torch

        from engine.evaluation.backbones import load_lpips
        from engine.tensors import to_tensor

        net = load_lpips(torch.device("cpu"), net="vgg")
        assert not any(p.requires_grad for p in net.parameters())
        score = lambda a, b: net(to_tensor(a), to_tensor(b)).flatten().tolist()  # noqa: E731
    img = np.ascontiguousarray(np.concatenate([face_like(64, 0), face_like(64, 1)], axis=1)[:, :64])
    img[::8] = 255  # fine structure that blur removes
    mild, strong = cv2.GaussianBlur(img, (0, 0), 1.0), cv2.GaussianBlur(img, (0, 0), 3.0)
    d = score([img, mild, strong], [img, img, img])
    assert d[0] == pytest.approx(0.0, abs=1e-4)
    assert 0 < d[1] < d[2]


def test_identity_distance_known_pairs():
    pytest.importorskip("dlib")
    from tests.conftest import shared_data

    from engine.evaluation.metrics import IdentityDistance
    from engine.training.data import load_faces

    faces = load_faces(shared_data("utkface-aligned-200/eval"), 128, 6)
    ident = IdentityDistance()
    same = ident([faces[0]], [faces[0]])[0]
    flipped = ident([faces[0]], [np.ascontiguousarray(faces[0][:, ::-1])])[0]
    others = ident(list(faces[1:]), [faces[0]] * 5)
    assert same == pytest.approx(0.0, abs=1e-6)
    assert flipped < 0.45  # the same person, mirrored
    assert np.mean(others) > flipped  # different people are further apart


def test_eval_on_generated_faces_complete_table(tmp_path):
    pytest.importorskip("lpips")
    from PIL import Image

    from engine.evaluation.run import EvalConfig, evaluate, markdown_table
    from engine.io.checkpoints import save_checkpoint

    from .helpers import tiny_model, tiny_spec

    folder = tmp_path / "hq"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(face_like(32, i)).save(folder / f"{i}.png")
    spec = tiny_spec()
    model = save_checkpoint(tmp_path / "m.safetensors", tiny_model(spec), spec)
    result = evaluate(EvalConfig(hq=str(folder), model=str(model), steps=(1, 2), identity=False, device="cpu"))
    names = [r["name"] for r in result["rows"]]
    assert names == ["degraded input", "i2sb 1 step", "i2sb 2 steps"]
    assert all(np.isfinite(r[k]) for r in result["rows"] for k in ("psnr", "ssim", "lpips", "dists"))
    table = markdown_table(result)
    assert table.count("\n|") >= 4 and "LPIPS" in table and "DISTS" in table
