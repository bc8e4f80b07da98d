"""Archival provenance (#30): every output carries XMP that a real reader (exiftool) and `facebridge info` read."""

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from engine.faces.types import DetectedFace
from engine.io.images import Photo, read_image, write_image
from engine.modelspec import FFHQ_512
from engine.pipeline import PhotoRestorer, RestoreOptions
from engine.provenance import DIGITAL_SOURCE_TYPE, parse, read_file_xmp
from engine.restorer import Restorer
from tests.engine.helpers import face_like, tiny_model, tiny_spec

EXIFTOOL = shutil.which("exiftool")
FOREIGN_XMP = (b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
               b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
               b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:rights>Family archive</dc:rights></rdf:Description>'
               b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from engine.io.checkpoints import save_checkpoint

    spec = tiny_spec("none", size=32)
    path = save_checkpoint(tmp_path_factory.mktemp("m") / "tiny-provenance.safetensors", tiny_model(spec), spec)
    return PhotoRestorer(Restorer(path, device="cpu"), None)


def _photo(depth=8):
    px = np.zeros((120, 160, 3), np.uint8)
    px[20:84, 40:104] = face_like(64)
    if depth == 16:
        px = px.astype(np.uint16) * 257
    return Photo(px, dpi=(300.0, 300.0))


def _face():
    pts = np.array(FFHQ_512.scaled(64).points) + [40, 20]
    return DetectedFace((40, 20, 104, 84), pts, 0.99)


def _restore(session, photo, **kw):
    return session.restore_photo(photo, RestoreOptions(steps=1, background="none", **kw), faces=[_face()])


@pytest.mark.parametrize("ext,depth", [("jpg", 8), ("png", 8), ("webp", 8), ("tif", 8), ("png", 16), ("tif", 16)])
def test_every_format_carries_the_record(session, tmp_path, ext, depth):
    result = _restore(session, _photo(depth))
    assert result.provenance is not None and len(result.provenance.regions) == 1
    x, y, w, h = result.provenance.regions[0].box
    assert 30 <= x <= 45 and 10 <= y <= 25 and 60 <= w <= 90  # the crop's box in output pixels
    out = write_image(tmp_path / f"out.{ext}", result.photo)
    record = parse(read_file_xmp(out))
    assert record["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert record["model"] == "tiny-provenance.safetensors" and len(record["modelSHA256"]) == 64
    assert record["steps"] == "1" and record["seed"] == "0" and len(record["regions"]) == 1
    assert read_image(out).dpi is not None or ext == "webp" or depth == 16  # the 16-bit writer keeps no DPI
    if EXIFTOOL:  # a real reader, independent of ours
        got = subprocess.run([EXIFTOOL, "-s3", "-XMP:DigitalSourceType", "-XMP-facebridge:Model", str(out)],
                             capture_output=True, text=True, timeout=60).stdout.split()
        assert got == [DIGITAL_SOURCE_TYPE, "tiny-provenance.safetensors"], got


def test_the_inputs_own_metadata_survives_and_its_xmp_is_extended(session, tmp_path):
    src = tmp_path / "in.jpg"
    exif = Image.Exif()
    exif[0x0132] = "1931:05:04 10:00:00"  # DateTime
    exif[0x0110] = "Box camera"  # Model
    Image.fromarray(_photo().pixels).save(src, exif=exif.tobytes(), dpi=(600, 600), xmp=FOREIGN_XMP,
                                          icc_profile=b"\x00" * 4 + b"fake-icc-for-the-test")
    photo = read_image(src)
    out = write_image(tmp_path / "out.jpg", _restore(session, photo).photo)
    again = read_image(out)
    assert b"Box camera" in again.exif and again.icc == photo.icc and round(again.dpi[0]) == 600
    xmp = read_file_xmp(out)
    assert b"Family archive" in xmp and parse(xmp)["model"] == "tiny-provenance.safetensors"
    if EXIFTOOL:
        got = subprocess.run([EXIFTOOL, "-s3", "-XMP-dc:Rights", "-XMP:DigitalSourceType", str(out)],
                             capture_output=True, text=True, timeout=60).stdout.splitlines()
        assert got == ["Family archive", DIGITAL_SOURCE_TYPE]


def test_the_opt_out_writes_no_record_and_keeps_the_inputs_xmp(session, tmp_path):
    photo = _photo()
    photo.xmp = FOREIGN_XMP
    result = _restore(session, photo, provenance=False)
    assert result.provenance is None
    out = write_image(tmp_path / "out.png", result.photo)
    assert parse(read_file_xmp(out)) is None and b"Family archive" in read_file_xmp(out)
    bare = write_image(tmp_path / "bare.png", _restore(session, _photo(), provenance=False).photo)
    assert read_file_xmp(bare) is None


def test_facebridge_info_reads_it_back(session, tmp_path, capsys):
    from engine.cli.main import main

    out = write_image(tmp_path / "restored.tif", _restore(session, _photo()).photo)
    plain = write_image(tmp_path / "plain.png", _photo())
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "tiny-provenance.safetensors" in text and "compositeWithTrainedAlgorithmicMedia" in text and "face 1" in text
    assert main(["info", str(plain)]) == 1
    assert "no FaceBridge provenance" in capsys.readouterr().out


def test_the_batch_report_has_the_same_fields(session, tmp_path):
    from engine.batch import BatchRunner, OutputOptions, collect_inputs

    write_image(tmp_path / "in" / "a.png", Photo(face_like(48)))
    items, _ = collect_inputs([tmp_path / "in"])
    summary = BatchRunner(session, RestoreOptions(steps=1, aligned=True), OutputOptions(tmp_path / "out")).run(items)
    record = summary.files[0].provenance
    assert record["digital_source_type"] == DIGITAL_SOURCE_TYPE and record["model"] == "tiny-provenance.safetensors"
    assert record["regions"][0]["box"] == [0, 0, 48, 48]
    assert parse(read_file_xmp(summary.files[0].output))["restoredAt"] == record["restored_at"] and len(record["restored_at"]) == 10
