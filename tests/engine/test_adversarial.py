"""The adversarial term (#32): a small patch discriminator, its losses, and a GAN run that resumes exactly."""

import pytest
import torch

from engine.errors import Cancelled
from engine.progress import CancelToken
from engine.training.adversarial import (PatchDiscriminator, count, discriminator_loss, generator_loss,
                                         r1_penalty)
from engine.training.loop import Trainer

from .test_training import cfg, losses


def test_discriminator_is_small_and_judges_patches():
    assert count(PatchDiscriminator(32)) < 1_000_000 and count(PatchDiscriminator(64)) < 3_000_000
    logits = PatchDiscriminator(32)(torch.zeros(2, 3, 256, 256))
    assert logits.shape[0] == 2 and logits.shape[1] == 1 and logits.shape[2] > 20  # a map of patches


@pytest.mark.parametrize("kind", ["hinge", "ns"])
def test_losses_point_the_right_way(kind):
    confident = torch.full((2, 1, 4, 4), 3.0)
    assert discriminator_loss(kind, confident, -confident) < discriminator_loss(kind, -confident, confident)
    assert (generator_loss(kind, confident) < generator_loss(kind, -confident)).all()
    disc = PatchDiscriminator(8)
    assert r1_penalty(disc, torch.randn(2, 3, 32, 32)) > 0


def test_with_r1_the_discriminator_still_learns_to_tell_sharp_from_soft():
    """R1 at weight 1 must leave the discriminator able to separate real texture from a blurred copy: with the
    penalty on the sum of patch logits it grew with the patch count squared and held both logits equal."""
    torch.manual_seed(0)
    disc = PatchDiscriminator(8)
    opt = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.999))
    blur = torch.nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    for _ in range(40):
        real = torch.rand(4, 3, 96, 96) * 2 - 1
        fake = blur(real)
        logits = disc(torch.cat([real, fake]))
        loss = discriminator_loss("hinge", logits[:4], logits[4:]) + 0.5 * 1.0 * r1_penalty(disc, real)
        opt.zero_grad()
        loss.backward()
        opt.step()
    real = torch.rand(8, 3, 96, 96) * 2 - 1
    with torch.no_grad():
        gap = disc(real).mean() - disc(blur(real)).mean()
    assert gap > 1.0  # measured: 3.8 with the per-image mean, 0.09 with the old sum


def test_a_gan_run_trains_the_discriminator_and_resumes_exactly(faces_dir, tmp_path):
    kw = dict(gan=0.1, r1=1.0, gan_start=1)
    straight = Trainer(cfg(faces_dir, tmp_path / "a", **kw))
    before = [p.detach().clone() for p in straight.disc.parameters()]
    straight.run()
    assert any(not torch.equal(a, b) for a, b in zip(before, straight.disc.parameters()))
    state = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    assert "disc" in state and "d_opt" in state

    token = CancelToken()
    with pytest.raises(Cancelled):
        Trainer(cfg(faces_dir, tmp_path / "b", **kw), callback=lambda p: token.cancel() if p.step == 3 else None,
                cancel=token).run()
    resumed = Trainer(cfg(faces_dir, tmp_path / "b", **kw))
    resumed.run()
    for p, q in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    for p, q in zip(straight.disc.parameters(), resumed.disc.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert losses(tmp_path / "a") == losses(tmp_path / "b")
    import json

    logged = [json.loads(line) for line in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all("d_loss" in line for line in logged)  # the discriminator trains from step 0


def test_before_gan_start_the_network_learns_as_without_the_term_while_the_discriminator_warms(faces_dir, tmp_path):
    plain = Trainer(cfg(faces_dir, tmp_path / "plain", steps=2))
    plain.run()
    warming = Trainer(cfg(faces_dir, tmp_path / "gan", steps=2, gan=0.5, gan_start=5))
    before = [p.detach().clone() for p in warming.disc.parameters()]
    warming.run()
    for p, q in zip(plain.model.parameters(), warming.model.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)  # no adversarial signal reached the network yet
    assert any(not torch.equal(a, b) for a, b in zip(before, warming.disc.parameters()))  # but D learned


def test_gan_max_t_keeps_the_adversarial_term_off_the_early_bridge_states(faces_dir, tmp_path):
    """With --gan-max-t 0.5 a sample at t > 0.5 has exactly the loss it has without the GAN; the late ones get
    the term."""
    torch.manual_seed(0)
    hq, lq = torch.rand(16, 3, 32, 32) * 2 - 1, torch.rand(16, 3, 32, 32) * 2 - 1
    plain = Trainer(cfg(faces_dir, tmp_path / "plain", batch=16, time_sampling="uniform"))
    late = Trainer(cfg(faces_dir, tmp_path / "late", batch=16, time_sampling="uniform", gan=1.0, gan_max_t=0.5))
    _, n, with_term = late.loss(hq, lq, step=0)
    _, n_plain, without = plain.loss(hq, lq, step=0)
    assert torch.equal(n, n_plain)
    t = n.float() / (late.schedule.interval - 1)
    early, lat = t > 0.5, t <= 0.5
    assert early.any() and lat.any()
    torch.testing.assert_close(with_term[early], without[early], rtol=0, atol=0)
    assert not torch.allclose(with_term[lat], without[lat])
    with pytest.raises(ValueError, match="gan_max_t"):
        cfg(faces_dir, tmp_path / "bad", gan=1.0, gan_max_t=0.0)


def test_d_every_updates_the_discriminator_on_every_nth_step_only(faces_dir, tmp_path, monkeypatch):
    trainer = Trainer(cfg(faces_dir, tmp_path / "lazy", steps=6, gan=0.1, d_every=3))
    updated = []
    real_step = trainer.discriminator_step
    monkeypatch.setattr(trainer, "discriminator_step", lambda hq: updated.append(trainer.step) or real_step(hq))
    trainer.run()
    assert updated == [0, 3]
    import json

    logged = [json.loads(line) for line in (tmp_path / "lazy" / "log.jsonl").read_text().splitlines()]
    assert all("d_loss" in line for line in logged)  # the last update's figures stand between updates
    with pytest.raises(ValueError, match="d_every"):
        cfg(faces_dir, tmp_path / "bad", gan=0.1, d_every=0)


def test_in_bf16_the_loss_backbones_run_in_bf16_and_hand_back_fp32(faces_dir, tmp_path):
    from dataclasses import replace

    trainer = Trainer(cfg(faces_dir, tmp_path / "bf16", steps=3, gan=0.1, r1=1.0, gan_start=1, precision="bf16"))
    trainer.cfg = replace(trainer.cfg, perceptual=0.5)  # the VGG backbone needs the eval extra: a stand-in below
    seen = []
    trainer.disc.register_forward_hook(lambda m, i, out: seen.append(("disc", out.dtype)))
    trainer.perceptual = lambda a, b: (seen.append(("lpips", torch.is_autocast_enabled("cpu"))) or
                                       (a - b).abs().mean((1, 2, 3)).to(torch.bfloat16))
    trainer.run()
    assert ("lpips", True) in seen and ("disc", torch.bfloat16) in seen
    assert all(k != "lpips" or v for k, v in seen)
    assert trainer._judge(torch.rand(2, 3, 32, 32)).dtype == torch.float32
    assert trainer._perceptual(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)).dtype == torch.float32
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert all(torch.isfinite(p).all() for p in trainer.disc.parameters())

    plain = Trainer(cfg(faces_dir, tmp_path / "fp32", steps=1, gan=0.1))
    seen.clear()
    plain.disc.register_forward_hook(lambda m, i, out: seen.append(("disc", out.dtype)))
    plain.run()
    assert seen and all(v == torch.float32 for _, v in seen)
