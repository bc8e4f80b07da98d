"""End to end with the shipped model and real photos (skipped cleanly without them)."""

import numpy as np
import pytest

from engine.cli.paths import default_model_path
from engine.faces.align import align_face
from engine.faces.paste import blend_mask
from engine.io.images import read_image
from tests.conftest import shared_data

import cv2

# faces per photo as listed in shared/data/real-degraded-whole/README.md
EXPECTED = {"gfpgan_00.jpg": 2, "gfpgan_Blake_Lively.jpg": 2, "codeformer_00.jpg": 4, "codeformer_01.jpg": 4,
            "codeformer_02.png": 4, "codeformer_03.jpg": 1, "codeformer_05.jpg": 1, "bopb_old_a.png": 1,
            "bopb_old_b.png": 1, "bopb_old_c.png": 1, "bopb_scratch_a.png": 1, "bopb_scratch_b.png": 1,
            "gpen_Solvay_conference_1927.png": 29}


@pytest.fixture(scope="module")
def session():
    if not default_model_path().exists():
        pytest.skip("the shipped model is not present")
    from engine.session import open_session

    return open_session(device="cpu", detector="mtcnn")


def seam_score(before: np.ndarray, after: np.ndarray, face, template) -> float:
    """How much sharper the change image (after - before) is across the mask's transition band than
    inside the face: 99th-percentile gradient in the band over that in the interior.

    A visible seam is a step in the change image exactly where the mask falls off, so it raises the
    band's gradient above what restoration itself changes inside the face. The band is the face-shaped
    mask's (paste_faces with the model's template: the face oval of a tight crop, the soft-edged square of a
    whole-head one)."""
    mask = cv2.warpAffine(blend_mask(template, template.size), face.inverse, (before.shape[1], before.shape[0]))
    band, inner = (mask > 0.02) & (mask < 0.98), mask >= 0.98
    diff = after.astype(np.float32).mean(axis=2) - before.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(diff)
    grad = np.hypot(gx, gy)
    if not band.any() or not inner.any():
        return 0.0
    return float(np.percentile(grad[band], 99) / max(1.0, np.percentile(grad[inner], 99)))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["codeformer_01.jpg", "bopb_old_a.png", "gfpgan_Blake_Lively.jpg",
                                  "gpen_Solvay_conference_1927.png"])
def test_real_photo_restored_in_place(session, name):
    path = shared_data("real-degraded-whole") / name
    photo = read_image(path)
    result = session.restore_photo(photo)
    out = result.photo.pixels
    assert len(result.faces) >= EXPECTED[name] - 1  # within one of the dataset's MTCNN count
    assert out.shape == photo.pixels.shape and out.dtype == photo.pixels.dtype
    assert (result.photo.alpha is None) == (photo.alpha is None)
    # pixels far from every face are untouched
    far = np.ones(out.shape[:2], bool)
    for f in result.faces:
        x1, y1, x2, y2 = f.face.box
        w, h = x2 - x1, y2 - y1
        far[max(0, int(y1 - h)):int(y2 + h), max(0, int(x1 - w)):int(x2 + w)] = False
    assert np.array_equal(out[far], photo.pixels[far])
    # no seam along any face's blend border (the model's own mask): with v5's face oval on these four photos at
    # the default 8 steps, per-face scores 0.39-1.08 and per-photo means 0.58-0.69; a seam would stand well above 1
    template = session.restorer.spec.template
    scores = [seam_score(photo.pixels, out, align_face(photo.pixels, f.face.landmarks, template), template)
              for f in result.faces]
    assert max(scores) < 1.25 and np.mean(scores) < 0.85, scores


@pytest.mark.slow
def test_face_counts_on_all_real_photos(session):
    folder = shared_data("real-degraded-whole")
    for name, expected in EXPECTED.items():
        faces = session.detect(read_image(folder / name), __import__("engine.pipeline").pipeline.RestoreOptions())
        assert abs(len(faces) - expected) <= max(1, expected // 10), (name, len(faces), expected)


@pytest.mark.slow
def test_black_and_white_photo_stays_gray(session):
    photo = read_image(shared_data("real-degraded-whole") / "bopb_old_b.png")
    gray = np.repeat(photo.pixels.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    from dataclasses import replace

    out = session.restore_photo(replace(photo, pixels=gray)).photo.pixels
    assert np.abs(out[..., 0].astype(int) - out[..., 1]).max() <= 1


@pytest.mark.slow
def test_aligned_real_faces_improve_sharpness(session):
    """On real LQ aligned faces (no ground truth), restoration adds detail: Laplacian variance rises."""
    from engine.pipeline import RestoreOptions

    folder = shared_data("real-lq-aligned-512")
    files = sorted(folder.glob("*.png"))[:4]
    for path in files:
        photo = read_image(path)
        crop = photo.pixels[146:470, 95:420]  # the UTKFace-like part of an FFHQ-aligned crop (DATA.md A1)
        from engine.io.images import Photo

        out = session.restore_photo(Photo(np.ascontiguousarray(crop)), RestoreOptions(aligned=True)).photo.pixels
        assert out.shape == crop.shape
        sharp = lambda a: cv2.Laplacian(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()  # noqa: E731
        assert sharp(out) > 0.8 * sharp(crop)
