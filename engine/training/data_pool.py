"""Per-sample training pairs made by a pool of worker processes, one step ahead of the training step.

Every per-sample pair is a pure function of (seed, step, position in the global batch) and its face, so which
process makes it changes nothing: the pool gives exactly the batches PairSampler gives, at the speed of N
cores. It is how a GPU gets the old-photo damage and the double-scale chain, which the batched tensor path
does not have (docs/DEVICE.md); on this 2-core CPU the network needs both cores, so it stays off.

Workers are spawned, not forked: a fork of a process whose torch / OpenCV thread pools are running can hang in
the child (seen: cv2.setNumThreads in a forked worker after the test suite had used OpenCV). The faces go to them
once, through shared memory, instead of a copy pickled for each.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from multiprocessing import shared_memory

import cv2
import numpy as np

from .data import PairSampler, stack_pairs

BATCH_TIMEOUT_S = 600  # a worker killed outright (out of memory, a crash in native code) loses its batch silently
CLOSE_TIMEOUT_S = 60  # how long close() lets batches still being made finish before it kills the workers
TERMINATE_WAIT_S = 10  # and how long it then waits for the pool to stop

_WORKER: dict = {}  # in a worker: its PairSampler and the shared block the faces live in


def _start_worker(name: str, shape, dtype: str, seed: int, ranges, hflip: bool) -> None:
    cv2.setNumThreads(1)  # one core per worker: the pool is the parallelism
    block = shared_memory.SharedMemory(name=name)
    faces = np.ndarray(shape, np.dtype(dtype), buffer=block.buf)
    _WORKER.update(block=block, sampler=PairSampler(faces, seed, ranges, hflip))


def _make_pair(job):
    step, position, index = job
    return _WORKER["sampler"].pair(step, position, index)


class PooledPairSampler(PairSampler):
    """PairSampler whose batches come from `workers` processes; the next step's batch is made while the
    current one trains. A batch asked for out of order (a resume) is made on the spot."""

    def __init__(self, faces: np.ndarray, seed: int, ranges, workers: int, hflip: bool = True):
        if workers < 1:
            raise ValueError(f"a pooled sampler needs at least one worker, got {workers}")
        faces = np.ascontiguousarray(faces)
        self._block = shared_memory.SharedMemory(create=True, size=max(1, faces.nbytes))
        shared = np.ndarray(faces.shape, faces.dtype, buffer=self._block.buf)
        shared[...] = faces
        super().__init__(shared, seed, ranges, hflip)
        self.workers = workers
        self.pool = mp.get_context("spawn").Pool(
            workers, initializer=_start_worker,
            initargs=(self._block.name, faces.shape, faces.dtype.str, seed, ranges, hflip))
        self._ahead = None  # ((step, global_batch, rank, world), AsyncResult)
        self._in_flight: list = []  # every AsyncResult not yet known to be done, the unused made-ahead ones too

    def _submit(self, key):
        step, global_batch, rank, world = key
        jobs = [(step, j, i) for j, i in self.jobs(step, global_batch, rank, world)]
        result = self.pool.map_async(_make_pair, jobs, chunksize=max(1, len(jobs) // (4 * self.workers)))
        self._in_flight = [r for r in self._in_flight if not r.ready()] + [result]
        return result

    def batch(self, step: int, global_batch: int, rank: int = 0, world: int = 1):
        key = (step, global_batch, rank, world)
        ahead = self._ahead[1] if self._ahead and self._ahead[0] == key else self._submit(key)
        self._ahead = ((step + 1, global_batch, rank, world), self._submit((step + 1, global_batch, rank, world)))
        try:
            return stack_pairs(ahead.get(timeout=BATCH_TIMEOUT_S))
        except mp.TimeoutError:
            raise RuntimeError(f"the {self.workers} data workers made no batch for step {step} in {BATCH_TIMEOUT_S} s: "
                               "a worker may have died (out of memory?); run with fewer --data-workers") from None

    def close(self) -> None:
        """Stop the workers and free the shared faces (the sampler cannot make batches after this).

        Batches still being made are let finish and the workers leave on their own: Pool.terminate() kills a
        worker that may be half-way through writing a result, and the pool's result thread then waits forever
        for the rest of that message (reproduced with 256 px pairs: about one close in twelve hung)."""
        self._ahead = None
        deadline = time.monotonic() + CLOSE_TIMEOUT_S
        for result in self._in_flight:
            result.wait(max(0.0, deadline - time.monotonic()))
        if all(r.ready() for r in self._in_flight):
            self.pool.close()
            self.pool.join()
        else:  # a worker is stuck: terminate, but do not wait on pool threads that may never return
            stopper = threading.Thread(target=self.pool.terminate, daemon=True)
            stopper.start()
            stopper.join(TERMINATE_WAIT_S)
        self._in_flight = []
        self.faces = None  # drop the view before the block goes
        self._block.close()
        self._block.unlink()
