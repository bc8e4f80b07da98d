"""Device and precision resolution, done once and passed down explicitly."""

from __future__ import annotations

import contextlib

import torch

from .errors import BadInputError, DeviceUnavailable

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


def available_devices() -> list[str]:
    out = ["cpu"]
    if torch.cuda.is_available():
        out.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        out.insert(0, "mps")
    return out


def resolve_device(name: str = "auto") -> torch.device:
    """auto = CUDA, then Apple MPS, then CPU. An explicit device that is absent is an error."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise BadInputError(f"unknown device {name!r}; choose one of {list(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if "mps" in available_devices():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceUnavailable("CUDA was requested but no CUDA GPU is available; use --device cpu")
    if name == "mps" and "mps" not in available_devices():
        raise DeviceUnavailable("MPS was requested but Apple's Metal backend is not available")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> torch.dtype:
    """Network compute dtype. auto = fp16 on CUDA/MPS, fp32 on CPU (CPU half precision is slower)."""
    if name not in PRECISIONS:
        raise BadInputError(f"unknown precision {name!r}; choose one of {list(PRECISIONS)}")
    if name == "auto":
        return torch.float16 if device.type in ("cuda", "mps") else torch.float32
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]
    if device.type == "cpu" and dtype == torch.float16:
        raise BadInputError("fp16 is not supported on the CPU; use fp32 or bf16")
    return dtype


def autocast(device: torch.device, dtype: torch.dtype):
    """Autocast context for forward passes (the network, and in training its loss backbones); a no-op for fp32."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"CUDA: {props.name} ({props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
