"""The whole-head 256 px model's pieces: template, weight carry-over, paste-back, old-photo degradations,
the CelebA-Test protocol."""

import shutil
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine import degradations as d
from engine.faces.align import align_face
from engine.faces.paste import paste_faces
from engine.modelspec import FFHQ_512, TIGHT_128
from engine.network.config import UNetConfig, preset
from engine.network.transfer import carry_state
from engine.network.unet import UNet, count_flops

from ..conftest import shared_data
from .helpers import face_like

HEAD_256 = FFHQ_512.scaled(256)


def test_whole_head_is_told_from_the_tight_crop():
    assert FFHQ_512.whole_head and HEAD_256.whole_head
    assert not TIGHT_128.whole_head
    assert TIGHT_128.eye_span == pytest.approx(0.397, abs=0.01)


def test_template_derived_from_celebahq_is_a_whole_head_one():
    from engine.evaluation.photo_protocol import HEAD_REFERENCE
    from engine.training.template import derive_template

    folder = shared_data("celebahq-faces/train")
    template, stats = derive_template(folder, 256, samples=24)
    assert template.whole_head and stats["detected"] >= 20
    # within a few pixels of the shipped reference, derived from 300 of the same faces
    assert np.abs(np.array(template.points) - np.array(HEAD_REFERENCE.points)).max() < 6


def test_weights_carry_exactly_to_a_larger_patch():
    old_cfg = preset("tiny", in_channels=3, out_channels=3, image_size=32)
    new_cfg = UNetConfig.from_dict({**old_cfg.to_dict(), "image_size": 64, "patch_size": 2})
    torch.manual_seed(0)
    old = UNet(old_cfg)
    with torch.no_grad():
        for p in old.parameters():
            p.add_(0.05 * torch.randn_like(p))
    new = UNet(new_cfg)
    new.load_state_dict(carry_state(old.state_dict(), old_cfg, new_cfg))
    x, level = torch.randn(2, 3, 32, 32), torch.tensor([100.0, 900.0])
    with torch.no_grad():
        a, b = old(x, level), new(F.interpolate(x, scale_factor=2, mode="nearest"), level)
    assert torch.allclose(F.interpolate(a, scale_factor=2, mode="nearest"), b, atol=1e-5)


def test_carrying_weights_refuses_a_different_network():
    old_cfg = preset("tiny", in_channels=3, out_channels=3, image_size=32)
    wider = UNetConfig.from_dict({**old_cfg.to_dict(), "image_size": 64, "patch_size": 2, "base_channels": 16})
    with pytest.raises(ValueError, match="different network"):
        carry_state(UNet(old_cfg).state_dict(), old_cfg, wider)


def _tiny_patched(detail: int) -> UNetConfig:
    base = preset("tiny", in_channels=3, out_channels=3, image_size=32)
    return UNetConfig.from_dict({**base.to_dict(), "image_size": 64, "patch_size": 4, "channel_mult": [1, 2],
                                 "detail_channels": detail})


def test_a_network_that_gains_a_detail_branch_starts_as_it_was():
    old_cfg, new_cfg = _tiny_patched(0), _tiny_patched(8)
    torch.manual_seed(0)
    old, new = UNet(old_cfg), UNet(new_cfg)
    with torch.no_grad():
        for p in old.parameters():
            p.add_(0.05 * torch.randn_like(p))
    new.load_state_dict(carry_state(old.state_dict(), old_cfg, new_cfg, fresh=new.state_dict()))
    x, level = torch.randn(2, 3, 64, 64), torch.tensor([100.0, 900.0])
    with torch.no_grad():
        assert torch.equal(old(x, level), new(x, level))
    # and the branch learns: one step moves its output off zero, at the branch's finer grid
    loss = (new(x, level) - torch.randn(2, 3, 64, 64)).square().mean()
    loss.backward()
    assert new.detail_out[2].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="fresh"):
        carry_state(old.state_dict(), old_cfg, new_cfg)


def test_detail_branch_config_is_checked_and_costs_what_it_says():
    from engine.network.unet import count_flops

    with pytest.raises(ValueError, match="even"):
        UNetConfig.from_dict({**_tiny_patched(0).to_dict(), "patch_size": 1, "image_size": 32, "detail_channels": 8})
    with pytest.raises(ValueError, match="detail_channels"):
        _tiny_patched(-1)
    # a model saved before the branch existed has no such key and loads without one
    d = _tiny_patched(0).to_dict()
    d.pop("detail_channels")
    assert UNetConfig.from_dict(d).detail_channels == 0
    plain, detailed = (count_flops(UNet(preset(n, in_channels=3, out_channels=3))) for n in ("head256", "head256d"))
    assert 1.2 < detailed / plain < 1.5  # measured 3.17 -> 4.30 GFLOPs per step


def test_a_network_that_gains_top_blocks_starts_as_it_was_and_they_learn():
    old_cfg = _tiny_patched(8)
    new_cfg = UNetConfig.from_dict({**old_cfg.to_dict(), "top_blocks": 2, "top_width": 24})
    torch.manual_seed(0)
    old, new = UNet(old_cfg), UNet(new_cfg)
    with torch.no_grad():
        for p in old.parameters():
            p.add_(0.05 * torch.randn_like(p))
    new.load_state_dict(carry_state(old.state_dict(), old_cfg, new_cfg, fresh=new.state_dict()))
    x, level = torch.randn(2, 3, 64, 64), torch.tensor([100.0, 900.0])
    with torch.no_grad():
        assert torch.equal(old(x, level), new(x, level))
    (new(x, level) - torch.randn(2, 3, 64, 64)).square().mean().backward()
    assert new.top[0].conv2.weight.grad.abs().sum() > 0  # the zeroed last layer gets a gradient
    assert new.top[0].conv1.weight.shape[0] == 24  # through the wide hidden layer
    # both parts gained at once carry too; a top block of another width is a different network
    both = UNetConfig.from_dict({**_tiny_patched(0).to_dict(), "top_blocks": 1})
    carry_state(UNet(_tiny_patched(0)).state_dict(), _tiny_patched(0), both, fresh=UNet(both).state_dict())
    with pytest.raises(ValueError, match="different network"):
        carry_state(new.state_dict(), new_cfg, UNetConfig.from_dict({**new_cfg.to_dict(), "top_width": 32}))
    with pytest.raises(ValueError, match="top_blocks"):
        UNetConfig.from_dict({**old_cfg.to_dict(), "top_blocks": -1})
    plain, wide = (count_flops(UNet(preset(n, in_channels=3, out_channels=3))) for n in ("head256d", "head256w"))
    assert 1.2 < wide / plain < 1.35  # measured 4.30 -> 5.51 GFLOPs per step


def _photo_with_head(size=400):
    img = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (size, size, 3)).astype(np.uint8), (0, 0), 6)
    centre = np.array([size / 2, size / 2])
    pts = (np.array(HEAD_256.points) - 128) * 0.8 + centre  # a head about 205 px across
    return img, pts


def test_whole_head_paste_covers_the_hair_and_leaves_no_seam():
    img, pts = _photo_with_head()
    face = align_face(img, pts, HEAD_256)
    brighter = np.clip(face.crop.astype(int) + 40, 0, 255).astype(np.uint8)
    out = paste_faces(img, [face], [brighter], colour_match=False, template=HEAD_256)
    diff = (out.astype(float) - img).mean(axis=2)
    for x, y in ((128, 24), (24, 128), (232, 128)):  # the hair at the crop's top, the ears at its sides
        at = face.inverse @ np.array([x, y, 1.0])
        assert diff[int(at[1]), int(at[0])] > 39  # blended in whole, not through a face oval
    # the seam: the 40-level step is spread over the feather (a hard edge would be 40 between neighbours)
    seam = max(np.abs(np.diff(diff, axis=0)).max(), np.abs(np.diff(diff, axis=1)).max())
    assert seam < 5.0, seam
    assert np.abs(diff[:, :10]).max() == 0  # far from the head nothing changes


def test_whole_head_near_the_photo_edge():
    img, pts = _photo_with_head()
    pts = pts - [150, 150]  # the head partly outside the photo
    face = align_face(img, pts, HEAD_256)
    out = paste_faces(img, [face], [face.crop], template=HEAD_256)
    assert out.shape == img.shape and np.abs(out.astype(float) - img).mean() < 1.0


def test_old_photo_damage_is_off_in_the_plain_levels():
    for name, ranges in d.LEVELS.items():
        assert not ranges.old_photo, name
        p = d.sample_params(ranges, np.random.default_rng(3))
        assert (p.grain, p.halftone, p.scratches, p.tone) == (0.0, 0.0, 0, -1)
    assert d.WIDE.old_photo and d.train_ranges("wide") is d.WIDE and d.train_ranges("narrow") is d.TRAIN
    with pytest.raises(ValueError, match="unknown training degradation"):
        d.train_ranges("heavy")


def test_celeba_test_level_is_gfpgans_recipe():
    r = d.get_level("celeba-test")
    assert (r.blur_sigma, r.downscale, r.noise, r.jpeg) == ((0.1, 10.0), (0.8, 8.0), (0.0, 20.0), (60, 100))
    assert d.WIDE.blur_sigma == r.blur_sigma and d.WIDE.downscale == r.downscale


@pytest.mark.parametrize("damage", [dict(grain=12.0), dict(halftone=3.5), dict(scratches=8)])
def test_each_kind_of_damage_changes_the_picture(damage):
    img = face_like(96)
    base = replace(d.sample_params(d.LEVELS["mild"], np.random.default_rng(0)), damage_seed=5)
    plain, damaged = d.apply(img, base), d.apply(img, replace(base, **damage))
    assert np.abs(plain.astype(int) - damaged).mean() > 0.5
    np.testing.assert_array_equal(damaged, d.apply(img, replace(base, **damage)))  # seeded


def test_a_tone_goes_on_both_sides_of_a_pair():
    img = face_like(64)
    always = replace(d.WIDE, tone_prob=1.0, gray_prob=0.0)
    toned = [d.degrade_pair(img, always, np.random.default_rng(i)) for i in range(6)]
    for clean, degraded in toned:
        assert clean.shape == img.shape and not np.array_equal(clean, img)
        # the degraded side carries the clean side's tone: their mean colours agree
        assert np.abs(clean.reshape(-1, 3).mean(0) - degraded.reshape(-1, 3).mean(0)).max() < 12
    sepia = d.apply_tone(img, 0, 1.0).reshape(-1, 3).astype(int)
    assert (sepia[:, 0] >= sepia[:, 2]).all()  # sepia: never bluer than red


def test_batched_path_refuses_old_photo_damage():
    from engine.training.data import BatchedPairSampler

    with pytest.raises(ValueError, match="per-sample"):
        BatchedPairSampler(np.zeros((2, 32, 32, 3), np.uint8), 0, torch.device("cpu"), d.WIDE)


def test_identity_cut_maps_the_head_template_onto_the_tight_one():
    from engine.identity import TIGHT_SIZE, to_tight_crop

    img = np.zeros((512, 512, 3), np.uint8)
    head = FFHQ_512
    for x, y in head.points:
        cv2.circle(img, (round(x), round(y)), 3, (255, 255, 255), -1)
    tight = to_tight_crop(img, head)
    assert tight.shape == (TIGHT_SIZE, TIGHT_SIZE, 3)
    for x, y in TIGHT_128.scaled(TIGHT_SIZE).points[:3]:  # eyes and nose land where the thresholds expect them
        assert tight[round(y) - 3:round(y) + 4, round(x) - 3:round(x) + 4].max() > 100


def test_align_folder_writes_aligned_crops(tmp_path):
    from engine.training.align_folder import align_folder

    src = shared_data("webmorph-faces")
    (tmp_path / "src").mkdir()
    for path in sorted(src.glob("*.jpg"))[:2]:
        shutil.copy(path, tmp_path / "src" / path.name)
    (tmp_path / "src" / "broken.jpg").write_bytes(b"not a picture")
    result = align_folder(tmp_path / "src", tmp_path / "out", HEAD_256)
    assert result["aligned"] == 2 and result["skipped"] == ["broken.jpg"]
    crops = [cv2.imread(str(p)) for p in sorted((tmp_path / "out").glob("*.png"))]
    assert len(crops) == 2 and all(c.shape == (256, 256, 3) for c in crops)


def test_celeba_test_protocol_runs_the_whole_photo_path(tmp_path):
    pytest.importorskip("lpips")
    from engine.evaluation.photo_protocol import ProtocolConfig, evaluate_photos, markdown_table
    from engine.io.checkpoints import save_checkpoint

    from .helpers import tiny_model, tiny_spec

    src = shared_data("celebahq-faces/eval")
    folder = tmp_path / "eval"
    folder.mkdir()
    for path in sorted(src.glob("*.jpg"))[:2]:
        shutil.copy(path, folder / path.name)
    cv2.imwrite(str(folder / "z_noface.png"), np.full((512, 512, 3), 90, np.uint8))
    spec = tiny_spec(hashing="none")
    model = save_checkpoint(tmp_path / "m.safetensors", tiny_model(spec), spec)
    result = evaluate_photos(ProtocolConfig(eval_dir=str(folder), model=str(model), steps=(1, 2), device="cpu",
                                            dists=False, identity=False, seed=0))
    assert result["images"] == 3 and result["faces_found"] == 2
    names = [r["name"] for r in result["rows"]]
    assert names == ["degraded input", "i2sb 1 step", "i2sb 2 steps"]
    assert all(np.isfinite(r["lpips"]) and np.isfinite(r["psnr"]) for r in result["rows"])
    assert "GFPGAN" in markdown_table(result)
    # the input row does not depend on the model: a second model's run can take it from the first's JSON
    from dataclasses import replace as with_

    from engine.evaluation.run import save_result

    save_result(result, tmp_path / "first.json")
    base = ProtocolConfig(eval_dir=str(folder), model=str(model), steps=(1,), device="cpu", dists=False,
                          identity=False, reuse_input=str(tmp_path / "first.json"))
    again = evaluate_photos(base)
    assert again["rows"][0] == result["rows"][0]
    with pytest.raises(ValueError, match="other images"):
        evaluate_photos(with_(base, limit=2))
    # a general upscaler as a reference row: 128 px enlarged x4 (the compact network, to stay fast)
    ref = evaluate_photos(with_(base, steps=(), references=("compact",)))
    assert [r["name"] for r in ref["rows"]][1].startswith("Real-ESRGAN compact")
    assert ref["rows"][1]["steps"] == -1 and np.isfinite(ref["rows"][1]["lpips"])
    assert ref["rows"][1]["lpips"] != ref["rows"][0]["lpips"]
