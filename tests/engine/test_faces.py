import numpy as np
import pytest

from engine.faces.align import align_face, similarity
from engine.faces.paste import feather_mask, paste_faces
from engine.faces.types import DetectedFace, DetectOptions, select_and_order
from engine.modelspec import FFHQ_512

from .helpers import face_like

TEMPLATE = FFHQ_512.scaled(128)


def scene(h=300, w=400):
    return np.ascontiguousarray(np.tile(face_like(max(h, w), 3)[:h, :w], (1, 1, 1)))


def landmarks_at(cx, cy, scale=1.0, angle=0.0):
    pts = (np.array(TEMPLATE.points) - 64) * scale
    c, s = np.cos(angle), np.sin(angle)
    return pts @ np.array([[c, s], [-s, c]]) + [cx, cy]


def test_alignment_roundtrip_subpixel():
    lm = landmarks_at(200, 150, 0.8, 0.3)
    m = similarity(lm, TEMPLATE)
    mapped = np.c_[lm, np.ones(5)] @ m.T
    np.testing.assert_allclose(mapped, TEMPLATE.points, atol=1e-3)
    face = align_face(scene(), lm, TEMPLATE)
    back = np.c_[np.array(TEMPLATE.points), np.ones(5)] @ face.inverse.T
    np.testing.assert_allclose(back, lm, atol=1e-3)


def test_face_at_border_and_tilted():
    img = scene()
    face = align_face(img, landmarks_at(10, 20, 1.0, 0.6), TEMPLATE)  # mostly outside the image
    assert face.crop.shape == (128, 128, 3)
    out = paste_faces(img, [face], [face.crop])
    assert out.shape == img.shape


def test_identity_paste_changes_nothing_far_away_and_no_seam():
    img = scene()
    face = align_face(img, landmarks_at(200, 150, 0.9, 0.2), TEMPLATE)
    brighter = np.clip(face.crop.astype(int) + 40, 0, 255).astype(np.uint8)
    out = paste_faces(img, [face], [brighter], colour_match=False)
    diff = out.astype(float) - img
    assert np.abs(diff[:, :60]).max() == 0 and np.abs(diff[:, 340:]).max() == 0
    # feathered: the 40-level step is spread over many pixels (a hard edge would give ~40)
    grad = np.abs(np.diff(diff.mean(axis=2), axis=1)).max()
    assert grad < 8, grad
    # colour matching removes a uniform tint shift almost entirely
    matched = paste_faces(img, [face], [brighter], colour_match=True)
    assert np.abs(matched.astype(float) - img).mean() < 1.0


def test_grayscale_paste_stays_gray_and_16bit():
    gray = np.repeat(scene()[..., :1], 3, axis=2)
    face = align_face(gray, landmarks_at(200, 150), TEMPLATE)
    colourful = face_like(128, 9)
    out = paste_faces(gray, [face], [colourful], grayscale=True)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    deep = gray.astype(np.uint16) * 257
    face16 = align_face(deep, landmarks_at(200, 150), TEMPLATE)
    out16 = paste_faces(deep, [face16], [face.crop])
    assert out16.dtype == np.uint16 and np.abs(out16.astype(float) - deep).max() < 257 * 8


def test_overlapping_faces_blend_without_holes():
    img = scene()
    faces = [align_face(img, landmarks_at(x, 150, 0.8), TEMPLATE) for x in (180, 220)]
    out = paste_faces(img, faces, [f.crop for f in faces])
    assert np.abs(out.astype(float) - img).mean() < 2.0


def test_feather_mask_shape():
    m = feather_mask(64)
    assert m.max() == pytest.approx(1.0) and m[0, 0] < 0.01 and m[32, 32] == 1.0


def test_face_mask_covers_the_face_not_the_corners():
    from engine.faces.paste import face_mask
    from engine.modelspec import FFHQ_512

    t = FFHQ_512.scaled(128)
    m = face_mask(128, t.points)
    assert m.shape == (128, 128) and 0.0 <= m.min() and m.max() <= 1.0
    for x, y in t.points:  # eyes, nose and mouth fully restored
        assert m[int(y), int(x)] > 0.99
    for y, x in ((2, 2), (2, 125), (125, 2), (125, 125)):  # the square's corners keep the photo
        assert m[y, x] == 0.0
    assert (m <= feather_mask(128) + 1e-6).all()  # never beyond the square's own feather
    assert np.allclose(m, m[:, ::-1], atol=0.08)  # a near-symmetric template gives a near-symmetric oval


def test_paste_with_a_template_leaves_the_corners_alone():
    """A tight face-crop template blends through a face-shaped oval; a whole-head one (FFHQ's, the 256 px
    models') blends the whole crop, hair included, fading out only at its edges."""
    from engine.faces.align import AlignedFace
    from engine.modelspec import FFHQ_512, TIGHT_128

    image = np.full((64, 64, 3), 50, np.uint8)
    eye = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    face = AlignedFace(image.copy(), eye, eye)
    white = np.full((64, 64, 3), 250, np.uint8)
    square = paste_faces(image, [face], [white], colour_match=False)
    shaped = paste_faces(image, [face], [white], colour_match=False, template=TIGHT_128.scaled(64))
    head = paste_faces(image, [face], [white], colour_match=False, template=FFHQ_512.scaled(64))
    assert shaped[32, 32, 0] > 240 and square[32, 32, 0] > 240 and head[32, 32, 0] > 240
    assert shaped[6, 6, 0] == 50 and square[6, 6, 0] > 50
    assert head[8, 8, 0] > 240 and head[0, 0, 0] < 60  # the corner region is restored; the very edge fades


def test_select_and_order():
    def face(x, y, s=40, score=0.99):
        return DetectedFace((x, y, x + s, y + s), np.zeros((5, 2)), score)

    faces = [face(300, 10), face(10, 12), face(150, 200), face(5, 205), face(100, 100, 10), face(200, 10, score=0.5)]
    ordered = select_and_order(faces, DetectOptions(min_face=20, threshold=0.9), (400, 400))
    assert [f.box[:2] for f in ordered] == [(10, 12), (300, 10), (5, 205), (150, 200)]
    assert len(select_and_order(faces, DetectOptions(only_largest=True), (400, 400))) == 1
    center = select_and_order(faces, DetectOptions(only_center=True), (400, 400))
    assert center[0].box[:2] == (150, 200)
    assert len(select_and_order(faces, DetectOptions(max_faces=2), (400, 400))) == 2
    with pytest.raises(ValueError):
        DetectOptions(min_face=2)


def test_mtcnn_finds_no_face_in_noise():
    from engine.faces.mtcnn import MTCNNDetector

    rng = np.random.default_rng(0)
    assert MTCNNDetector().detect(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)) == []


def test_retinaface_wrapper_loads_weights_and_detects(tmp_path, monkeypatch):
    """facexlib's RetinaFace through our loader (random weights: the real ones need a download)."""
    import torch
    from facexlib.detection.retinaface import RetinaFace

    from engine.downloads import RETINAFACE_MOBILE
    from engine.errors import ModelError
    from engine.faces.detectors import get_detector

    net = RetinaFace(network_name="mobile0.25", half=False, device=torch.device("cpu"))
    path = tmp_path / RETINAFACE_MOBILE.name
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, path)  # as the release files store it
    monkeypatch.setenv("FACEBRIDGE_CACHE", str(tmp_path))
    det = get_detector("auto")  # a cached RetinaFace file is preferred over MTCNN
    assert det.name == "retinaface_mobile"
    faces = det.detect(scene())
    assert isinstance(faces, list)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"junk")
    with pytest.raises(ModelError, match="bad.pth"):
        get_detector("retinaface", weights=bad)
    # a slim build without facexlib falls back to MTCNN even with cached weights, and says why if asked
    monkeypatch.setattr("engine.faces.detectors.retinaface_supported", lambda: False)
    assert get_detector("auto").name == "mtcnn"
    with pytest.raises(ModelError, match="no RetinaFace support"):
        get_detector("retinaface_mobile")
    monkeypatch.undo()
    monkeypatch.setenv("FACEBRIDGE_CACHE", str(tmp_path / "empty"))
    assert get_detector("auto").name == "mtcnn"
    with pytest.raises(ModelError, match="not downloaded"):
        get_detector("retinaface")
