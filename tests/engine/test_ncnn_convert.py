"""Converting an ncnn model to the PyTorch RRDBNet: a small network written in ncnn's format and read back."""

import numpy as np
import pytest
import torch

from engine.upscale.ncnn_convert import FP16_TAG, read_param, read_weights, rrdbnet_state_dict

def tiny_config():
    return {"arch": "ESRGAN", "scale": 4, "num_blocks": 1, "num_filters": 8, "in_nc": 3, "out_nc": 3}


def write_ncnn(net, folder, fp16=True):
    """Write `net`'s convolutions as an ncnn .param/.bin pair the way the Real-ESRGAN release stores them
    (fp16 weights behind a storage tag, fp32 bias); non-weight layers are left out: only convs are read."""
    state = list(net.state_dict().items())
    lines, blob = ["7767517", f"{len(state) // 2 + 1} 0", "Input data 0 1 data"], bytearray()
    for i in range(0, len(state), 2):
        (_, w), (_, b) = state[i], state[i + 1]
        lines.append(f"Convolution conv{i // 2} 1 1 in out 0={w.shape[0]} 1={w.shape[2]} 4=1 5=1 6={w.numel()}")
        if fp16:
            blob += np.uint32(FP16_TAG).tobytes() + w.numpy().astype(np.float16).tobytes()
        else:
            blob += np.uint32(0).tobytes() + w.numpy().astype(np.float32).tobytes()
        blob += b.numpy().astype(np.float32).tobytes()
    (folder / "m.param").write_text("\n".join(lines) + "\n")
    (folder / "m.bin").write_bytes(bytes(blob))
    return folder / "m.param", folder / "m.bin"


@pytest.mark.parametrize("fp16", [True, False])
def test_roundtrip_through_the_ncnn_format(tmp_path, fp16):
    from engine.upscale.ncnn_convert import build_rrdbnet

    torch.manual_seed(0)
    net = build_rrdbnet(tiny_config())
    param, bin_ = write_ncnn(net, tmp_path, fp16)
    assert len(read_param(param)) == len(net.state_dict()) // 2
    other = build_rrdbnet(tiny_config())
    other.load_state_dict(rrdbnet_state_dict(read_weights(param, bin_), other.state_dict()))
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        a, b = net(x), other(x)
    assert a.shape == (1, 3, 48, 48)
    assert torch.allclose(a, b, atol=2e-2 if fp16 else 1e-6)


def test_a_bin_that_does_not_match_the_graph_is_refused(tmp_path):
    from engine.upscale.ncnn_convert import build_rrdbnet

    param, bin_ = write_ncnn(build_rrdbnet(tiny_config()), tmp_path)
    bin_.write_bytes(bin_.read_bytes() + b"\0\0\0\0")
    with pytest.raises(ValueError, match="bytes left"):
        read_weights(param, bin_)
    bin_.write_bytes(b"\x01\x02\x03\x04" + bin_.read_bytes()[4:])
    with pytest.raises(ValueError, match="storage tag"):
        read_weights(param, bin_)


def test_shapes_must_match_the_network(tmp_path):
    from engine.upscale.ncnn_convert import build_rrdbnet

    param, bin_ = write_ncnn(build_rrdbnet(tiny_config()), tmp_path)
    wider = build_rrdbnet({**tiny_config(), "num_filters": 16})
    with pytest.raises(ValueError, match="shape"):
        rrdbnet_state_dict(read_weights(param, bin_), wider.state_dict())


def test_convert_writes_safetensors_with_its_provenance(tmp_path):
    from safetensors import safe_open

    from engine.upscale.ncnn_convert import build_rrdbnet, convert

    param, bin_ = write_ncnn(build_rrdbnet(tiny_config()), tmp_path)
    out = convert(param, bin_, tmp_path / "up.safetensors", config=tiny_config(), source="tiny test net")
    with safe_open(str(out), framework="pt") as f:
        meta = f.metadata()
    assert meta["format"] == "facebridge-upscaler" and meta["prepad"] == "10" and len(meta["source_bin_sha256"]) == 64


def test_upscaler_loads_the_converted_file_and_upscales_2x_and_4x(tmp_path):
    from engine.errors import ModelError
    from engine.upscale.model import Upscaler
    from engine.upscale.ncnn_convert import build_rrdbnet, convert

    param, bin_ = write_ncnn(build_rrdbnet(tiny_config()), tmp_path)
    path = convert(param, bin_, tmp_path / "up.safetensors", config=tiny_config())
    up = Upscaler(path)
    image = (np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)
    x4 = up.upscale(image, 4, tile=8, overlap=2, context=4)
    x2 = up.upscale(image, 2, tile=64)
    assert x4.shape == (80, 112, 3) and x4.dtype == np.uint8 and x2.shape == (40, 56, 3)
    # the CPU runs channels_last (faster); it must give what the plain layout gives
    assert up.net.conv_first.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 24, 24)
    plain = build_rrdbnet(tiny_config())
    plain.load_state_dict({k: v.contiguous() for k, v in up.net.state_dict().items()})
    with torch.inference_mode():
        torch.testing.assert_close(up.net(x), plain.eval()(x), rtol=1e-5, atol=1e-5)
    deep = (image.astype(np.uint16) * 257)
    assert up.upscale(deep, 2).dtype == np.uint16
    with pytest.raises(ValueError):
        up.upscale(image, 3)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelError):
        Upscaler(bad)


def write_srvgg_ncnn(net, folder):
    """SRVGGNetCompact as ncnn stores it: Convolution (tag + fp16 weights, fp32 bias) and PReLU (raw fp32
    slopes) layers in graph order."""
    lines, blob = ["7767517", "0 0", "Input data 0 1 data"], bytearray()
    for i, m in enumerate(net.body):
        if isinstance(m, torch.nn.Conv2d):
            w = m.weight.detach()
            lines.append(f"Convolution conv{i} 1 1 in out 0={w.shape[0]} 1=3 4=1 5=1 6={w.numel()}")
            blob += np.uint32(FP16_TAG).tobytes() + w.numpy().astype(np.float16).tobytes()
            blob += m.bias.detach().numpy().astype(np.float32).tobytes()
        else:
            lines.append(f"PReLU prelu{i} 1 1 in out 0={m.weight.numel()}")
            blob += m.weight.detach().numpy().astype(np.float32).tobytes()
    (folder / "c.param").write_text("\n".join(lines) + "\n")
    (folder / "c.bin").write_bytes(bytes(blob))
    return folder / "c.param", folder / "c.bin"


def test_the_compact_model_converts_through_the_ncnn_format(tmp_path):
    from engine.upscale.model import Upscaler
    from engine.upscale.ncnn_convert import build_rrdbnet, convert, read_srvgg_weights

    config = {"arch": "SRVGG", "scale": 4, "num_feat": 8, "num_conv": 2, "in_nc": 3, "out_nc": 3}
    torch.manual_seed(0)
    net = build_rrdbnet(config)
    with torch.no_grad():
        for m in net.body:
            if isinstance(m, torch.nn.PReLU):
                m.weight.uniform_(0.05, 0.5)  # distinct slopes: a PReLU read as a conv (or not at all) shows
    param, bin_ = write_srvgg_ncnn(net, tmp_path)
    out = convert(param, bin_, tmp_path / "c.safetensors", config=config, half_weights=True)
    up = Upscaler(out)
    x = torch.rand(1, 3, 12, 12)
    with torch.no_grad():
        expect = net.half().float()(x)
        got = up.net(x)
    assert got.shape == (1, 3, 48, 48) and torch.allclose(got, expect, atol=1e-3)
    bin_.write_bytes(bin_.read_bytes() + b"\0" * 4)
    with pytest.raises(ValueError, match="left over"):
        read_srvgg_weights(param, bin_)


def test_the_committed_compact_upscaler_is_the_pinned_conversion():
    from engine.cli.paths import resources_dir
    from engine.upscale.model import Upscaler
    from engine.upscale.ncnn_convert import tensor_digest

    from engine.upscale.weights import COMPACT_DIGEST, compact_path

    path = resources_dir() / "models" / "realesr-general-x4v3.safetensors"
    assert path == compact_path()
    assert tensor_digest(path) == COMPACT_DIGEST == "1cbcf6cd23b1066449be98bc7d1645cfbceba929b0b5dd233ab7194be6feb50b"
    up = Upscaler(path)
    assert type(up.net).__name__ == "SRVGGNetCompact" and sum(p.numel() for p in up.net.parameters()) == 1_213_296
    assert (path.parent / "REALESRGAN-COMPACT-LICENSE.md").is_file()
