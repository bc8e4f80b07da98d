"""CPU rehearsal of the device training kit: the very script a GPU session runs, end to end, so a lucky
session cannot die on a path or an import. pack -> train -> export and split -> reassemble -> load -> restore."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .helpers import face_like

ROOT = Path(__file__).resolve().parents[2]
KIT = ROOT / "build_scripts" / "device_kit.py"
sys.path.insert(0, str(ROOT / "build_scripts"))
import device_kit  # noqa: E402


def kit(*args, timeout=300):
    return subprocess.run([sys.executable, str(KIT), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"})


def test_rehearsal_pack_train_export_split_reassemble_restore(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    for i in range(36):
        Image.fromarray(face_like(48, i)).save(faces / f"{i:03d}.png")
    pack, out, run, stage = tmp_path / "pack", tmp_path / "OUT", tmp_path / "run", tmp_path / "stage"

    r = kit("pack", "--src", faces, "--out", pack, "--size", 32, "--shard-mb", 0.003)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["count"] == 36 and len(manifest["shards"]) > 1  # several shards, as a big pack travels

    r = kit("plan", "--pack", pack)
    assert r.returncode == 0 and '"carry"' in r.stdout and "device_kit.py train" in r.stdout, r.stderr

    r = kit("train", "--out", out, "--pack", pack, "--run", run, "--stage", stage, "--preset", "tiny",
            "--image-size", 32, "--batch", 8, "--minutes", 0.05, "--warmup", 2, "--log-every", 2, "--device", "cpu",
            "--bench", "quick", "--bench-timeout", 120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "img/s" in r.stdout and "TFLOP/s" in r.stdout  # throughput is printed as it trains
    returned = sorted(p.name for p in out.iterdir())
    assert len(returned) <= device_kit.OUT_FILES and "log.jsonl" in returned and "parts.json" in returned
    assert all((out / f).stat().st_size <= 16 * 2**20 for f in returned)
    bench = (out / "bench.md").read_text()
    assert "failed" not in bench and "ran past" not in bench, bench
    assert "per step" in bench and "Batched data path" in bench and "training step" in bench

    model = device_kit.reassemble(out, tmp_path / "here" / "model.safetensors")
    from engine.restorer import Restorer

    restorer = Restorer(model, device="cpu")
    spec = restorer.spec
    assert spec.provenance["images_seen"] > 0 and spec.provenance["train_config"]["data_path"] == "batched"
    assert spec.bridge.param == "precond" and spec.bridge.ot_ode and spec.defaults.steps == 8
    face = face_like(32, 99)
    out_face = restorer.restore([face], steps=2)[0]
    assert out_face.shape == face.shape and out_face.dtype == np.uint8


def test_train_refuses_an_incomplete_pack(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    for i in range(12):
        Image.fromarray(face_like(32, i)).save(faces / f"{i}.png")
    pack = tmp_path / "pack"
    assert kit("pack", "--src", faces, "--out", pack, "--size", 32, "--shard-mb", 0.001).returncode == 0
    shards = sorted(pack.glob("shard-*.npz"))
    shards[-1].unlink()
    r = kit("train", "--out", tmp_path / "OUT", "--pack", pack, "--run", tmp_path / "run", "--stage", tmp_path / "st",
            "--preset", "tiny", "--image-size", 32, "--device", "cpu")
    assert r.returncode == 3 and shards[-1].name in r.stderr


def test_reassemble_refuses_a_damaged_part(tmp_path):
    blob = tmp_path / "m.bin"
    blob.write_bytes(np.random.default_rng(0).bytes(5000))
    parts = tmp_path / "parts"
    parts.mkdir()
    manifest = device_kit.split(blob, parts, part_bytes=2000)
    (parts / "parts.json").write_text(json.dumps(manifest))
    assert len(manifest["parts"]) == 3
    assert device_kit.reassemble(parts, tmp_path / "ok.bin").read_bytes() == blob.read_bytes()
    first = parts / manifest["parts"][0]["file"]
    first.write_bytes(b"x" + first.read_bytes()[1:])
    with pytest.raises(ValueError, match="damaged"):
        device_kit.reassemble(parts, tmp_path / "bad.bin")
    assert not (tmp_path / "bad.bin").exists()


def test_plan_splits_a_pack_over_calls_that_each_fit():
    mib = 2**20
    assert device_kit.plan_calls(11 * mib, [("a", 12 * mib), ("b", 12 * mib), ("c", 12 * mib)]) == [["a", "b", "c"]]
    calls = device_kit.plan_calls(48 * mib, [("a", 12 * mib), ("b", 12 * mib), ("c", 12 * mib)])
    assert calls == [["a"], ["b"], ["c"]]
    with pytest.raises(ValueError, match="smaller --shard-mb"):
        device_kit.plan_calls(60 * mib, [("a", 12 * mib)])


def test_rehearsal_whole_head_recipe_per_sample_workers_and_carried_lpips(tmp_path):
    """The 256 px recipe's path at toy size: mixed degradation (old-photo damage: the per-sample path, fed by
    worker processes) and the perceptual term from the carried LPIPS package and fp16 VGG16."""
    pytest.importorskip("lpips")
    faces = tmp_path / "faces"
    faces.mkdir()
    for i in range(12):
        Image.fromarray(face_like(48, i)).save(faces / f"{i:03d}.png")
    pack, out, assets = tmp_path / "pack", tmp_path / "OUT", tmp_path / "assets"
    assert kit("pack", "--src", faces, "--out", pack, "--size", 32).returncode == 0
    r = kit("assets", "--out", assets)
    assert r.returncode == 0, r.stderr
    assert (assets / "site" / "lpips" / "__init__.py").is_file() and (assets / "lpips_vgg16.safetensors").is_file()

    r = kit("train", "--out", out, "--pack", pack, "--run", tmp_path / "run", "--stage", tmp_path / "stage",
            "--preset", "tiny", "--image-size", 32, "--batch", 4, "--minutes", 0.03, "--warmup", 1, "--log-every", 1,
            "--device", "cpu", "--degradation", "mixed", "--data-workers", 1, "--perceptual", 0.5,
            "--perceptual-crop", 16, "--assets", assets)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "data: per-sample path, 1 worker" in r.stdout
    assert f"from {assets / 'site' / 'lpips'}" in r.stdout  # the carried package, not the venv's
    model = device_kit.reassemble(out, tmp_path / "model.safetensors")
    from engine.io.checkpoints import load_checkpoint

    _, spec = load_checkpoint(model)
    config = spec.provenance["train_config"]
    assert config["data_path"] == "per-sample" and config["data_workers"] == 1
    assert config["degradation"] == "mixed" and config["perceptual"] == 0.5 and config["perceptual_crop"] == 16


def test_plan_reserves_room_for_the_assets_in_the_training_call(tmp_path, monkeypatch):
    mib = 2**20
    pack = tmp_path / "pack"
    pack.mkdir()
    shards = [{"file": f"shard-{i:03d}.npz", "bytes": 20 * mib} for i in range(3)]
    (pack / "manifest.json").write_text(json.dumps({"format": "facebridge-face-pack", "count": 3, "size": 256,
                                                     "shards": shards}))
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "vgg.bin").write_bytes(b"\0" * (29 * mib))
    monkeypatch.setattr(device_kit, "ROOT", tmp_path)
    monkeypatch.setattr(device_kit, "ASSETS", "assets")
    monkeypatch.setattr(device_kit, "tracked_bytes", lambda: 31 * mib)
    import argparse
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        device_kit.cmd_plan(argparse.Namespace(pack="pack", train_args=""))
    calls = [json.loads(line) for line in buf.getvalue().splitlines() if line.startswith("{")]
    # 31 + 20 + 29 > 64: the three shards go one per stage call, and the training call carries the assets alone
    assert len(calls) == 4 and all("stage" in c["command"] for c in calls[:-1]) and "train" in calls[-1]["command"]
    assert "assets" in calls[-1]["carry"] and not any("assets" in c["carry"] for c in calls[:-1])
    for c in calls:  # every call fits: 31 MiB tree + its shards (+ the 29 MiB assets on the last)
        size = 31 + 20 * sum(1 for x in c["carry"] if x.endswith(".npz")) + (29 if "assets" in c["carry"] else 0)
        assert size <= 64
