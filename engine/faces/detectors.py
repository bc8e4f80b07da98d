"""Choosing a face detector: RetinaFace when its weights are present (or given), else bundled MTCNN."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional, Protocol

import numpy as np

from ..downloads import OPTIONAL_WEIGHTS, cached_path
from ..errors import BadInputError, ModelError
from .types import DetectedFace, DetectOptions

DETECTORS = ("auto", "mtcnn", "retinaface", "retinaface_mobile")


def retinaface_supported() -> bool:
    """RetinaFace runs on facexlib + torchvision; a slim build (the CPU application) leaves both out."""
    return all(importlib.util.find_spec(m) is not None for m in ("facexlib", "torchvision"))


class FaceDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray, options: DetectOptions = ...) -> list[DetectedFace]: ...


def get_detector(name: str = "auto", *, weights: Optional[Path] = None, device: str = "cpu") -> FaceDetector:
    """`weights`: a user-supplied RetinaFace file (skips the cache)."""
    if name not in DETECTORS:
        raise BadInputError(f"unknown detector {name!r}; choose one of {list(DETECTORS)}")
    if name == "auto":
        if weights is not None:
            name = "retinaface"
        else:
            cached = [k for k in ("retinaface", "retinaface_mobile") if cached_path(OPTIONAL_WEIGHTS[k])]
            name = cached[0] if cached and retinaface_supported() else "mtcnn"
    if name == "mtcnn":
        from .mtcnn import MTCNNDetector

        return MTCNNDetector()
    if not retinaface_supported():
        raise ModelError(name, "this FaceBridge build has no RetinaFace support (facexlib and torchvision are "
                         "not included); use the bundled mtcnn detector")
    path = Path(weights) if weights else cached_path(OPTIONAL_WEIGHTS[name])
    if path is None:
        raise ModelError(OPTIONAL_WEIGHTS[name].name, f"{name} weights are not downloaded yet; run "
                         f"`facebridge models download {name}` or use the bundled mtcnn detector")
    from .retinaface import RetinaFaceDetector

    return RetinaFaceDetector(path, variant=name, device=device)
