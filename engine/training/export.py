"""Export a training run's EMA weights as the shipping .safetensors with full provenance metadata."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Optional

import torch

from ..io.checkpoints import save_checkpoint
from ..modelspec import BridgeConfig, ModelSpec, SamplingDefaults
from .config import TrainConfig
from .loop import bridge_config, build_model, hardware_string
from .template import derive_template


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def licence_note_for(data: str) -> str:
    """What the training data's licences make of the model, for the data sets this project trains on."""
    text = str(data).lower()
    if "utkface" in text:
        return "trained on UTKFace (non-commercial research use only)"
    if "celebahq" in text or "head256" in text:
        return ("trained on CelebA-HQ (non-commercial research use only) and the Face Research Lab London and "
                "Canada sets (CC BY 4.0): the model is for non-commercial research use only")
    return f"trained on {data}: see that data's licence"


def export_run(run: Path, output: Path, *, template_from: Optional[str] = None, template_samples: int = 300,
               default_steps: int = 4, fp16: bool = True, template_model: Optional[str] = None,
               licence_note: Optional[str] = None) -> Path:
    """template_model: take the 5-point template from an existing model trained on the same aligned faces
    instead of detecting it (the device has no face detector weights)."""
    run = Path(run)
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    cfg = TrainConfig.from_dict(state["config"])
    model = build_model(cfg)
    for p, e in zip(model.parameters(), state["ema"]):
        p.data.copy_(e)
    if "bridge" in state:  # the run's measured endpoint moments travel with the weights
        bridge = BridgeConfig(**json.loads(state["bridge"]))
    else:  # runs from before parametrisations were stored
        bridge = bridge_config(cfg)
    init = json.loads(state["init"]) if state.get("init") else None
    if template_model:
        from ..io.checkpoints import read_spec

        template = read_spec(Path(template_model)).template.scaled(cfg.image_size)
        stats = {"from_model": Path(template_model).name}
    else:
        template, stats = derive_template(Path(template_from or cfg.data), cfg.image_size, samples=template_samples)
    log_tail = _last_log(run)
    provenance = {
        "trainer": "facebridge train", "git_commit": git_commit(),
        "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": str(cfg.data), "steps": int(state["step"]), "images_seen": int(state["images_seen"]),
        "wall_time_s": round(float(state["wall_time"]), 1), "hardware": state.get("hardware") or hardware_string(torch.device("cpu")), "train_config": cfg.to_dict(), "template_stats": stats,
        "final_loss": log_tail.get("loss"), "weights": "EMA",
        "images_per_s": log_tail.get("images_per_s"), "tflops": log_tail.get("tflops"),
        "licence_note": licence_note or licence_note_for(cfg.data),
    }
    if init:
        provenance["initialised_from"] = init
    spec = ModelSpec(network=model.config, bridge=bridge, template=template,
                     defaults=SamplingDefaults(steps=default_steps), provenance=provenance)
    return save_checkpoint(Path(output), model, spec, dtype=torch.float16 if fp16 else torch.float32)


def step_guidance(eval_json: Path, metric: str = "lpips") -> tuple[dict, str]:
    """{step count: metric} and a description, from a `facebridge eval --out` JSON."""
    result = json.loads(Path(eval_json).read_text())
    measured = {str(r["steps"]): round(float(r[metric]), 4) for r in result["rows"] if r.get("steps", 0) > 0}
    if not measured:
        raise ValueError(f"{eval_json} holds no restored rows")
    cfg = result.get("config", {})
    if "protocol" in result:  # facebridge eval --protocol celeba-test
        where = Path(cfg.get("eval_dir", "eval"))
        return measured, (f"{metric.upper()} (lower is better), {where.parent.name or 'eval'} {where.name}, "
                          f"{result['protocol']}, {result.get('images', '?')} images")
    return measured, (f"{metric.upper()} (lower is better), {Path(cfg.get('hq', 'eval')).parent.name or 'eval'} "
                      f"{Path(cfg.get('hq', 'eval')).name}, {cfg.get('degradation', '?')}, {result.get('faces', '?')} faces")


def annotate_model(model: Path, eval_json: Path, compare: str = "") -> Path:
    """Store the model's own measured step curve (and the step counts to compare) in its metadata."""
    from dataclasses import replace

    from ..io.checkpoints import read_spec, rewrite_spec

    spec = read_spec(Path(model))
    measured, on = step_guidance(eval_json)
    compare = compare or ",".join(k for k in sorted(measured, key=int) if int(k) in (1, 4, spec.defaults.steps, 16))
    return rewrite_spec(Path(model), replace(spec, defaults=replace(spec.defaults, measured=measured, measured_on=on,
                                                                     compare=compare)))


def _last_log(run: Path) -> dict:
    log = run / "log.jsonl"
    if not log.exists():
        return {}
    lines = log.read_text().strip().splitlines()
    return json.loads(lines[-1]) if lines else {}
