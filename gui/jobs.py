"""The jobs the window runs on its worker thread: plain functions over the engine's API.

Each returns a result object; none touches Qt. A session (model + detector) is built inside the
job when the chosen model/device/precision changed, so the GUI thread never waits on torch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Optional

from engine.batch import BatchRunner, OutputOptions, collect_inputs
from engine.compare import compare_steps
from engine.io.images import Photo, read_image
from engine.pipeline import PhotoRestorer, PhotoResult, RestoreOptions, to_8bit
from engine.progress import PauseToken, Progress
from engine.session import open_session
from engine.threads import apply_cpu_threads


@dataclass(frozen=True)
class SessionKey:
    model: Optional[str]
    device: str
    precision: str
    detector: str = "auto"


class SessionCache:
    """Holds the one loaded session; rebuilt (in a job) when its key changes."""

    def __init__(self):
        self.key: Optional[SessionKey] = None
        self.session: Optional[PhotoRestorer] = None

    def get(self, key: SessionKey) -> PhotoRestorer:
        if self.session is None or key != self.key:
            self.session = open_session(key.model, device=key.device, precision=key.precision, detector=key.detector)
            self.key = key
        # every job: only the cores other programs leave idle (a full pool under load is several times slower)
        apply_cpu_threads(self.session.restorer.device)
        return self.session


@dataclass
class OpenedPhoto:
    photo: Photo
    faces: list  # DetectedFace
    crops: list  # uint8 aligned crops for the face panel
    sec_per_step: float = 0.0  # one measured network step on this device, for the time estimate
    # background model -> (s per processed pixel, measured?), for the estimate; installed models only
    upscale_rate: dict = field(default_factory=dict)


@dataclass
class RestoredPhoto:
    result: PhotoResult
    seconds: float
    steps: int
    before: Optional[object] = None  # the original at the result's size, when enlarged (for the slider)
    upscale_rate: Optional[float] = None  # measured s per processed pixel of the background network, after an upscale
    background: str = ""  # the background network that rate belongs to (the job's, not the controls' now)


def before_at_output_size(photo: Photo, result: PhotoResult):
    """The original, Lanczos-resized to the enlarged result, so the slider compares the same pixels."""
    import cv2

    h, w = result.photo.pixels.shape[:2]
    if (h, w) == photo.pixels.shape[:2]:
        return None
    return cv2.resize(photo.pixels, (w, h), interpolation=cv2.INTER_LANCZOS4)


def open_photo_job(cache: SessionCache, key: SessionKey, path=None, photo: Optional[Photo] = None):
    def job(callback, cancel):
        callback(Progress("load", 0, 1, "loading model and detector"))
        session = cache.get(key)
        p = photo if photo is not None else read_image(path)
        callback(Progress("detect", 0, 1, "finding faces"))
        faces = session.detect(p, RestoreOptions())
        crops = [a.crop for a in session.align(p, faces)]
        # measured now, with the threads chosen for the machine's current load, so the estimate shown before
        # the first run matches what the run will take (a figure from an idle moment was 10x too low)
        step = measure_step(session)
        return OpenedPhoto(p, faces, [to_8bit(c) for c in crops], step, upscale_rate(session, step))
    return job


def upscale_rate(session: PhotoRestorer, sec_per_step: float) -> dict:
    """Each installed background network's rate for the estimate (never loads one)."""
    from engine.upscale.weights import available_backgrounds

    rates = {name: session.upscale_rate_estimate(sec_per_step, name) for name in available_backgrounds()}
    return {name: rate for name, rate in rates.items() if rate is not None}


def measure_step(session: PhotoRestorer) -> float:
    """Time one network step on the session's device (after a warm-up call)."""
    import numpy as np

    r = session.restorer
    face = np.zeros((r.size, r.size, 3), np.uint8)
    r.restore([face], steps=1)
    t = time.perf_counter()
    r.restore([face], steps=1)
    return time.perf_counter() - t


def restore_job(cache: SessionCache, key: SessionKey, opened: OpenedPhoto, options: RestoreOptions, include: list[bool]):
    def job(callback, cancel):
        session = cache.get(key)
        faces = None if options.aligned else [f for f, keep in zip(opened.faces, include) if keep]
        t = time.perf_counter()
        result = session.restore_photo(opened.photo, options, faces=faces, callback=callback, cancel=cancel)
        return RestoredPhoto(result, time.perf_counter() - t, options.steps or session.restorer.spec.defaults.steps,
                             before_at_output_size(opened.photo, result),
                             session.upscale_rate.get(options.background) if options.network_upscale else None,
                             options.background)
    return job


def compare_job(cache: SessionCache, key: SessionKey, opened: OpenedPhoto, options: RestoreOptions, steps):
    def job(callback, cancel):
        session = cache.get(key)
        return compare_steps(session, opened.photo, steps, replace(options, steps=None), callback=callback, cancel=cancel)
    return job


def batch_job(cache: SessionCache, key: SessionKey, paths, recursive: bool, options: RestoreOptions,
              output: OutputOptions, pause: PauseToken, report_path=None):
    def job(callback, cancel):
        session = cache.get(key)
        items, missing = collect_inputs(paths, recursive)
        callback(Progress("queue", 0, len(items), "\n".join(str(i.input) for i in items)))

        def on_file(k, report):
            callback(Progress("file", k, len(items), report.status, detail=report))

        return BatchRunner(session, options, output).run(items, cancel=cancel, on_file=on_file, pause=pause,
                                                        pre_failed=missing, report_path=report_path)
    return job
