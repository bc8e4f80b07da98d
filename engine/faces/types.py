"""Detected faces and detection options."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DetectedFace:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels
    landmarks: np.ndarray  # (5, 2) float: left eye, right eye, nose, left mouth, right mouth (image left/right)
    score: float

    @property
    def center(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2, (y1 + y2) / 2

    @property
    def size(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(x2 - x1, y2 - y1)

    @property
    def eye_distance(self) -> float:
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))


@dataclass(frozen=True)
class DetectOptions:
    min_face: int = 20  # pixels (box side); smaller faces are ignored
    threshold: float = 0.9  # final-stage confidence
    max_faces: int = 0  # 0 = no limit (keeps the largest)
    only_largest: bool = False
    only_center: bool = False

    def __post_init__(self):
        if self.min_face < 8:
            raise ValueError(f"min_face must be >= 8 pixels, got {self.min_face}")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


def select_and_order(faces: list[DetectedFace], opts: DetectOptions, image_shape) -> list[DetectedFace]:
    """Apply the options, then order faces left to right within rows, rows top to bottom."""
    faces = [f for f in faces if f.size >= opts.min_face and f.score >= opts.threshold]
    if not faces:
        return []
    if opts.only_center:
        h, w = image_shape[:2]
        faces = [min(faces, key=lambda f: (f.center[0] - w / 2) ** 2 + (f.center[1] - h / 2) ** 2)]
    elif opts.only_largest:
        faces = [max(faces, key=lambda f: f.size)]
    if opts.max_faces and len(faces) > opts.max_faces:
        faces = sorted(faces, key=lambda f: -f.size)[: opts.max_faces]
    row_height = float(np.median([f.size for f in faces]))
    return sorted(faces, key=lambda f: (round(f.center[1] / row_height), f.center[0]))
