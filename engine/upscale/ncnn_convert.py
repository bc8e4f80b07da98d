"""Convert Real-ESRGAN's ncnn release (a .param text graph and a .bin of weights) into a PyTorch RRDBNet.

Only convolutions carry weights in this network (the rest are splits, concats, residual adds and two
nearest-neighbour 2x resizes), and the ncnn graph lists its 351 convolutions in the same order as the
RRDBNet's parameters: conv_first, 23 RRDBs x 3 dense blocks x 5 convs, conv_body, two upsampling convs,
conv_hr, conv_last. The .bin stores, per convolution, a 4-byte storage tag and the weights (fp16 with tag
0x01306B47, fp32 with tag 0), then the bias as raw fp32. The file must be consumed exactly: any byte left
over or missing means the graph and the weights disagree, and conversion stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FP16_TAG = 0x01306B47
FP32_TAG = 0


@dataclass(frozen=True)
class ConvLayer:
    name: str
    out_channels: int
    kernel: int
    weight_count: int
    bias: bool

    @property
    def in_channels(self) -> int:
        return self.weight_count // (self.out_channels * self.kernel * self.kernel)


def read_param(path: Path) -> list[ConvLayer]:
    """The Convolution layers of an ncnn .param file, in file order."""
    lines = Path(path).read_text().split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise ValueError(f"{path}: not an ncnn param file (no 7767517 magic)")
    convs = []
    for line in lines[2:]:
        parts = line.split()
        if not parts or parts[0] != "Convolution":
            continue
        n_in, n_out = int(parts[2]), int(parts[3])
        params = dict(re.match(r"(-?\d+)=(.*)", p).groups() for p in parts[4 + n_in + n_out:])
        kernel = int(params.get("1", "1"))
        out = int(params["0"])
        convs.append(ConvLayer(parts[1], out, kernel, int(params["6"]), params.get("5", "0") == "1"))
    return convs


def read_weights(param_path: Path, bin_path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in, k, k) float32, bias (out,) float32) per convolution."""
    convs = read_param(param_path)
    data = Path(bin_path).read_bytes()
    pos, out = 0, []
    for c in convs:
        if c.weight_count % (c.out_channels * c.kernel * c.kernel):
            raise ValueError(f"{c.name}: {c.weight_count} weights do not fill {c.out_channels} x {c.kernel}x{c.kernel}")
        tag = int(np.frombuffer(data, np.uint32, 1, pos)[0])
        pos += 4
        if tag == FP16_TAG:
            w = np.frombuffer(data, np.float16, c.weight_count, pos).astype(np.float32)
            pos += 2 * c.weight_count
        elif tag == FP32_TAG:
            w = np.frombuffer(data, np.float32, c.weight_count, pos).copy()
            pos += 4 * c.weight_count
        else:
            raise ValueError(f"{c.name}: unsupported ncnn weight storage tag {tag:#x}")
        b = np.zeros(c.out_channels, np.float32)
        if c.bias:
            b = np.frombuffer(data, np.float32, c.out_channels, pos).copy()
            pos += 4 * c.out_channels
        out.append((w.reshape(c.out_channels, c.in_channels, c.kernel, c.kernel), b))
    if pos != len(data):
        raise ValueError(f"{bin_path}: {len(data) - pos} bytes left after {len(convs)} convolutions; the .param "
                         "and .bin do not belong together")
    return out


def rrdbnet_state_dict(weights: list[tuple[np.ndarray, np.ndarray]], template: dict) -> dict:
    """Assign the convolutions, in order, to an RRDBNet state dict's (weight, bias) pairs, checking shapes."""
    import torch

    keys = list(template)
    pairs = [(keys[i], keys[i + 1]) for i in range(0, len(keys), 2)]
    if len(pairs) != len(weights) or not all(w.endswith("weight") and b.endswith("bias") for w, b in pairs):
        raise ValueError(f"the network has {len(pairs)} convolutions, the ncnn model {len(weights)}")
    state = {}
    for (wk, bk), (w, b) in zip(pairs, weights):
        if tuple(template[wk].shape) != w.shape:
            raise ValueError(f"{wk}: network shape {tuple(template[wk].shape)}, ncnn shape {w.shape}")
        state[wk], state[bk] = torch.from_numpy(w), torch.from_numpy(b)
    return state


# Real-ESRGAN x4plus: what the converted file is, and how it must be run to match the original
X4PLUS = {"arch": "ESRGAN", "scale": 4, "num_blocks": 23, "num_filters": 64, "in_nc": 3, "out_nc": 3}
# realesrgan-ncnn-vulkan pads every tile by 10 px (reflect) and crops the output: measured 82.9 dB against
# its output with this padding, 33.8 dB without (the network's 700 px receptive field sees every border)
PREPAD = 10
# the compact model's receptive field is 34 px (one per 3x3 convolution): Upscayl's ncnn run pads tiles the same
# way as for x4plus, and the reference comparison below uses the same 10 px reflect pad
COMPACT_PREPAD = 10


def build_rrdbnet(config: dict):
    """The network a converted file's configuration describes: RRDBNet (x4plus, engine/upscale/rrdbnet.py) or
    SRVGGNetCompact (the compact general model, engine/upscale/srvgg.py)."""
    if config.get("arch") == "SRVGG":
        from .srvgg import SRVGGNetCompact

        return SRVGGNetCompact(in_nc=config["in_nc"], out_nc=config["out_nc"], num_feat=config["num_feat"],
                               num_conv=config["num_conv"], scale=config["scale"])
    from .rrdbnet import RRDBNet

    return RRDBNet(in_nc=config["in_nc"], out_nc=config["out_nc"], num_filters=config["num_filters"],
                   num_blocks=config["num_blocks"], scale=config["scale"])


def convert(param_path: Path, bin_path: Path, output: Path, config: dict = X4PLUS, source: str = "",
            half_weights: bool = False) -> Path:
    """ncnn .param/.bin -> safetensors with the architecture, padding and provenance in its metadata.

    half_weights stores the convolution weights as fp16, which loses nothing when ncnn stored them as fp16
    (Real-ESRGAN's release does; checked per tensor) and halves the file; biases stay fp32."""
    import json
    import os

    import torch
    from safetensors.torch import save_file

    from ..downloads import sha256_of

    net = build_rrdbnet(config)
    if config.get("arch") == "SRVGG":
        state = srvgg_state_dict(read_srvgg_weights(param_path, bin_path), net.state_dict())
    else:
        state = rrdbnet_state_dict(read_weights(param_path, bin_path), net.state_dict())
    net.load_state_dict(state)  # strict: every parameter assigned
    prepad = COMPACT_PREPAD if config.get("arch") == "SRVGG" else PREPAD
    meta = {"format": "facebridge-upscaler", "config": json.dumps(config), "prepad": str(prepad),
            "source": source or Path(param_path).stem, "source_param_sha256": sha256_of(Path(param_path)),
            "source_bin_sha256": sha256_of(Path(bin_path))}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tensors = {}
    for k, v in state.items():
        if half_weights and k.endswith("weight") and torch.equal(v.half().float(), v):
            v = v.half()
        tensors[k] = v.contiguous()
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, output)
    return output


def tensor_digest(path: Path) -> str:
    """SHA-256 over a safetensors file's tensors (sorted names, dtypes, shapes, raw bytes), so two files with
    the same weights agree whatever order their metadata header was written in."""
    import hashlib

    from safetensors import safe_open

    h = hashlib.sha256()
    with safe_open(str(path), framework="np") as f:
        for k in sorted(f.keys()):
            a = np.ascontiguousarray(f.get_tensor(k))
            h.update(f"{k}|{a.dtype.str}|{a.shape}\n".encode())
            h.update(a.tobytes())
    return h.hexdigest()


# realesr-general-x4v3 (SRVGGNetCompact): the compact general model Upscayl ships as "realesrgan-x4fast"
COMPACT = {"arch": "SRVGG", "scale": 4, "num_feat": 64, "num_conv": 32, "in_nc": 3, "out_nc": 3}


def read_srvgg_weights(param_path: Path, bin_path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """("conv", weight, bias) and ("prelu", slopes, empty) in graph order. ncnn stores a PReLU's slopes as
    raw fp32 (no storage tag), a convolution's weights behind a tag, then its fp32 bias."""
    lines = Path(param_path).read_text().split("\n")
    if not lines or lines[0].strip() != "7767517":
        raise ValueError(f"{param_path}: not an ncnn param file (no 7767517 magic)")
    data = Path(bin_path).read_bytes()
    pos, out = 0, []
    convs = {c.name: c for c in read_param(param_path)}
    for line in lines[2:]:
        parts = line.split()
        if not parts or parts[0] not in ("Convolution", "PReLU"):
            continue
        if parts[0] == "PReLU":
            params = dict(re.match(r"(-?\d+)=(.*)", p).groups() for p in parts[6:])
            n = int(params.get("0", "1"))
            out.append(("prelu", np.frombuffer(data, np.float32, n, pos).copy(), np.zeros(0, np.float32)))
            pos += 4 * n
            continue
        c = convs[parts[1]]
        tag = int(np.frombuffer(data, np.uint32, 1, pos)[0])
        pos += 4
        if tag != FP16_TAG:
            raise ValueError(f"{c.name}: unsupported ncnn weight storage tag {tag:#x}")
        w = np.frombuffer(data, np.float16, c.weight_count, pos).astype(np.float32)
        pos += 2 * c.weight_count
        b = np.frombuffer(data, np.float32, c.out_channels, pos).copy() if c.bias else np.zeros(c.out_channels,
                                                                                                np.float32)
        pos += 4 * c.out_channels if c.bias else 0
        out.append(("conv", w.reshape(c.out_channels, c.in_channels, c.kernel, c.kernel), b))
    if pos != len(data):
        raise ValueError(f"{bin_path}: {len(data) - pos} bytes left over; the .param and .bin do not belong "
                         "together")
    return out


def srvgg_state_dict(layers: list, template: dict) -> dict:
    """Assign the layers, in order, to an SRVGGNetCompact state dict (body.i.weight/bias, body.i.weight for
    a PReLU), checking every shape."""
    import torch

    keys = sorted({k.rsplit(".", 1)[0] for k in template}, key=lambda k: int(k.split(".")[1]))
    if len(keys) != len(layers):
        raise ValueError(f"the network has {len(keys)} layers with weights, the ncnn model {len(layers)}")
    state = {}
    for key, (kind, w, b) in zip(keys, layers):
        if tuple(template[f"{key}.weight"].shape) != w.shape:
            raise ValueError(f"{key}: network shape {tuple(template[key + '.weight'].shape)}, ncnn shape {w.shape}")
        state[f"{key}.weight"] = torch.from_numpy(w)
        if kind == "conv":
            state[f"{key}.bias"] = torch.from_numpy(b)
    return state
