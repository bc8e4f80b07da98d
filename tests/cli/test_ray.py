"""The Ray path on a local cluster (2 CPU workers) gives the same files and report as one process."""

import json
import shutil

import pytest

from engine.cli.main import main
from tests.cli.test_cli import PHOTO, model  # noqa: F401  (fixture)
from tests.engine.helpers import face_like

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_matches_single_process(model, tmp_path):  # noqa: F811
    if not PHOTO.exists():
        pytest.skip("shared photos not available")
    from PIL import Image

    src = tmp_path / "album"
    (src / "nested").mkdir(parents=True)
    for i in range(3):
        shutil.copy(PHOTO, src / f"p{i}.jpg")
    shutil.copy(PHOTO, src / "nested" / "deep.jpg")
    Image.fromarray(face_like(64)).save(src / "plain.png")
    (src / "broken.jpg").write_bytes(b"nope")
    common = ["restore", str(src), "--recursive", "--model", model, "--steps", "2", "--quiet"]
    assert main(common + ["-o", str(tmp_path / "one"), "--report", str(tmp_path / "one.json")]) == 1
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main(common + ["-o", str(tmp_path / "two"), "--report", str(tmp_path / "two.json"),
                              "--ray", "local", "--ray-replicas", "2"]) == 1
    finally:
        ray.shutdown()
    one = {f["input"]: f for f in json.loads((tmp_path / "one.json").read_text())["files"]}
    two = {f["input"]: f for f in json.loads((tmp_path / "two.json").read_text())["files"]}
    assert one.keys() == two.keys()
    for key in one:
        assert (one[key]["status"], one[key]["faces"]) == (two[key]["status"], two[key]["faces"]), key
    files_one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.*"))
    files_two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*.*"))
    assert files_one == files_two and len(files_one) == 5
    for rel in files_one:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel


def test_ray_without_a_cluster_is_one_clear_line(model, tmp_path, capsys, monkeypatch):  # noqa: F811
    from PIL import Image

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    if ray.is_initialized():
        ray.shutdown()
    Image.fromarray(face_like(64)).save(tmp_path / "a.png")
    # the first test's local cluster was shut down, so `auto` finds none (a new user's situation)
    code = main(["restore", str(tmp_path / "a.png"), "--aligned", "--model", model, "-o", str(tmp_path / "out"),
                 "--ray", "auto"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no running Ray cluster was found" in err and "--ray local" in err
    assert "Traceback" not in err
