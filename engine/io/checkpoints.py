"""The FaceBridge checkpoint: one .safetensors file with the (EMA) weights and, in its metadata, the
ModelSpec as JSON. Loading never unpickles anything."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import ModelError
from ..modelspec import ModelSpec
from ..network.unet import UNet

FORMAT = "facebridge-pi2sb"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, model: UNet, spec: ModelSpec, *, dtype: torch.dtype = torch.float16) -> Path:
    """Write weights (cast to `dtype`; norms and embeddings survive fp16 fine) atomically."""
    path = Path(path)
    if model.config != spec.network:
        raise ValueError("model config does not match the spec's network config")
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "spec": json.dumps(spec.to_metadata(), sort_keys=True)}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def rewrite_spec(path: Path, spec: ModelSpec) -> Path:
    """Replace a checkpoint's metadata, keeping its tensors byte for byte (same dtype), atomically."""
    path = Path(path)
    old, tensors = _open(path, load_tensors=True)
    if old.network != spec.network:
        raise ValueError("the new spec describes a different network")
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "spec": json.dumps(spec.to_metadata(), sort_keys=True)}
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def read_spec(path: Path) -> ModelSpec:
    """Read only the metadata of a checkpoint (cheap; no tensors are loaded)."""
    spec, _ = _open(Path(path), load_tensors=False)
    return spec


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> tuple[UNet, ModelSpec]:
    """Rebuild the network from metadata and load its weights in float32, in eval mode."""
    path = Path(path)
    spec, tensors = _open(path, load_tensors=True)
    model = UNet(spec.network)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelError(path, f"weights do not match the network config (missing {missing[:3]}, "
                               f"unexpected {unexpected[:3]})")
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise ModelError(path, f"tensor {key} has shape {tuple(value.shape)}, "
                                   f"the config expects {tuple(expected[key].shape)}")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.to(device).eval(), spec


def _open(path: Path, load_tensors: bool):
    if not path.is_file():
        raise ModelError(path, "model file not found")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            spec = _parse_metadata(path, meta)
            tensors = {k: f.get_tensor(k) for k in f.keys()} if load_tensors else {}
    except ModelError:
        raise
    except Exception as exc:  # safetensors raises its own error types for corrupt/truncated headers
        raise ModelError(path, f"not a readable .safetensors file ({exc})") from exc
    return spec, tensors


def _parse_metadata(path: Path, meta: dict) -> ModelSpec:
    if meta.get("format") != FORMAT:
        raise ModelError(path, f"not a FaceBridge model (metadata format={meta.get('format')!r}, "
                               f"expected {FORMAT!r})")
    try:
        version = int(meta.get("format_version", "0"))
    except ValueError:
        version = -1
    if version != FORMAT_VERSION:
        raise ModelError(path, f"unsupported checkpoint format version {meta.get('format_version')!r} "
                               f"(this FaceBridge reads version {FORMAT_VERSION})")
    try:
        return ModelSpec.from_metadata(json.loads(meta["spec"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(path, f"invalid model metadata: {exc}") from exc
