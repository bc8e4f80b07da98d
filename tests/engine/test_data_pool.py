"""The pooled per-sample sampler: the same batches as the single-process one, ahead of time, any order."""

import os
import signal
import time

import numpy as np
import pytest
import torch

from engine import degradations
from engine.training import data_pool
from engine.training.config import TrainConfig
from engine.training.data import PairSampler
from engine.training.data_pool import PooledPairSampler

from .helpers import face_like


@pytest.fixture(scope="module")
def faces():
    return np.stack([face_like(64, i) for i in range(6)])


def assert_same(a, b):
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


def test_pool_gives_the_serial_batches_in_order_out_of_order_and_per_rank(faces):
    # mixed: old-photo damage and the double-scale chain, what the batched path lacks
    serial = PairSampler(faces, 5, degradations.MIXED)
    pooled = PooledPairSampler(faces, 5, degradations.MIXED, workers=2)
    try:
        for step in (0, 1, 2):  # in order: each after the first was made ahead
            assert_same(pooled.batch(step, 4), serial.batch(step, 4))
        assert_same(pooled.batch(9, 4), serial.batch(9, 4))  # a resume: the made-ahead step 3 is not used
        assert_same(pooled.batch(10, 4), serial.batch(10, 4))
        for rank in (0, 1):
            assert_same(pooled.batch(4, 4, rank, 2), serial.batch(4, 4, rank, 2))
        with pytest.raises(ValueError, match="not divisible"):
            pooled.batch(5, 5, 0, 2)
    finally:
        pooled.close()


def test_close_lets_the_batch_being_made_finish_and_the_workers_leave_on_their_own(faces):
    # Pool.terminate() on a worker half-way through writing a result left the pool's result thread waiting for
    # the rest of the message forever: the test above hung now and then, both workers dead
    pooled = PooledPairSampler(faces, 5, degradations.MIXED, workers=2)
    workers = list(pooled.pool._pool)
    pooled.batch(0, 4)  # step 1 is being made ahead as close() is called
    ahead = pooled._ahead[1]
    pooled.close()
    assert ahead.ready() and ahead.successful()
    assert [w.exitcode for w in workers] == [0, 0]  # left on the pool's sentinel, not killed


def test_close_returns_even_when_a_worker_is_stuck(faces, monkeypatch):
    monkeypatch.setattr(data_pool, "CLOSE_TIMEOUT_S", 0.5)
    monkeypatch.setattr(data_pool, "TERMINATE_WAIT_S", 1.0)
    pooled = PooledPairSampler(faces, 5, degradations.MIXED, workers=1)
    worker = pooled.pool._pool[0]
    pooled.batch(0, 4)
    os.kill(worker.pid, signal.SIGSTOP)  # stuck mid-batch: never finishes, never answers
    try:
        pooled._submit((7, 4, 0, 1))
        start = time.monotonic()
        pooled.close()
        assert time.monotonic() - start < 10
    finally:
        os.kill(worker.pid, signal.SIGKILL)


def test_a_worker_failure_reaches_the_training_process(faces):
    bad = PooledPairSampler(faces[:, :, :, :1], 0, degradations.MIXED, workers=1)  # one channel: cannot degrade
    try:
        with pytest.raises(Exception):
            bad.batch(0, 2)
    finally:
        bad.close()


def test_data_workers_are_validated():
    with pytest.raises(ValueError, match="negative"):
        TrainConfig(data="", out="", data_workers=-1)
    with pytest.raises(ValueError, match="per-sample"):
        TrainConfig(data="", out="", data_workers=2, data_path="batched")
    with pytest.raises(ValueError, match="at least one worker"):
        PooledPairSampler(np.zeros((1, 8, 8, 3), np.uint8), 0, degradations.TRAIN, workers=0)
