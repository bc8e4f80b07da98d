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
