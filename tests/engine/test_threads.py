import torch

from engine.threads import apply_cpu_threads, busy_cores, choose_threads, cores


def test_threads_follow_the_idle_cores(monkeypatch):
    monkeypatch.delenv("FACEBRIDGE_THREADS", raising=False)
    assert choose_threads(n_cores=8, busy=0.1) == 8
    assert choose_threads(n_cores=8, busy=3.2) == 5
    assert choose_threads(n_cores=2, busy=2.0) == 1  # never zero
    assert choose_threads(n_cores=2, busy=5.0) == 1
    assert choose_threads(3, n_cores=8, busy=7.0) == 3  # an explicit request wins


def test_environment_override(monkeypatch):
    monkeypatch.setenv("FACEBRIDGE_THREADS", "2")
    assert choose_threads(n_cores=16, busy=0.0) == 2
    monkeypatch.setenv("FACEBRIDGE_THREADS", "lots")  # ignored, not an error
    assert choose_threads(n_cores=4, busy=0.0) == 4


def test_apply_sets_torch_threads_only_on_the_cpu(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("FACEBRIDGE_THREADS", "1")
        assert apply_cpu_threads("cpu") == 1 and torch.get_num_threads() == 1
        assert apply_cpu_threads("meta") is None
    finally:
        torch.set_num_threads(before)


def test_busy_cores_is_a_fraction_of_the_machine():
    assert 0.0 <= busy_cores(0.05) <= cores() + 0.01
