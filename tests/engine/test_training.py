import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.errors import Cancelled
from engine.io.checkpoints import load_checkpoint
from engine.progress import CancelToken
from engine.training.config import TrainConfig
from engine.training.loop import Trainer, train

ROOT = Path(__file__).resolve().parents[2]


def cfg(faces_dir, out, **kw):
    base = dict(data=str(faces_dir), out=str(out), preset="tiny", image_size=32, batch=4, steps=6, warmup=2,
                log_every=1, ckpt_every=100, sample_every=0, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "log.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("data_path,workers", [("per-sample", 0), ("batched", 0), ("per-sample", 2)])
def test_training_runs_and_resumes_exactly(faces_dir, tmp_path, data_path, workers):
    def make(faces, out, **kw):  # every run below uses the pool, or none does
        return cfg(faces, out, data_workers=workers, **kw)

    straight = Trainer(make(faces_dir, tmp_path / "a", data_path=data_path))
    straight.run()

    token = CancelToken()

    def stop_at_three(p):
        if p.step == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        Trainer(make(faces_dir, tmp_path / "b", data_path=data_path), callback=stop_at_three, cancel=token).run()
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)["step"] == 3
    resumed = Trainer(make(faces_dir, tmp_path / "b", data_path=data_path))
    resumed.run()
    assert resumed.step == 6
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    for p, q in zip(straight.ema, resumed.ema):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
    assert straight.batched == (data_path == "batched")
    if workers:  # the pooled batches are the in-process ones: the same losses as a run without workers
        serial = Trainer(cfg(faces_dir, tmp_path / "s", data_path=data_path))
        serial.run()
        assert losses(tmp_path / "s") == losses(tmp_path / "a")


def test_regression_objective_and_export(faces_dir, tmp_path):
    train(cfg(faces_dir, tmp_path / "r", objective="regression", steps=3))
    train(cfg(faces_dir, tmp_path / "c", steps=3))
    from engine.training.export import export_run

    # the template comes from detection; generated faces have none, so export from real faces if present
    real = ROOT.parent / "shared" / "data" / "utkface-aligned-200" / "eval"
    if not real.is_dir():
        pytest.skip("shared face data not available for template derivation")
    path = export_run(tmp_path / "c", tmp_path / "m.safetensors", template_from=str(real), template_samples=12)
    model, spec = load_checkpoint(path)
    assert spec.provenance["steps"] == 3 and spec.provenance["images_seen"] == 12
    assert spec.template.size == 32 and spec.bridge.hashing == "none"  # the training default (docs/ABLATION.md)
    xs = [p[0] for p in spec.template.points]
    assert xs[0] < xs[2] < xs[1]  # left eye, nose, right eye


@pytest.mark.slow
def test_ddp_two_gloo_processes_match_one_process(faces_dir, tmp_path):
    common = ["--data", str(faces_dir), "--preset", "tiny", "--image-size", "32", "--batch", "4", "--steps", "3",
              "--warmup", "1", "--log-every", "1", "--sample-every", "0", "--device", "cpu",
              "--minutes", "60"]  # a wall-clock budget: rank 0 decides for all ranks when it is spent
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    single = subprocess.run([sys.executable, "-m", "engine", "train", "--out", str(tmp_path / "one"), *common],
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-2000:]
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "--tee", "3", "-m", "engine", "train", "--out", str(tmp_path / "two"), *common],
                         env=env, capture_output=True, text=True, timeout=300)
    # the launcher's own summary hides why a rank died; its teed per-rank lines say it
    ranks = [line for line in ddp.stderr.splitlines() + ddp.stdout.splitlines() if line.startswith("[default")]
    assert ddp.returncode == 0, "\n".join(ranks[-40:]) + "\n" + ddp.stderr[-1500:]
    np.testing.assert_allclose(losses(tmp_path / "one"), losses(tmp_path / "two"), rtol=1e-4, atol=1e-5)


def test_auto_data_path_is_per_sample_on_a_cpu(faces_dir, tmp_path):
    assert not Trainer(cfg(faces_dir, tmp_path / "a")).batched
