"""Training objectives: parametrisations, matched time sampling, run-sized EMA, perceptual term."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.bridge.parametrization import Moments, Parametrisation, scalings, visited_indices
from engine.bridge.schedule import BridgeSchedule, step_indices
from engine.io.checkpoints import load_checkpoint
from engine.restorer import Restorer
from engine.training.config import TrainConfig
from engine.training.loop import Trainer, draw_times, ema_decay, step_noise

from .helpers import face_like

SCHEDULE = BridgeSchedule()


def noisy_state(index, x0, x1):
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(12345))  # independent of the endpoints
    return SCHEDULE.q_sample(torch.full((x0.shape[0],), index), x0, x1, noise=noise)


def correlated_endpoints(count=4096, channels=2, rho=0.9, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = 0.5 * torch.randn(count, channels, 1, 1, generator=g) - 0.1
    x1 = rho * x0 + (1 - rho**2) ** 0.5 * 0.5 * torch.randn(count, channels, 1, 1, generator=g)
    return x0, x1


@pytest.mark.parametrize("name", ["eps", "x0", "precond"])
def test_a_perfect_network_gives_the_clean_endpoint(name):
    x0, x1 = correlated_endpoints()
    param = Parametrisation(name, SCHEDULE, Moments.measure(x0, x1))
    for index in (0, 1, 62, 250, 500, 999):
        n = torch.full((x0.shape[0],), index)
        xt = noisy_state(index, x0, x1)
        target = param.target(n, x0, xt)
        torch.testing.assert_close(param.pred_x0(n, xt, target), x0, atol=2e-5, rtol=0)
        torch.testing.assert_close(param.pred_x0(index, xt, target), x0, atol=2e-5, rtol=0)


def test_precond_target_and_input_have_unit_second_moment_at_every_time():
    x0, x1 = correlated_endpoints(count=20000)
    param = Parametrisation("precond", SCHEDULE, Moments.measure(x0, x1))
    for index in (1, 100, 333, 666, 999):
        n = torch.full((x0.shape[0],), index)
        xt = noisy_state(index, x0, x1)
        assert param.target(n, x0, xt).pow(2).mean().item() == pytest.approx(1.0, rel=0.05)
        assert param.net_input(n, xt).pow(2).mean().item() == pytest.approx(1.0, rel=0.05)


def test_precond_scalings_limits():
    m = Moments((0.3,), (0.3,), (0.27,))
    t = scalings(SCHEDULE, m)
    assert t["c_skip"][0, 0] == pytest.approx(1.0, abs=1e-3)  # clean end: keep the input
    assert t["c_out"][0, 0] < 0.02  # ... and correct only the tiny noise
    assert t["c_skip"][-1, 0] == pytest.approx(0.27 / 0.3, abs=0.02)  # degraded end: regress X_0 on X_1


def test_parametrisation_validation():
    with pytest.raises(ValueError, match="unknown parametrisation"):
        Parametrisation("v", SCHEDULE, None)
    with pytest.raises(ValueError, match="moments"):
        Parametrisation("precond", SCHEDULE, None)


def test_matched_time_sampling_visits_the_sampler_indices():
    cfg = TrainConfig(data="", out="", time_sampling="steps", step_counts="1,4,16", uniform_share=0.2)
    g = torch.Generator().manual_seed(0)
    n = draw_times(cfg, g, 5000, 1000)
    visited = {i for idx in visited_indices([1, 4, 16], 1000) for i in idx}
    assert visited == set(step_indices(16)[1:]) | set(step_indices(4)[1:]) | {999}
    share = np.isin(n.numpy(), sorted(visited)).mean()
    assert 0.8 <= share <= 0.84  # 80 % matched plus the uniform draws that land on a visited index
    # every count visits 999: 1/3 x (1 + 1/4 + 1/16) of the matched 80 %
    assert (n == 999).float().mean().item() == pytest.approx(0.8 * (1 + 1 / 4 + 1 / 16) / 3, abs=0.02)
    uniform = draw_times(TrainConfig(data="", out=""), torch.Generator().manual_seed(0), 5000, 1000)
    assert np.isin(uniform.numpy(), sorted(visited)).mean() < 0.05


def test_vectorised_time_draws_equal_the_per_sample_loop_runs_were_made_with():
    """Resuming a run started before the draw was vectorised must continue with the same times."""
    from engine.training.loop import _visited

    cfg = TrainConfig(data="", out="", time_sampling="steps")
    got = draw_times(cfg, torch.Generator().manual_seed(5), 300, 1000)
    g = torch.Generator().manual_seed(5)
    n = torch.randint(0, 1000, (300,), generator=g)
    visited = _visited(cfg.step_counts, 1000)
    pick = torch.randint(0, len(visited), (300,), generator=g)
    where = torch.rand(300, generator=g, dtype=torch.float64)
    keep_uniform = torch.rand(300, generator=g) < cfg.uniform_share
    for j in range(300):
        if not keep_uniform[j]:
            indices = visited[int(pick[j])]
            n[j] = indices[min(len(indices) - 1, int(where[j] * len(indices)))]
    assert torch.equal(got, n)


def test_step_noise_depends_only_on_seed_and_step():
    cfg = TrainConfig(data="", out="", time_sampling="steps")
    a = step_noise(cfg, 7, 8, (3, 4, 4), 1000)
    b = step_noise(cfg, 7, 8, (3, 4, 4), 1000)
    c = step_noise(cfg, 8, 8, (3, 4, 4), 1000)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_ema_halflife_is_a_fraction_of_the_images_seen():
    cfg = TrainConfig(data="", out="", batch=8, ema_halflife=0.1)
    for seen in (800, 80000):
        decay = ema_decay(cfg, 0, seen)
        assert decay ** (0.1 * seen / 8) == pytest.approx(0.5, rel=1e-6)
    assert ema_decay(cfg, 0, 8) < 0.01  # the first step: the average is the model itself
    fixed = TrainConfig(data="", out="", ema=0.999)
    assert ema_decay(fixed, 10**6, 10**7) == 0.999


def test_config_rejects_unknown_choices():
    with pytest.raises(ValueError, match="param"):
        TrainConfig(data="", out="", param="v")
    with pytest.raises(ValueError, match="time_sampling"):
        TrainConfig(data="", out="", time_sampling="log")


def real_faces():
    """The 5-point template is derived by detection, which generated faces do not pass."""
    from tests.conftest import shared_data

    return shared_data("utkface-aligned-200/eval")


def tiny_cfg(faces_dir, out, **kw):
    base = dict(data=str(faces_dir), out=str(out), preset="tiny", image_size=32, batch=4, steps=4, warmup=2,
                log_every=1, ckpt_every=100, sample_every=0, device="cpu", param="precond",
                time_sampling="steps", ema_halflife=0.1)
    base.update(kw)
    return TrainConfig(**base)


def test_precond_run_resumes_exactly_and_exports_its_parametrisation(faces_dir, tmp_path):
    straight = Trainer(tiny_cfg(faces_dir, tmp_path / "a"))
    straight.run()
    first = Trainer(tiny_cfg(faces_dir, tmp_path / "b"))  # two steps, a checkpoint, then a new process resumes
    first.run_dir.mkdir(parents=True)
    first.train_step(first.sampler)
    first.train_step(first.sampler)
    first.save()
    resumed = Trainer(tiny_cfg(faces_dir, tmp_path / "b"))
    resumed.run()
    assert resumed.step == 4
    for p, q in zip(straight.ema, resumed.ema):
        torch.testing.assert_close(p, q, rtol=0, atol=0)

    from engine.training.export import export_run

    state = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    bridge = json.loads(state["bridge"])
    assert bridge["param"] == "precond" and len(bridge["moments"]["x0x0"]) == 3  # none: the face's 3 channels
    path = export_run(tmp_path / "a", tmp_path / "m.safetensors", template_from=str(real_faces()),
                      template_samples=8, default_steps=2)
    model, spec = load_checkpoint(path)
    assert spec.bridge.param == "precond" and spec.bridge.moments == bridge["moments"]
    restorer = Restorer(path, device="cpu")
    out = restorer.restore([face_like(32, 1)], steps=2)
    assert out[0].shape == (32, 32, 3)


def test_init_from_another_model(faces_dir, tmp_path):
    from engine.training.export import export_run

    Trainer(tiny_cfg(faces_dir, tmp_path / "a", param="eps", time_sampling="uniform")).run()
    path = export_run(tmp_path / "a", tmp_path / "a.safetensors", template_from=str(real_faces()),
                      template_samples=8, fp16=False)
    warm = Trainer(tiny_cfg(faces_dir, tmp_path / "b", init=str(path)))
    source, _ = load_checkpoint(path)
    for p, q in zip(warm.model.parameters(), source.parameters()):
        torch.testing.assert_close(p, q)
    warm.run()
    state = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert json.loads(state["init"])["file"] == "a.safetensors"
    with pytest.raises(ValueError, match="different network"):
        Trainer(tiny_cfg(faces_dir, tmp_path / "c", init=str(path), preset="small", image_size=128))


def test_ot_ode_model_is_deterministic_and_refuses_i3sb():
    from dataclasses import replace

    from engine.errors import BadInputError

    from .helpers import tiny_model, tiny_spec

    spec = tiny_spec("cat", size=32)
    spec = replace(spec, bridge=replace(spec.bridge, ot_ode=True))
    restorer = Restorer(tiny_model(spec), spec, device="cpu")
    assert restorer.deterministic
    face = face_like(32, 3)
    a = restorer.restore([face], steps=4, seed=1)[0]
    b = restorer.restore([face], steps=4, seed=2)[0]
    assert np.array_equal(a, b)
    with pytest.raises(BadInputError, match="deterministic"):
        restorer.restore([face], steps=4, sampler="i3sb")


def test_perceptual_crop_takes_the_same_seeded_square_of_both(faces_dir, tmp_path):
    trainer = Trainer(TrainConfig(data=str(faces_dir), out=str(tmp_path / "run"), preset="tiny", image_size=32,
                                  batch=4, steps=2, device="cpu", perceptual_crop=16))
    face, hq = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)

    def where(patch, of):
        return [(y, x) for y in range(17) for x in range(17) if torch.equal(of[..., y:y + 16, x:x + 16], patch)]

    a, b = trainer._perceptual_patch(face, hq)
    assert a.shape == b.shape == (2, 3, 16, 16)
    assert len(where(a, face)) == 1 and where(a, face) == where(b, hq)  # the same square of both
    assert torch.equal(trainer._perceptual_patch(face, hq)[0], a)  # from the seed and step: resumes see the same
    seen = set()
    for step in range(12):
        trainer.step = step
        seen.add(where(trainer._perceptual_patch(face, hq)[0], face)[0])
    assert len(seen) > 3  # the square moves from step to step

    whole = Trainer(TrainConfig(data=str(faces_dir), out=str(tmp_path / "whole"), preset="tiny", image_size=32,
                                batch=4, steps=2, device="cpu"))
    assert whole._perceptual_patch(face, hq)[0] is face


def test_perceptual_term_sees_only_its_share_and_patch(faces_dir, tmp_path):
    # the VGG backbone needs the eval extra; stand in a distance that records what it is shown
    trainer = Trainer(TrainConfig(data=str(faces_dir), out=str(tmp_path / "run"), preset="tiny", image_size=32,
                                  batch=4, steps=2, device="cpu", perceptual_share=0.5, perceptual_crop=24))
    shown = []
    trainer.cfg = replace(trainer.cfg, perceptual=2.0)
    trainer.perceptual = lambda a, b: shown.append(a.shape) or (a - b).abs().mean((1, 2, 3))
    face, hq = torch.rand(4, 3, 32, 32), torch.rand(4, 3, 32, 32)
    out = trainer._perceptual(face, hq)
    assert shown == [(2, 3, 24, 24)]
    assert (out[2:] == 0).all() and (out[:2] > 0).all()
    with pytest.raises(ValueError, match="perceptual_crop"):
        TrainConfig(data="d", out="o", image_size=32, perceptual_crop=64)


def test_parts_new_to_the_init_model_learn_at_their_own_rate_across_a_resume(faces_dir, tmp_path, monkeypatch):
    from engine.io.checkpoints import save_checkpoint
    from engine.network.config import PRESETS

    from .helpers import tiny_model, tiny_spec

    monkeypatch.setitem(PRESETS, "tiny-top", replace(PRESETS["tiny"], top_blocks=1, top_width=16))
    spec = tiny_spec(tiny_cfg(faces_dir, tmp_path).hashing)
    init = save_checkpoint(tmp_path / "init.safetensors", tiny_model(spec), spec, dtype=torch.float32)
    cfg = tiny_cfg(faces_dir, tmp_path / "run", init=str(init), preset="tiny-top", fresh_lr_mult=10.0, steps=3)
    warm = Trainer(cfg)
    base, fresh = warm.opt.param_groups
    assert {id(p) for p in fresh["params"]} == {id(p) for n, p in warm.model.named_parameters()
                                                if n.startswith("top.")}
    warm.run()
    assert fresh["lr"] == pytest.approx(10 * base["lr"]) and base["lr"] > 0
    resumed = Trainer(replace(cfg, steps=4))  # the same split, so the optimiser state loads
    resumed.run()
    assert [g["lr_mult"] for g in resumed.opt.param_groups] == [1.0, 10.0]
    # without the factor, or without parts to apply it to, one group as before
    assert len(Trainer(replace(cfg, out=str(tmp_path / "one"), fresh_lr_mult=1.0)).opt.param_groups) == 1
    with pytest.raises(ValueError, match="fresh_lr_mult"):
        replace(cfg, fresh_lr_mult=0.0)
