"""The whole photo enlarged: a Real-ESRGAN network (tiny random ones here: an SRVGGNetCompact for the default
"compact", an RRDBNet for "quality") or Lanczos behind the restored faces."""

import numpy as np
import pytest

from engine.errors import BadInputError, Cancelled
from engine.faces.types import DetectedFace
from engine.io.images import Photo
from engine.pipeline import PhotoRestorer, RestoreOptions, upscale_estimate
from engine.progress import CancelToken
from engine.restorer import Restorer

from .helpers import face_like, tiny_model, tiny_spec

TINY_COMPACT = {"arch": "SRVGG", "scale": 4, "num_feat": 8, "num_conv": 2, "in_nc": 3, "out_nc": 3}


def tiny_upscaler(folder):
    """A tiny random RRDBNet (tiles as x4plus does)."""
    from engine.upscale.ncnn_convert import build_rrdbnet, convert

    from .test_ncnn_convert import tiny_config, write_ncnn

    param, bin_ = write_ncnn(build_rrdbnet(tiny_config()), folder)
    return convert(param, bin_, folder / "up.safetensors", config=tiny_config(), half_weights=True)


def tiny_compact(folder, num_conv=2):
    """A tiny random SRVGGNetCompact (tiles as the compact model does)."""
    import torch

    from engine.upscale.ncnn_convert import build_rrdbnet, convert

    from .test_ncnn_convert import write_srvgg_ncnn

    config = TINY_COMPACT | {"num_conv": num_conv}
    torch.manual_seed(1)
    net = build_rrdbnet(config)
    with torch.no_grad():
        for m in net.body:
            if isinstance(m, torch.nn.PReLU):
                m.weight.uniform_(0.05, 0.5)
    folder.mkdir(parents=True, exist_ok=True)
    param, bin_ = write_srvgg_ncnn(net, folder)
    return convert(param, bin_, folder / "compact.safetensors", config=config, half_weights=True)


@pytest.fixture()
def session(tmp_path):
    spec = tiny_spec()
    paths = {"compact": tiny_compact(tmp_path / "compact"), "quality": tiny_upscaler(tmp_path)}
    return PhotoRestorer(Restorer(tiny_model(spec), spec, device="cpu"), None, upscaler_path=paths)


def one_face(photo_size=96):
    """A photo with one face-sized region and landmarks placed like a frontal face in it."""
    img = face_like(photo_size, seed=3)
    lm = np.array([[36, 40], [60, 40], [48, 52], [39, 64], [57, 64]], float)
    return Photo(img, dpi=(300.0, 300.0)), DetectedFace((24, 24, 72, 80), lm, 0.99)


def test_options_accept_what_each_background_can_do():
    assert RestoreOptions().background == "compact"  # the default: the fast network
    assert RestoreOptions(background="realesrgan").background == "quality"  # the old name meant x4plus
    assert RestoreOptions(upscale=2).network_upscale and RestoreOptions(upscale=4).network_upscale
    assert RestoreOptions(upscale=2, background="quality").network_upscale
    assert not RestoreOptions(upscale=1).network_upscale
    assert not RestoreOptions(upscale=3, background="none").network_upscale
    with pytest.raises(BadInputError, match="2 or 4"):
        RestoreOptions(upscale=3)
    with pytest.raises(BadInputError, match="background"):
        RestoreOptions(background="gan")
    with pytest.raises(BadInputError, match="tile"):
        RestoreOptions(upscale=2, tile=8)


@pytest.mark.parametrize("factor", [2, 4])
def test_photo_comes_back_enlarged_with_the_face_pasted_at_that_scale(session, factor):
    # the tiny model's template is a whole-head one: its crop (about 4x the eye distance) is blended in whole,
    # so the face sits in the middle of a larger photo, away from the corner checked below
    img = face_like(192, seed=3)
    shifted = one_face()[1]
    face = DetectedFace(tuple(v + 48 for v in shifted.box), shifted.landmarks + 48, 0.99)
    photo = Photo(img, dpi=(300.0, 300.0))
    seen = []
    out = session.restore_photo(photo, RestoreOptions(steps=1, upscale=factor, tile=32), faces=[face],
                                callback=seen.append)
    assert out.photo.pixels.shape == (192 * factor, 192 * factor, 3) and out.photo.pixels.dtype == np.uint8
    assert out.photo.dpi == (300.0 * factor, 300.0 * factor)
    assert len(out.faces) == 1 and "upscale" in out.timings
    assert any(p.stage == "upscale" and "tile" in p.message for p in seen)
    # away from the face the photo is the upscaler's, not a resize
    corner = slice(0, 16 * factor)
    background = session.upscaler().upscale(photo.pixels, factor, tile=32)
    assert np.array_equal(out.photo.pixels[corner, corner], background[corner, corner])


def test_the_background_is_upscaled_once_per_photo(session, monkeypatch):
    photo, face = one_face()
    calls = []
    original = type(session.upscaler()).upscale
    monkeypatch.setattr(type(session.upscaler()), "upscale",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    for steps in (1, 2):
        session.restore_photo(photo, RestoreOptions(steps=steps, upscale=2, tile=32), faces=[face])
    assert len(calls) == 1


def test_plain_resize_background_for_other_factors(session):
    photo, face = one_face()
    out = session.restore_photo(photo, RestoreOptions(steps=1, upscale=3, background="none"), faces=[face])
    assert out.photo.pixels.shape == (288, 288, 3) and "upscale" not in out.timings


def test_archival_properties_survive_the_upscale(session):
    photo, face = one_face()
    gray = np.repeat(photo.pixels.mean(axis=2, keepdims=True).astype(np.uint16) * 257, 3, axis=2)
    alpha = np.full(gray.shape[:2], 40000, np.uint16)
    out = session.restore_photo(Photo(gray, alpha=alpha), RestoreOptions(steps=1, upscale=2, tile=32), faces=[face])
    px = out.photo.pixels
    assert px.dtype == np.uint16 and px.shape == (192, 192, 3)
    assert (px[..., 0] == px[..., 1]).all() and (px[..., 1] == px[..., 2]).all()  # gray stays gray
    assert out.photo.alpha.shape == (192, 192) and out.photo.alpha.dtype == np.uint16


def test_cancel_between_tiles(session):
    photo, face = one_face()
    token = CancelToken()

    def stop_at_first_tile(p):
        if p.stage == "upscale" and "tile" in p.message:
            token.cancel()

    with pytest.raises(Cancelled):
        session.restore_photo(photo, RestoreOptions(steps=1, upscale=2, tile=32), faces=[face],
                              callback=stop_at_first_tile, cancel=token)


@pytest.mark.parametrize("factor", [2, 4])
def test_the_face_lands_where_the_background_puts_it(factor):
    # pixel centres: the input crop pasted back at 4x must line up with a Lanczos 4x of the photo; scaling
    # the paste transform alone put it (factor - 1) / 2 px up-left of the background
    import cv2

    from engine.faces.align import align_face
    from engine.faces.paste import paste_faces
    from engine.modelspec import FFHQ_512

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((96, 96, 3)) * 255).astype(np.uint8), (0, 0), 1.5)
    img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
    lm = np.array([[36, 40], [60, 40], [48, 52], [39, 64], [57, 64]], float)
    template = FFHQ_512.scaled(128)
    aligned = align_face(img, lm, template)
    s = factor
    base = cv2.resize(img, (96 * s, 96 * s), interpolation=cv2.INTER_LANCZOS4)
    pasted = paste_faces(base, [aligned], [aligned.crop], scale=float(s), colour_match=False,
                         template=template).astype(np.float32)
    core = slice(40 * s, 60 * s)
    errors = {}
    for shift in np.arange(-2.0, 2.01, 0.25):
        moved = cv2.warpAffine(base.astype(np.float32), np.float32([[1, 0, shift], [0, 1, shift]]),
                               (96 * s, 96 * s), flags=cv2.INTER_CUBIC)
        errors[float(shift)] = float(((moved[core, core] - pasted[core, core]) ** 2).mean())
    assert min(errors, key=errors.get) == 0.0


def test_macs_constants_match_the_networks():
    from engine.upscale.catalog import COMPACT, QUALITY
    from engine.upscale.model import macs_per_pixel
    from engine.upscale.ncnn_convert import COMPACT as COMPACT_CONFIG, X4PLUS, build_rrdbnet

    assert macs_per_pixel(build_rrdbnet(X4PLUS)) == QUALITY.macs_per_pixel
    assert macs_per_pixel(build_rrdbnet(COMPACT_CONFIG)) == COMPACT.macs_per_pixel


@pytest.mark.parametrize("background", ["compact", "quality"])
def test_processed_pixels_are_what_the_tiles_run_on(session, background):
    up = session.upscaler(background)
    assert (up.overlap, up.context) == ((0, 34) if background == "compact" else (32, 96))
    seen = []
    run = up._run
    up._run = lambda x: seen.append((x.shape[-2] + 2 * up.prepad) * (x.shape[-1] + 2 * up.prepad)) or run(x)
    image = (np.random.default_rng(0).random((170, 145, 3)) * 255).astype(np.uint8)
    up.upscale(image, 2, tile=64)
    assert sum(seen) == up.processed_pixels(170, 145, tile=64)
    assert len(seen) == 9  # 3 x 3 tiles


def test_estimate_is_rough_before_the_first_upscale_and_measured_after(session):
    options = RestoreOptions(steps=1, upscale=2, tile=32)

    def estimate(h, w, opts, sec_per_step=None):
        return upscale_estimate(h, w, opts, session.upscale_rate_estimate(sec_per_step))

    assert estimate(96, 96, RestoreOptions()) == (0.0, True)
    assert estimate(96, 96, options) is None  # nothing measured at all yet
    rough, measured = estimate(96, 96, options, sec_per_step=0.05)
    assert rough > 0 and not measured
    photo, face = one_face()
    seen = []
    session.restore_photo(photo, options, faces=[face], callback=seen.append)
    assert any("about" in p.message for p in seen if p.stage == "upscale")
    after, measured = estimate(96, 96, options)
    assert measured and after > 0
    assert estimate(192, 192, options)[0] > 3 * after  # grows with the photo


def test_conversion_refuses_files_that_are_not_the_pinned_release(tmp_path, monkeypatch):
    from engine.errors import ModelError
    from engine.upscale import weights

    (tmp_path / "realesrgan-x4plus.param").write_text("7767517\n")
    (tmp_path / "realesrgan-x4plus.bin").write_bytes(b"\0" * 64)
    monkeypatch.setattr(weights, "wheel_models_dir", lambda: tmp_path)
    with pytest.raises(ModelError, match="SHA-256"):
        weights.convert_from_wheel(tmp_path / "out.safetensors")
    assert not (tmp_path / "out.safetensors").exists()
    monkeypatch.setattr(weights, "wheel_models_dir", lambda: None)
    with pytest.raises(ModelError, match="--background none"):
        weights.convert_from_wheel(tmp_path / "out.safetensors")


def test_a_converted_file_with_other_weights_fails_verification(tmp_path):
    from engine.upscale import weights

    assert not weights.verify(tiny_upscaler(tmp_path))  # a valid upscaler file, but not Real-ESRGAN x4plus


def test_an_automatic_tile_is_the_one_chosen_for_the_device(session, monkeypatch):
    from engine.upscale import memory

    monkeypatch.setattr(memory, "_chosen", {"cpu:0:compact": 32})
    photo, face = one_face()
    seen = []
    auto = session.restore_photo(photo, RestoreOptions(steps=1, upscale=2), faces=[face], callback=seen.append)
    assert any("32 px tiles" in p.message for p in seen if p.stage == "upscale")
    tiles = {p.message for p in seen if p.stage == "upscale" and p.message.startswith("tile")}
    assert len(tiles) == 9  # 96 px in 32 px cells
    # an explicit tile of the same size upscales again (the cache keys on what was asked) and gives the same photo
    explicit = session.restore_photo(photo, RestoreOptions(steps=1, upscale=2, tile=32), faces=[face])
    assert np.array_equal(auto.photo.pixels, explicit.photo.pixels)


def test_an_automatic_tile_that_runs_out_of_memory_steps_down(session, monkeypatch):
    from engine.errors import DeviceOutOfMemory
    from engine.upscale import memory

    monkeypatch.setattr(memory, "_chosen", {"cpu:0:compact": 384})
    up = session.upscaler()
    real, tried = up.upscale, []

    def upscale(pixels, factor, *, tile, **kw):
        tried.append(tile)
        if tile > 128:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 7451000000 bytes")
        return real(pixels, factor, tile=tile, **kw)

    monkeypatch.setattr(up, "upscale", upscale)
    photo, face = one_face()
    seen = []
    out = session.restore_photo(photo, RestoreOptions(steps=1, upscale=2), faces=[face], callback=seen.append)
    assert out.photo.pixels.shape[:2] == (192, 192)
    assert tried == [384, 256, 128] and memory.auto_tile("cpu") == 128  # and it stays down for the session
    assert "cpu:0:quality" not in memory._chosen  # only the model that ran out steps down
    assert any("128 px tiles" in p.message for p in seen if p.stage == "upscale")
    # a tile the user chose is not second-guessed: a clear error instead
    with pytest.raises(DeviceOutOfMemory, match="256 px tiles"):
        session.restore_photo(photo, RestoreOptions(steps=1, upscale=2, tile=256), faces=[face])
    # and a failure that is not about memory is not retried
    monkeypatch.setattr(memory, "_chosen", {"cpu:0:compact": 384})
    monkeypatch.setattr(up, "upscale", lambda *a, **k: (_ for _ in ()).throw(ValueError("a bug")))
    session._background_cache = None
    with pytest.raises(ValueError, match="a bug"):
        session.restore_photo(photo, RestoreOptions(steps=1, upscale=2), faces=[face])


def test_the_compact_models_tiles_are_the_untiled_result():
    # its 34 px of context covers the network's whole reach, so tiles need no cross-fade and change nothing
    from engine.upscale.model import Upscaler
    from engine.upscale.weights import compact_path

    up = Upscaler(compact_path())
    assert up.context >= up.net.receptive_radius == 34 and up.overlap == 0
    image = cv2_face(150, 130)
    whole = up.upscale(image, 2, tile=1024).astype(int)
    tiled = up.upscale(image, 2, tile=48).astype(int)
    assert np.abs(tiled - whole).max() <= 1  # within 1/255 (float rounding only)
    short = up.upscale(image, 2, tile=48, context=8).astype(int)
    assert np.abs(short - whole).max() > 1  # too little context does show at the seams


def cv2_face(h, w):
    import cv2

    return cv2.resize(face_like(96, seed=5), (w, h), interpolation=cv2.INTER_CUBIC)


def test_progress_moves_within_a_single_tile(session):
    up = session.upscaler("compact")
    seen = []
    up.upscale(cv2_face(40, 40), 4, tile=256, callback=seen.append)
    steps = [p.step for p in seen]
    assert len({p.total for p in seen}) == 1 and steps == sorted(steps)
    assert len(steps) >= 3 and 0 < steps[0] < seen[0].total and steps[-1] == seen[0].total  # one tile, in parts
