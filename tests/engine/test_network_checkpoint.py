import json
import struct

import numpy as np
import pytest
import torch

from engine.errors import BadInputError, Cancelled, ModelError
from engine.io.checkpoints import load_checkpoint, read_spec, save_checkpoint
from engine.network import UNet, UNetConfig, count_flops, count_parameters
from engine.network.config import preset
from engine.progress import CancelToken
from engine.restorer import Restorer

from .helpers import face_like, tiny_model, tiny_spec


def test_tiny_model_is_tiny_and_flops_reported():
    model = UNet(preset("tiny", in_channels=6, out_channels=6))
    assert count_parameters(model) < 100_000
    assert count_flops(model) > 0
    out = model(torch.randn(2, 6, 32, 32), torch.tensor([1.0, 500.0]))
    assert out.shape == (2, 6, 32, 32)


def test_config_validation_and_roundtrip():
    cfg = preset("small", in_channels=6, out_channels=6)
    assert UNetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError):
        UNetConfig(image_size=100, channel_mult=(1, 2, 2, 2))
    with pytest.raises(ValueError, match="unknown"):
        UNetConfig.from_dict({"bogus": 1})


@pytest.mark.parametrize("hashing", ["none", "cat", "res"])
def test_checkpoint_roundtrip_identical_outputs(tmp_path, hashing):
    spec = tiny_spec(hashing)
    model = tiny_model(spec)
    path = save_checkpoint(tmp_path / "m.safetensors", model, spec, dtype=torch.float32)
    loaded, spec2 = load_checkpoint(path)
    assert spec2 == spec
    x, lvl = torch.randn(1, spec.network.in_channels, 32, 32), torch.tensor([10.0])
    with torch.no_grad():
        torch.testing.assert_close(model(x, lvl), loaded(x, lvl), rtol=0, atol=0)
    assert read_spec(path).bridge.hashing == hashing


def test_fp16_checkpoint_is_smaller_and_close(tmp_path):
    spec = tiny_spec()
    model = tiny_model(spec)
    p16 = save_checkpoint(tmp_path / "a.safetensors", model, spec)
    p32 = save_checkpoint(tmp_path / "b.safetensors", model, spec, dtype=torch.float32)
    assert p16.stat().st_size < 0.7 * p32.stat().st_size
    a, _ = load_checkpoint(p16)
    x, lvl = torch.randn(1, 6, 32, 32), torch.tensor([10.0])
    with torch.no_grad():
        torch.testing.assert_close(model(x, lvl), a(x, lvl), rtol=0, atol=2e-2)


def test_corrupt_files_rejected_cleanly(tmp_path):
    spec = tiny_spec()
    good = save_checkpoint(tmp_path / "good.safetensors", tiny_model(spec), spec)
    data = good.read_bytes()

    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    pickle_file = tmp_path / "evil.safetensors"
    pickle_file.write_bytes(b"\x80\x04\x95" + b"cos\nsystem\n" * 4)
    for path in (truncated, garbage, pickle_file, tmp_path / "missing.safetensors"):
        with pytest.raises(ModelError) as info:
            load_checkpoint(path)
        assert path.name in str(info.value)

    # valid safetensors, but not ours
    from safetensors.torch import save_file
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"format": "pt"})
    with pytest.raises(ModelError, match="not a FaceBridge model"):
        load_checkpoint(foreign)


def test_mismatched_weights_rejected(tmp_path):
    spec = tiny_spec("cat")
    path = save_checkpoint(tmp_path / "m.safetensors", tiny_model(spec), spec)
    # rewrite the metadata to claim a different width
    n = struct.unpack("<Q", path.read_bytes()[:8])[0]
    header = json.loads(path.read_bytes()[8:8 + n])
    meta = json.loads(header["__metadata__"]["spec"])
    meta["network"]["base_channels"] = 16
    header["__metadata__"]["spec"] = json.dumps(meta)
    new_header = json.dumps(header).encode()
    new_header += b" " * ((8 - len(new_header) % 8) % 8)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(new_header)) + new_header + path.read_bytes()[8 + n:])
    with pytest.raises(ModelError, match="shape|match"):
        load_checkpoint(bad)


def test_restorer_sizes_seeds_batching_and_cancel():
    spec = tiny_spec("cat")
    r = Restorer(tiny_model(spec), spec, device="cpu")
    faces = [face_like(48, 0), face_like(20, 1), face_like(32, 2)]
    out = r.restore(faces, steps=3, seed=7, batch_size=2)
    assert [o.shape for o in out] == [f.shape for f in faces]
    assert all(o.dtype == np.uint8 for o in out)
    again = r.restore(faces, steps=3, seed=7, batch_size=1)  # batching must not change results
    for a, b in zip(out, again):
        np.testing.assert_array_equal(a, b)
    other = r.restore(faces, steps=3, seed=8)
    assert any(np.abs(a.astype(int) - b.astype(int)).max() > 0 for a, b in zip(out, other))

    progress = []
    r.restore(faces[:1], steps=4, callback=progress.append)
    assert [p.step for p in progress] == [1, 2, 3, 4] and progress[-1].preview.shape[2] == 3

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        r.restore(faces, steps=4, cancel=token)
    with pytest.raises(BadInputError):
        r.restore([np.zeros((8, 8), np.uint8)])
    with pytest.raises(BadInputError):
        r.restore(faces, steps=0)


def test_regression_model_restores_in_one_pass():
    spec = tiny_spec("none", objective="regression")
    r = Restorer(tiny_model(spec), spec, device="cpu")
    calls = []
    out = r.restore([face_like(32)], steps=50, callback=calls.append)
    assert out[0].shape == (32, 32, 3) and len(calls) == 1
