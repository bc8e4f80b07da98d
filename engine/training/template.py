"""Derive a model's 5-point face template from its own aligned training faces, by detection."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..faces.types import DetectOptions
from ..modelspec import FaceTemplate
from ..io.image_folders import list_images


def derive_template(folder: Path, size: int, *, samples: int = 300, detector=None) -> tuple[FaceTemplate, dict]:
    """Median landmark positions over `samples` faces, in a size x size crop; plus statistics.

    Tight crops are padded by half their size first: MTCNN misplaces landmarks on faces that fill the
    whole frame (it puts the eyes on the eyebrows).
    """
    if detector is None:
        from ..faces.mtcnn import MTCNNDetector

        detector = MTCNNDetector()
    points, used = [], 0
    for path in list_images(Path(folder))[:samples]:
        img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            continue
        h, w = img.shape[:2]
        pad = max(h, w) // 2
        padded = cv2.copyMakeBorder(img[..., ::-1], pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(127, 127, 127))
        faces = detector.detect(np.ascontiguousarray(padded), DetectOptions(min_face=max(20, w // 4), only_largest=True))
        used += 1
        if faces:
            pts = (faces[0].landmarks - pad) * np.array([size / w, size / h])
            points.append(pts)
    if len(points) < max(5, used // 4):
        raise ValueError(f"landmarks found in only {len(points)} of {used} images in {folder}; "
                         "cannot derive a template")
    arr = np.stack(points)
    median = np.median(arr, axis=0)
    stats = {"images": used, "detected": len(points), "std_px": np.round(arr.std(axis=0).mean(axis=1), 2).tolist(),
             "detector": getattr(detector, "name", "unknown")}
    return FaceTemplate(tuple(map(tuple, np.round(median, 3).tolist())), size), stats
