import json

import torch

from engine.io.checkpoints import load_checkpoint, read_spec, save_checkpoint
from engine.modelspec import SamplingDefaults
from engine.training.export import annotate_model

from .helpers import tiny_model, tiny_spec


def eval_json(path, values):
    rows = [{"name": "degraded input", "steps": 0, "lpips": 0.4}] + [
        {"name": f"i2sb {s} steps", "steps": s, "lpips": v} for s, v in values.items()]
    path.write_text(json.dumps({"config": {"hq": "data/utk/eval", "degradation": "moderate"}, "faces": 300, "rows": rows}))
    return path


def test_annotate_stores_the_measured_curve_and_keeps_the_weights(tmp_path):
    spec = tiny_spec("cat", size=32)
    model = save_checkpoint(tmp_path / "m.safetensors", tiny_model(spec), spec)
    before, _ = load_checkpoint(model)
    annotate_model(model, eval_json(tmp_path / "e.json", {1: 0.2, 4: 0.18, 16: 0.15}))
    after, spec2 = load_checkpoint(model)
    for a, b in zip(before.state_dict().values(), after.state_dict().values()):
        assert torch.equal(a, b)
    d = read_spec(model).defaults
    assert d.measured == {"1": 0.2, "4": 0.18, "16": 0.15} and d.measured_on.startswith("LPIPS")
    assert "moderate" in d.measured_on and "300 faces" in d.measured_on
    assert d.compare == "1,4,16" and d.useful_max() == 16


def test_notes_give_the_figure_or_warn_beyond_the_measured_range():
    d = SamplingDefaults(steps=8, measured={"1": 0.2, "8": 0.17, "16": 0.15}, measured_on="LPIPS, x")
    assert d.note(8) == "measured LPIPS 0.170 at 8 steps"
    assert "best measured" in d.note(16)
    assert d.note(100).startswith("not measured beyond 16 steps") and "0.150" in d.note(100)
    assert d.note(3) == ""
    assert SamplingDefaults().note(100) == ""  # a model without a curve says nothing


def test_shipped_model_carries_its_curve():
    from engine.cli.paths import default_model_path

    d = read_spec(default_model_path()).defaults
    assert d.measured_steps() == [1, 2, 4, 8, 16] and d.compare
    values = [d.measured[str(s)] for s in d.measured_steps()]
    assert values == sorted(values, reverse=True)  # more steps, better (lower) on its own evaluation
