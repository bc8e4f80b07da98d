import numpy as np
import pytest
import torch

from engine.bridge.schedule import BridgeSchedule, step_indices

S = BridgeSchedule(1000, 0.3)


def test_table_values_match_method_doc():
    # METHOD.md section 2.2, beta_max = 0.3
    idx = [0, 100, 250, 500, 750, 900, 999]
    np.testing.assert_allclose(S.std_fwd[idx], [0.0100, 0.1042, 0.1732, 0.2659, 0.3337, 0.3611, 0.3755], atol=6e-5)
    np.testing.assert_allclose(S.mu_x0[idx], [0.9993, 0.9231, 0.7876, 0.4993, 0.2114, 0.0761, 0.0007], atol=6e-5)
    np.testing.assert_allclose(S.std_sb[idx], [0.0100, 0.1001, 0.1537, 0.1879, 0.1534, 0.0996, 0.0100], atol=6e-5)
    assert S.betas[0] == pytest.approx(1e-4)
    assert S.betas[499] == pytest.approx(1.865e-4, rel=1e-3)
    assert S.betas.sum() == pytest.approx(0.1410, abs=1e-4)
    assert S.std_sb.max() == pytest.approx(0.1879, abs=1e-4)


def test_beta_max_one_row():
    s = BridgeSchedule(1000, 1.0)
    assert s.betas[499] == pytest.approx(4.327e-4, rel=1e-3)
    assert s.std_fwd[-1] == pytest.approx(0.4969, abs=1e-4)


def test_symmetry_and_float64():
    assert S.betas.dtype == np.float64
    np.testing.assert_allclose(S.std_bwd, S.std_fwd[::-1], rtol=1e-12)
    np.testing.assert_allclose(S.mu_x0 + S.mu_x1, 1.0, rtol=1e-12)


@pytest.mark.parametrize("nfe,expected", [
    (1, [0, 999]), (2, [0, 500, 999]), (4, [0, 250, 500, 749, 999]),
    (10, [0, 100, 200, 300, 400, 500, 599, 699, 799, 899, 999]),
])
def test_step_set_matches_i2sb(nfe, expected):
    assert step_indices(nfe) == expected


def test_step_set_extremes():
    assert step_indices(999) == list(range(1000))
    steps = step_indices(100)
    assert len(steps) == 101 and steps[0] == 0 and steps[-1] == 999 and steps == sorted(set(steps))
    for bad in (0, 1000):
        with pytest.raises(ValueError):
            step_indices(bad)


def test_marginal_mean_and_variance_empirically():
    torch.manual_seed(0)
    x0, x1 = torch.full((1, 3, 8, 8), 0.7), torch.full((1, 3, 8, 8), -0.4)
    for n in (10, 300, 500, 800):
        idx = torch.full((20000,), n)
        xt = S.q_sample(idx, x0.expand(20000, -1, -1, -1), x1.expand(20000, -1, -1, -1))
        mean = S.mu_x0[n] * 0.7 + S.mu_x1[n] * -0.4
        assert xt.mean().item() == pytest.approx(mean, abs=2e-3)
        assert xt.var().item() == pytest.approx(S.std_sb[n] ** 2, rel=0.02)


def test_label_inverts_to_x0():
    x0, x1 = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    n = torch.tensor([0, 10, 500, 999])
    xt = S.q_sample(n, x0, x1)
    torch.testing.assert_close(S.pred_x0(n, xt, S.label(n, x0, xt)), x0, atol=1e-5, rtol=1e-5)


def test_ot_ode_is_deterministic_mean():
    x0, x1 = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    n = torch.tensor([200, 700])
    a, b = S.q_sample(n, x0, x1, ot_ode=True), S.q_sample(n, x0, x1, ot_ode=True)
    torch.testing.assert_close(a, b)


def test_invalid_schedule():
    with pytest.raises(ValueError):
        BridgeSchedule(999, 0.3)
    with pytest.raises(ValueError):
        BridgeSchedule(1000, 0.0)
