"""Facial-component perceptual term (#32): fixed eye and mouth boxes of the template, and how training uses them."""

from dataclasses import replace

import pytest
import torch

from engine.modelspec import FFHQ_512, TIGHT_128
from engine.training.components import component_boxes, crop_components
from engine.training.config import TrainConfig
from engine.training.loop import Trainer



@pytest.mark.parametrize("template,size", [(FFHQ_512, 256), (TIGHT_128, 128), (TIGHT_128, 32)])
def test_boxes_hold_each_eye_and_the_mouth_inside_the_crop(template, size):
    boxes = component_boxes(template, size)
    t = template.scaled(size)
    mouth = ((t.points[3][0] + t.points[4][0]) / 2, (t.points[3][1] + t.points[4][1]) / 2)
    for (top, left, side), (x, y) in zip(boxes, [t.points[0], t.points[1], mouth]):
        assert 0 <= top and top + side <= size and 0 <= left and left + side <= size
        assert left <= x <= left + side and top <= y <= top + side
    sides = {side for _, _, side in boxes}
    assert len(sides) == 1  # one side, so the crops batch together
    if size == 256:  # whole head: the side is the eye span, about a quarter of the crop, and the eyes' boxes meet
        assert sides == {round(t.eye_span * size)} and 56 <= boxes[0][2] <= 72
        assert boxes[0][1] + boxes[0][2] <= boxes[1][1] + 2


def test_crops_come_in_image_then_box_order():
    images = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).reshape(2, 1, 8, 8)
    boxes = [(0, 0, 2), (4, 4, 2), (6, 0, 2)]
    crops = crop_components(images, boxes)
    assert crops.shape == (6, 1, 2, 2)
    assert torch.equal(crops[4], images[1, :, 4:6, 4:6]) and torch.equal(crops[2], images[0, :, 6:8, 0:2])


def test_component_term_adds_the_mean_over_parts_on_the_perceptual_share(faces_dir, tmp_path):
    trainer = Trainer(TrainConfig(data=str(faces_dir), out=str(tmp_path / "run"), preset="tiny", image_size=32,
                                  batch=4, steps=2, device="cpu", perceptual_share=0.5, perceptual_crop=24))
    shown = []
    # stand in a distance that records what it is shown (the VGG backbone needs the eval extra)
    trainer.perceptual = lambda a, b: shown.append(tuple(a.shape)) or (a - b).abs().mean((1, 2, 3))
    trainer.cfg = replace(trainer.cfg, perceptual=2.0, component=3.0)
    trainer.init_template = TIGHT_128
    trainer.components = trainer._component_boxes()
    side = trainer.components[0][2]
    face, hq = torch.rand(4, 3, 32, 32), torch.zeros(4, 3, 32, 32)
    out = trainer._perceptual(face, hq)
    assert shown == [(2, 3, 24, 24), (6, 3, side, side)]
    patch, _ = trainer._perceptual_patch(face[:2], hq[:2])
    parts = crop_components(face[:2], trainer.components).mean((1, 2, 3)).reshape(2, 3).mean(1)
    torch.testing.assert_close(out[:2], 2.0 * patch.mean((1, 2, 3)) + 3.0 * parts)
    assert (out[2:] == 0).all()

    shown.clear()  # the component term alone: no square is drawn
    trainer.cfg = replace(trainer.cfg, perceptual=0.0)
    torch.testing.assert_close(trainer._perceptual(face, hq)[:2], 3.0 * parts)
    assert shown == [(6, 3, side, side)]
    with pytest.raises(ValueError, match="component"):
        TrainConfig(data="d", out="o", component=-1)


def test_component_pixel_term_is_l1_on_the_boxes_of_every_sample_and_needs_no_backbone(faces_dir, tmp_path):
    trainer = Trainer(TrainConfig(data=str(faces_dir), out=str(tmp_path / "run"), preset="tiny", image_size=32,
                                  batch=4, steps=2, device="cpu", perceptual_share=0.5))
    assert trainer.perceptual is None and trainer.components is None
    trainer.cfg = replace(trainer.cfg, component_pixel=2.0)
    trainer.init_template = TIGHT_128
    trainer.components = trainer._component_boxes()
    face, hq = torch.rand(4, 3, 32, 32), torch.zeros(4, 3, 32, 32)
    top, left, side = trainer.components[2]
    face[3, :, top:top + side, left:left + side] = 0  # sample 3's mouth is right
    out = trainer._component_pixel(face, hq)
    parts = crop_components(face, trainer.components).abs().mean((1, 2, 3)).reshape(4, 3).mean(1)
    torch.testing.assert_close(out, 2.0 * parts)
    assert (out > 0).all() and out[3] < out[:3].min()  # every sample, not only the perceptual share
    assert (trainer._component_pixel(hq, hq) == 0).all()
    # the loss picks it up with no LPIPS or discriminator loaded
    hq_batch, lq_batch = trainer.sampler.batch(0, 4, 0, 1)
    torch.manual_seed(0)  # the same bridge times and noise in both
    with_term, _, _ = trainer.loss(hq_batch, lq_batch, 0)
    trainer.cfg = replace(trainer.cfg, component_pixel=0.0)
    torch.manual_seed(0)
    without, _, _ = trainer.loss(hq_batch, lq_batch, 0)
    assert with_term > without
    with pytest.raises(ValueError, match="component_pixel"):
        TrainConfig(data="d", out="o", component_pixel=-0.5)
