"""What the second first-time user tripped over (#29): messages, exit codes, overwrites, the report."""

import json

import numpy as np
import pytest
from PIL import Image

from engine.cli.main import main
from engine.io.checkpoints import save_checkpoint
from tests.engine.helpers import face_like, tiny_model, tiny_spec


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    spec = tiny_spec("none", size=32)
    return str(save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", tiny_model(spec), spec))


def _crop(path, seed=0):
    Image.fromarray(face_like(48, seed)).save(path)
    return path


def test_a_missing_file_is_named(model, tmp_path, capsys):
    assert main(["restore", str(tmp_path / "nope.jpg"), "--model", model, "--aligned"]) == 1
    err = capsys.readouterr().err
    assert f"failed: {tmp_path / 'nope.jpg'}: file not found" in err


def test_step_count_out_of_range_is_a_usage_error(model, tmp_path, capsys):
    src = _crop(tmp_path / "a.png")
    assert main(["restore", str(src), "--model", model, "--aligned", "--steps", "0"]) == 2
    assert "--steps must be between 1 and 999" in capsys.readouterr().err
    assert not (tmp_path / "restored").exists()


def test_no_silent_overwrite_skip_or_replace(model, tmp_path, capsys):
    src = _crop(tmp_path / "a.png")
    common = ["restore", str(src), "--model", model, "--aligned", "--steps", "1"]
    assert main(common) == 0
    out = capsys.readouterr().out
    assert "1 file (1 done), 1 face in" in out and "outputs in restored/ beside each input" in out
    target = tmp_path / "restored" / "a_restored.png"
    target.write_bytes(b"an earlier result")
    assert main(common) == 1  # refused, named, and the earlier result kept
    err = capsys.readouterr().err
    assert "exists already and was not replaced" in err and "--overwrite" in err and str(src) in err
    assert target.read_bytes() == b"an earlier result"
    assert main(common + ["--skip-existing"]) == 0 and target.read_bytes() == b"an earlier result"
    assert main(common + ["--overwrite"]) == 0 and target.read_bytes()[:4] == b"\x89PNG"


def test_help_says_what_upscale_takes_and_compare_has_a_description(capsys):
    for argv in (["restore", "--help"], ["compare", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    out = capsys.readouterr().out
    assert "--upscale FACTOR" in out and "{1,2,4}" not in out
    assert "labelled grid" in out and "untimed warm-up" in out


def test_compare_never_replaces_a_grid_silently(model, tmp_path, capsys):
    src = _crop(tmp_path / "a.png")
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"kept")
    assert main(["compare", str(src), "--aligned", "--model", model, "--steps", "1", "-o", str(grid)]) == 1
    assert grid.read_bytes() == b"kept" and "--overwrite" in capsys.readouterr().err
    assert main(["compare", str(src), "--aligned", "--model", model, "--steps", "1", "-o", str(grid),
                 "--overwrite"]) == 0


def test_a_skip_only_run_keeps_the_real_report(model, tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(2):
        _crop(tmp_path / "in" / f"{i}.png", i)
    report = tmp_path / "report.json"
    common = ["restore", str(tmp_path / "in"), "--model", model, "--aligned", "--steps", "1", "--report", str(report)]
    assert main(common) == 0
    first = {f["input"]: f for f in json.loads(report.read_text())["files"]}
    assert main(common + ["--skip-existing"]) == 0
    again = json.loads(report.read_text())
    assert again["summary"]["skipped"] == 2
    for row in again["files"]:  # each skipped file still carries what the run that restored it recorded
        assert row["status"] == "skipped" and row["earlier"]["status"] == "done"
        assert row["earlier"]["timings"] == first[row["input"]]["timings"]


def test_cancel_marks_every_unfinished_file(model, tmp_path):
    from engine.batch import BatchRunner, OutputOptions, collect_inputs
    from engine.pipeline import PhotoRestorer, RestoreOptions
    from engine.progress import CancelToken
    from engine.restorer import Restorer

    (tmp_path / "in").mkdir()
    for i in range(5):
        _crop(tmp_path / "in" / f"{i}.png", i)
    items, _ = collect_inputs([tmp_path / "in"])
    cancel = CancelToken()
    runner = BatchRunner(PhotoRestorer(Restorer(model, device="cpu"), None), RestoreOptions(steps=1, aligned=True),
                         OutputOptions(tmp_path / "out"))
    assert runner.max_group == 1  # one photo at a time on a CPU: rows move one by one, outputs appear at once
    done = []

    def on_file(k, rep):
        if rep.status == "done":
            done.append(k)
            cancel.cancel()  # Cancel after the first photo

    summary = runner.run(items, cancel=cancel, on_file=on_file, report_path=tmp_path / "r.json")
    statuses = [f.status for f in summary.files]
    assert statuses.count("done") >= 1 and "waiting" not in statuses and "running" not in statuses
    assert statuses.count("cancelled") == 5 - statuses.count("done")
    saved = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert saved["run_cancelled"] is True and saved["done"] >= 1
    assert saved["done"] + saved["cancelled"] == 5  # the summary counts the files Cancel stopped
    assert len(list((tmp_path / "out").glob("*.png"))) == statuses.count("done")


def test_a_tiff_without_resolution_gets_none_written(tmp_path):
    import cv2

    from engine.io.images import read_image, write_image

    cv2.imwrite(str(tmp_path / "scan.tif"), np.zeros((20, 20, 3), np.uint8))  # no resolution tags
    photo = read_image(tmp_path / "scan.tif")
    assert photo.dpi is None
    out = write_image(tmp_path / "out.tif", photo)
    with Image.open(out) as im:
        assert 282 not in im.tag_v2  # no XResolution invented


def test_an_unknown_identity_says_why():
    from engine.identity import IdentityReading

    d = IdentityReading(None).to_dict()
    assert d["verdict"] == "unknown" and "aligned" in d["reason"] and "too small" in d["reason"]
    assert "fewer steps" in IdentityReading(0.4).explain()
