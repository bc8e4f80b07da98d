"""Restore one photo at several step counts (detection done once) and render a labelled grid."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Optional, Sequence

import cv2
import numpy as np

from .io.images import Photo
from .pipeline import PhotoRestorer, PhotoResult, RestoreOptions, to_8bit
from .progress import CancelToken, Progress, ProgressCallback, check


@dataclass
class StepRun:
    steps: int
    seconds: float
    result: PhotoResult


def steps_label(n: int) -> str:
    """'1 step', '4 steps'."""
    return f"{n} step" + ("" if n == 1 else "s")


def compare_steps(session: PhotoRestorer, photo: Photo, steps: Sequence[int], options: RestoreOptions, *,
                  callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> list[StepRun]:
    options = replace(options, upscale=1.0)  # the grid compares faces: no background upscaling, so it stays fast
    faces = None if options.aligned else session.detect(photo, options)
    # one untimed step at the grid's own batch shape first: the first network call at a new shape pays for
    # allocations and kernel selection, which would otherwise make 1 step look slower than 4
    prep = session.prepare(photo, options, faces=faces)
    if prep.crops:
        n = min(len(prep.crops), options.batch_size)
        session.restore_crops(prep.crops[:n], prep.seeds[:n], replace(options, steps=1), cancel=cancel)
    runs = []
    for i, n in enumerate(steps):
        check(cancel)

        def forward(p: Progress, _i=i, _n=n):
            if callback is not None:
                callback(Progress("compare", _i, len(steps), f"{steps_label(_n)}: {p.message}", p.preview))

        t = time.perf_counter()
        result = session.restore_photo(photo, replace(options, steps=n), faces=faces, callback=forward, cancel=cancel)
        runs.append(StepRun(n, time.perf_counter() - t, result))
    return runs


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    scale = max(0.4, img.shape[1] / 400)
    thick = max(1, int(scale * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.rectangle(out, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
    cv2.putText(out, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def render_grid(photo: Photo, runs: list[StepRun], cell: int = 256) -> np.ndarray:
    """Row 0: whole photo (original, then each step count); one row per face below it. Every column has
    the same width, faces included, so the face rows fill the grid under the photos."""
    def fit(img, w):
        img = to_8bit(img)
        h = max(1, round(img.shape[0] * w / img.shape[1]))
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if img.shape[1] > w else cv2.INTER_CUBIC)

    width = cell * 2
    top = [_label(fit(photo.pixels, width), "original")]
    top += [_label(fit(r.result.photo.pixels, width), f"{steps_label(r.steps)}, {r.seconds:.2f} s") for r in runs]
    rows = [np.concatenate(top, axis=1)]
    faces = len(runs[0].result.faces) if runs else 0
    for k in range(faces):
        cells = [_label(fit(runs[0].result.faces[k].before, width), f"face {k + 1}")]
        for r in runs:
            cells.append(_label(fit(r.result.faces[k].after, width), steps_label(r.steps)))
        row = np.concatenate(cells, axis=1)
        pad = rows[0].shape[1] - row.shape[1]
        rows.append(np.pad(row, ((0, 0), (0, max(0, pad)), (0, 0)), constant_values=24))
    width_max = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width_max - r.shape[1]), (0, 0)), constant_values=24) for r in rows]
    return np.concatenate(rows, axis=0)
