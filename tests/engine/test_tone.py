"""A photo's tone is kept (#29 item 1), and every preview shows the face as it is saved (#29 item 2)."""

import cv2
import numpy as np
import pytest

from engine import degradations as d
from engine.faces.align import align_face
from engine.faces.paste import composite_crop, paste_faces
from engine.faces.tone import fit_tone
from engine.faces.types import DetectedFace
from engine.io.images import Photo
from engine.modelspec import FFHQ_512
from engine.pipeline import PhotoRestorer, RestoreOptions
from engine.restorer import Restorer
from tests.engine.helpers import face_like, tiny_model, tiny_spec


def _sepia_photo(size=160):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (size, size, 3)).astype(np.uint8), (0, 0), 3)
    base[40:104, 48:112] = face_like(64)
    return d.apply_tone(base, 0, 1.0)


def _blue_face(n=64):
    """Steel-blue eyes on a colour face: what a model trained on colour photos may invent in a sepia print
    (small, so the paste's low-frequency colour match leaves them)."""
    face = face_like(n, 3).copy()
    for x, y in FFHQ_512.scaled(n).points[:2]:
        cv2.circle(face, (round(x), round(y)), max(2, n // 20), (70, 110, 200), -1)
    return face


def test_tone_is_found_in_toned_prints_and_not_in_colour_photos():
    for k in range(4):  # sepia, brown, cyanotype, warm gray
        t = fit_tone(d.apply_tone(_sepia_photo(), k, 1.0))
        assert t is not None and t.weight == 1.0 and t.residual < 1.5, (k, t and t.residual)
    colour = np.random.default_rng(1).integers(0, 255, (120, 120, 3)).astype(np.uint8)
    assert fit_tone(cv2.GaussianBlur(colour, (0, 0), 2)).weight == 0.0
    assert fit_tone(np.full((50, 50, 3), 128, np.uint8)) is None  # flat: nothing to fit


def test_a_sepia_photo_stays_sepia_where_the_face_is_pasted():
    photo = _sepia_photo()
    pts = np.array(FFHQ_512.scaled(64).points) + [48, 40]
    face = align_face(photo, pts, FFHQ_512.scaled(64))
    tone = fit_tone(photo)
    untoned = paste_faces(photo, [face], [_blue_face()], template=FFHQ_512.scaled(64))
    kept = paste_faces(photo, [face], [_blue_face()], template=FFHQ_512.scaled(64), tone=tone)
    region = (slice(50, 94), slice(58, 102))

    def bluer(img):
        px = img[region].astype(int)
        return int((px[..., 2] - px[..., 0]).max())

    assert bluer(photo) < 0 and bluer(untoned) > 10  # the failure the first-time user saw
    assert bluer(kept) <= 0
    # chroma measured: every pixel's colour is the print's colour at that brightness, within 3 levels
    y = kept[region].astype(np.float64) @ [0.299, 0.587, 0.114] / 255
    cr, cb = tone.chroma(y)
    expect = np.stack([y + cr / 0.713, y - (0.299 * cr / 0.713 + 0.114 * cb / 0.564) / 0.587, y + cb / 0.564], -1)
    assert np.abs(expect * 255 - kept[region]).max() <= 3


def test_a_warm_face_in_a_nearly_toned_photo_keeps_its_own_colour():
    """An autochrome: the photo as a whole fits a tone curve (foliage, dress) but the face is warm skin. The
    photo's curve would paint that face green (bopb_old_b, session 18); the face's own misfit turns it off."""
    size, o = 240, 88
    ramp = np.linspace(10, 245, size)[None, :, None].repeat(size, 0).repeat(3, 2)
    base = np.clip(ramp + np.random.default_rng(0).normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
    base[o:o + 64, o:o + 64] = face_like(64)
    photo = d.apply_tone(base, 0, 1.0).astype(int)
    photo[o:o + 64, o:o + 64] += [14, 0, -14]  # warmer than the print's tone at the same brightness
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    tone = fit_tone(photo)
    template = FFHQ_512.scaled(64)
    face = align_face(photo, np.array(template.points) + [o, o], template)
    assert tone.weight == 1.0 and tone.for_face(face.crop).weight == 0.0
    assert tone.for_face(d.apply_tone(base, 0, 1.0)[o:o + 64, o:o + 64]).weight == 1.0  # a sepia face stays toned
    out = paste_faces(photo, [face], [face.crop], template=template, tone=tone)
    region = (slice(o + 16, o + 48), slice(o + 16, o + 48))
    warmth = lambda img: float((img[region][..., 0].astype(int) - img[region][..., 2]).mean())  # noqa: E731
    assert abs(warmth(out) - warmth(photo)) < 3.0


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from engine.io.checkpoints import save_checkpoint

    spec = tiny_spec("none", size=32)
    path = save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", tiny_model(spec), spec)
    return PhotoRestorer(Restorer(path, device="cpu"), None)


def test_thumbnails_and_the_live_preview_show_the_saved_face(session):
    photo = Photo(_sepia_photo())
    pts = np.array(FFHQ_512.scaled(64).points) + [48, 40]
    faces = [DetectedFace((48, 40, 112, 104), pts, 0.99)]
    previews = []
    result = session.restore_photo(photo, RestoreOptions(steps=3), faces=faces,
                                   callback=lambda p: previews.append(p.preview) if p.preview is not None else None)
    after = result.faces[0].after
    # the thumbnail (and the step grid's tile) is the saved face: cut the output at the same place and compare
    saved = align_face(result.photo.pixels, pts, session.restorer.spec.template).crop
    centre = (slice(6, -6), slice(6, -6))
    assert saved.shape == after.shape and np.abs(saved[centre].astype(int) - after[centre]).mean() < 3.0
    hue = lambda img: (img[..., 0].astype(int) - img[..., 2]).mean()  # noqa: E731 - sepia: red above blue
    assert hue(after) > 5 and abs(hue(after) - hue(saved)) < 2
    # the last live preview is the final face, finished the same way (at preview size)
    last = previews[-1]
    small = cv2.resize(after, last.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(last.astype(int) - small).mean() < 4.0 and abs(hue(last) - hue(after)) < 2


def test_a_gray_photo_previews_gray(session):
    gray = np.repeat(cv2.cvtColor(_sepia_photo(), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    pts = np.array(FFHQ_512.scaled(64).points) + [48, 40]
    previews = []
    result = session.restore_photo(Photo(gray), RestoreOptions(steps=2), faces=[DetectedFace((48, 40, 112, 104),
                                   pts, 0.99)], callback=lambda p: previews.append(p.preview))
    after = result.faces[0].after
    assert (after[..., 0] == after[..., 2]).all()
    assert all((p[..., 0] == p[..., 1]).all() for p in previews if p is not None)
    assert composite_crop(_blue_face(32), gray[40:72, 48:80], grayscale=True).std(axis=2).max() == 0
