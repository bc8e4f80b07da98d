import pytest
import torch

from engine.bridge.hashing import HASHINGS, get_hashing
from engine.bridge.samplers import i2sb_posterior, i3sb_step, sample
from engine.bridge.schedule import BridgeSchedule
from engine.errors import BadInputError, Cancelled
from engine.progress import CancelToken

S = BridgeSchedule()


@pytest.mark.parametrize("name", sorted(HASHINGS))
def test_hash_roundtrip(name):
    h = get_hashing(name)
    x, y = torch.rand(2, 3, 8, 8) * 2 - 1, torch.rand(2, 3, 8, 8) * 2 - 1
    x0 = h.hash(x, y)
    assert x0.shape[1] == h.channels == h.endpoint_x1(y).shape[1]
    torch.testing.assert_close(h.unhash(x0, y), x)


def test_unknown_hashing():
    with pytest.raises(ValueError, match="unknown hashing"):
        get_hashing("noise")


def oracle(x0_true):
    return lambda x_n, n: x0_true.clone()


@pytest.mark.parametrize("sampler", ["i2sb", "i3sb"])
@pytest.mark.parametrize("nfe", [1, 2, 5, 10, 100, 999])
def test_oracle_predictor_ends_at_x0(sampler, nfe):
    x0, x1 = torch.rand(2, 6, 4, 4) * 2 - 1, torch.rand(2, 6, 4, 4) * 2 - 1
    g = torch.Generator().manual_seed(0)
    out = sample(oracle(x0), x1, nfe=nfe, schedule=S, sampler=sampler, generator=g)
    torch.testing.assert_close(out, x0, atol=1e-6, rtol=0)


@pytest.mark.parametrize("sampler", ["i2sb", "i3sb"])
def test_oracle_trajectory_follows_bridge_marginal(sampler):
    # with the true x0, the chain's states must be distributed as q(X_m | x0, x1) at every visited index
    b = 4000
    x0, x1 = torch.full((b, 1, 1, 1), 0.5), torch.full((b, 1, 1, 1), -0.5)
    seen = {}

    def pred(x_n, n):
        seen[n] = x_n.clone()
        return x0

    sample(pred, x1, nfe=10, schedule=S, sampler=sampler, eta=1.0, generator=torch.Generator().manual_seed(1))
    for n, x in seen.items():
        if n == 999:
            continue
        mean = S.mu_x0[n] * 0.5 - S.mu_x1[n] * 0.5
        assert x.mean().item() == pytest.approx(mean, abs=0.01)
        assert x.std().item() == pytest.approx(S.std_sb[n], rel=0.08)


@pytest.mark.parametrize("n,m", [(600, 500), (300, 200), (100, 50)])
def test_i3sb_eta_one_matches_i2sb_coefficients(n, m):
    # METHOD.md 3: with eta = 1, I3SB's coefficients match I2SB's to about 1e-4 away from index 999
    x0, x1 = torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    d = torch.ones(1, 1, 1, 1)
    base = torch.full((1, 1, 1, 1), 0.3)
    k_i3sb = (i3sb_step(S, m, n, base + d, x0, x1, eta=1.0, generator=gen())
              - i3sb_step(S, m, n, base, x0, x1, eta=1.0, generator=gen())).item()
    k_i2sb = (i2sb_posterior(S, m, n, base + d, x0, ot_ode=False, generator=gen())
              - i2sb_posterior(S, m, n, base, x0, ot_ode=False, generator=gen())).item()
    assert k_i3sb == pytest.approx(k_i2sb, abs=2e-3)


def test_seed_reproducible_and_different_seeds_differ():
    x1 = torch.rand(2, 3, 8, 8)
    net = lambda x, n: x * 0.9  # noqa: E731

    def run(seed):
        return sample(net, x1, nfe=5, schedule=S, generator=torch.Generator().manual_seed(seed))

    torch.testing.assert_close(run(3), run(3), rtol=0, atol=0)
    assert (run(3) - run(4)).abs().max() > 1e-4


def test_callback_count_and_cancel():
    calls = []
    sample(lambda x, n: x, torch.zeros(1, 3, 4, 4), nfe=7, schedule=S,
           callback=lambda i, t, x0: calls.append((i, t)))
    assert calls == [(i, 7) for i in range(1, 8)]

    token = CancelToken()

    def cb(i, total, x0):
        if i == 3:
            token.cancel()

    net_calls = []

    def net(x, n):
        net_calls.append(n)
        return x

    with pytest.raises(Cancelled):
        sample(net, torch.zeros(1, 3, 4, 4), nfe=50, schedule=S, callback=cb, cancel=token)
    assert len(net_calls) == 3  # stopped within one step of the request


def test_bad_sampler_arguments():
    with pytest.raises(BadInputError):
        sample(lambda x, n: x, torch.zeros(1, 3, 2, 2), nfe=2, schedule=S, sampler="ddim")
    with pytest.raises(BadInputError):
        sample(lambda x, n: x, torch.zeros(1, 3, 2, 2), nfe=2, schedule=S, sampler="i3sb", eta=2.0)
