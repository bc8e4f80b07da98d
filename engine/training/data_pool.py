"""Per-sample training pairs made by a pool of worker processes, one step ahead of the training step.

Every per-sample pair is a pure function of (seed, step, position in the global batch) and its face, so which
process makes it changes nothing: the pool gives exactly the batches PairSampler gives, at the speed of N
cores. It is how a GPU gets the old-photo damage and the double-scale chain, which the batched tensor path
does not have (docs/DEVICE.md); on this 2-core CPU the network needs both cores, so it stays off.
"""

from __future__ import annotations

import multiprocessing as mp

import cv2

from .data import PairSampler, stack_pairs

_SAMPLER: PairSampler | None = None  # the worker's own copy (inherited on fork, pickled once on spawn)


def _start_worker(sampler: PairSampler) -> None:
    global _SAMPLER
    _SAMPLER = sampler
    cv2.setNumThreads(1)  # one core per worker: the pool is the parallelism


def _make_pair(job):
    step, position, index = job
    return _SAMPLER.pair(step, position, index)


class PooledPairSampler(PairSampler):
    """PairSampler whose batches come from `workers` processes; the next step's batch is made while the
    current one trains. A batch asked for out of order (a resume) is made on the spot."""

    def __init__(self, faces, seed: int, ranges, workers: int, hflip: bool = True):
        super().__init__(faces, seed, ranges, hflip)
        if workers < 1:
            raise ValueError(f"a pooled sampler needs at least one worker, got {workers}")
        # fork shares the face array copy-on-write; spawn (no fork on this platform) pickles it once per worker
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.workers = workers
        self.pool = ctx.Pool(workers, initializer=_start_worker, initargs=(PairSampler(faces, seed, ranges, hflip),))
        self._ahead = None  # ((step, global_batch, rank, world), AsyncResult)

    def _submit(self, key):
        step, global_batch, rank, world = key
        jobs = [(step, j, i) for j, i in self.jobs(step, global_batch, rank, world)]
        return self.pool.map_async(_make_pair, jobs, chunksize=max(1, len(jobs) // (4 * self.workers)))

    def batch(self, step: int, global_batch: int, rank: int = 0, world: int = 1):
        key = (step, global_batch, rank, world)
        ahead = self._ahead[1] if self._ahead and self._ahead[0] == key else self._submit(key)
        self._ahead = ((step + 1, global_batch, rank, world), self._submit((step + 1, global_batch, rank, world)))
        return stack_pairs(ahead.get())

    def close(self) -> None:
        self._ahead = None
        self.pool.terminate()
        self.pool.join()
