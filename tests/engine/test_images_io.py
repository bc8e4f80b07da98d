import io
import os
import stat

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from engine.errors import ImageReadError, ImageWriteError
from engine.io.images import Photo, read_image, write_image

from .helpers import face_like


def save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


def test_exif_orientation_applied_and_reset(tmp_path):
    base = np.zeros((20, 40, 3), np.uint8)
    base[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW when displayed
    path = save(Image.fromarray(base), tmp_path / "o.jpg", exif=exif.tobytes(), quality=100)
    photo = read_image(path)
    assert photo.pixels.shape == (40, 20, 3)  # upright
    assert photo.pixels[:5].mean() > 200 and photo.pixels[-5:].mean() < 50
    out = write_image(tmp_path / "out.jpg", photo)
    again = read_image(out)
    assert again.pixels.shape == (40, 20, 3)  # not rotated a second time
    assert Image.open(out).getexif().get(0x0112, 1) == 1


def test_icc_and_dpi_kept(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = save(Image.fromarray(face_like(32)), tmp_path / "icc.png", icc_profile=icc, dpi=(300, 300))
    photo = read_image(path)
    assert photo.icc == icc
    out = write_image(tmp_path / "o.png", photo)
    im = Image.open(out)
    assert im.info.get("icc_profile") == icc
    assert round(im.info["dpi"][0]) == 300


def test_alpha_kept(tmp_path):
    rgba = np.dstack([face_like(32), np.linspace(0, 255, 32 * 32).reshape(32, 32).astype(np.uint8)])
    path = save(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png")
    photo = read_image(path)
    assert photo.alpha is not None and photo.pixels.shape == (32, 32, 3)
    out = read_image(write_image(tmp_path / "o.png", photo))
    np.testing.assert_array_equal(out.alpha, rgba[..., 3])


def test_16bit_png_roundtrip(tmp_path):
    img16 = (np.linspace(0, 65535, 16 * 16 * 3).reshape(16, 16, 3)).astype(np.uint16)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), img16[..., ::-1])
    photo = read_image(path)
    assert photo.pixels.dtype == np.uint16 and photo.bit_depth == 16
    np.testing.assert_array_equal(photo.pixels, img16)
    out = read_image(write_image(tmp_path / "o.png", photo))
    np.testing.assert_array_equal(out.pixels, img16)
    tif = read_image(write_image(tmp_path / "o.tif", photo))
    assert tif.pixels.dtype == np.uint16


def test_cmyk_palette_and_gray(tmp_path):
    rgb = face_like(24)
    cmyk = read_image(save(Image.fromarray(rgb).convert("CMYK"), tmp_path / "c.jpg", quality=100))
    assert cmyk.pixels.shape == (24, 24, 3) and abs(cmyk.pixels.astype(int).mean() - rgb.mean()) < 20
    pal = read_image(save(Image.fromarray(rgb).convert("P"), tmp_path / "p.png"))
    assert pal.pixels.shape == (24, 24, 3)
    gray = read_image(save(Image.fromarray(rgb[..., 0]), tmp_path / "g.png"))
    assert gray.grayscale
    out = Image.open(write_image(tmp_path / "go.png", gray))
    assert out.mode == "L"


def test_multipage_tiff_first_page(tmp_path):
    a, b = Image.fromarray(face_like(16, 1)), Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    path = tmp_path / "m.tif"
    a.save(path, save_all=True, append_images=[b, b])
    photo = read_image(path)
    assert photo.pixels.shape == (16, 16, 3)
    assert photo.warnings and "3 pages" in photo.warnings[0] and "page 1" in photo.warnings[0]
    single = tmp_path / "s.tif"
    a.save(single)
    assert read_image(single).warnings == []


def test_multipage_tiff_warning_reaches_the_batch_report(tmp_path):
    """The lost pages are named in --report and on the terminal, not dropped silently."""
    import json

    from engine.cli.main import main

    from .helpers import tiny_model, tiny_spec
    from engine.io.checkpoints import save_checkpoint

    spec = tiny_spec("cat", size=32)
    model = save_checkpoint(tmp_path / "m.safetensors", tiny_model(spec), spec)
    path = tmp_path / "album.tif"
    Image.fromarray(face_like(32, 1)).save(path, save_all=True, append_images=[Image.fromarray(face_like(32, 2))])
    report = tmp_path / "r.json"
    assert main(["restore", str(path), "--aligned", "--model", str(model), "--steps", "1", "-o", str(tmp_path / "o"),
                 "--report", str(report), "--quiet"]) == 0
    entry = json.loads(report.read_text())["files"][0]
    assert entry["status"] == "done" and "2 pages" in entry["warnings"][0]


@pytest.mark.parametrize("content,reason", [
    (b"", "empty"), (b"this is not an image at all", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "corrupt"),
])
def test_bad_files_give_typed_errors(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert "bad.png" in str(info.value) and reason in str(info.value)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(face_like(64)).save(buf, "JPEG")
    path = tmp_path / "t.jpg"
    path.write_bytes(buf.getvalue()[:200])
    with pytest.raises(ImageReadError, match="t.jpg"):
        read_image(path)


def test_missing_folder_and_bomb(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)
    path = save(Image.new("L", (5000, 5000)), tmp_path / "big.png")
    with pytest.raises(ImageReadError, match="megapixels"):
        read_image(path, max_pixels=1_000_000)


def test_unicode_path(tmp_path):
    folder = tmp_path / "фото 写真"
    folder.mkdir()
    path = save(Image.fromarray(face_like(16)), folder / "лицо 顔.png")
    photo = read_image(path)
    out = write_image(folder / "восстановлено.webp", photo)
    assert read_image(out).pixels.shape == (16, 16, 3)


def test_atomic_write_and_never_overwrite_input(tmp_path):
    path = save(Image.fromarray(face_like(16)), tmp_path / "in.png")
    original = path.read_bytes()
    photo = read_image(path)
    with pytest.raises(ImageWriteError, match="overwrite"):
        write_image(path, photo, protect=(path,))
    assert path.read_bytes() == original
    write_image(tmp_path / "out.png", photo)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".facebridge-")]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_output_gets_the_mode_the_umask_gives(tmp_path):
    from engine.io import images

    out = write_image(tmp_path / "out.png", Photo(face_like(8)))
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~images._UMASK
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what any other program writing here would get
    assert stat.S_IMODE(out.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IREAD | stat.S_IEXEC)
    try:
        with pytest.raises(ImageWriteError):
            write_image(folder / "x.png", Photo(face_like(8)))
    finally:
        folder.chmod(stat.S_IRWXU)


def test_unwritable_target_is_a_typed_error(tmp_path):
    # works as root too: the "folder" is a file, so nothing can be created below it
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ImageWriteError):
        write_image(blocker / "x.png", Photo(face_like(8)))
