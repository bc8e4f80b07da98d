"""Align a folder of unaligned portraits to a model's face template, for training (e.g. webmorph-faces)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..faces.align import similarity
from ..faces.types import DetectOptions
from ..modelspec import FaceTemplate
from ..io.image_folders import list_images

OVERSAMPLE = 2  # warp at twice the size, then area-downscale: a linear warp that shrinks a face aliases


def align_folder(source: Path, out: Path, template: FaceTemplate, *, detector=None) -> dict:
    """Detect the largest face of every image in `source`, warp it onto `template` and write PNGs to `out`.

    Returns counts and the files without a face (skipped, not fatal). Existing outputs are kept."""
    if detector is None:
        from ..faces.mtcnn import MTCNNDetector

        detector = MTCNNDetector()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    big = template.scaled(template.size * OVERSAMPLE)
    written, skipped = 0, []
    for path in list_images(Path(source)):
        target = out / f"{path.stem}.png"
        if target.exists():
            written += 1
            continue
        img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            skipped.append(path.name)
            continue
        rgb = np.ascontiguousarray(img[..., ::-1])
        faces = detector.detect(rgb, DetectOptions(only_largest=True))
        if not faces:
            skipped.append(path.name)
            continue
        matrix = similarity(faces[0].landmarks, big)
        crop = cv2.warpAffine(img, matrix, (big.size, big.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT_101)
        crop = cv2.resize(crop, (template.size, template.size), interpolation=cv2.INTER_AREA)
        tmp = target.with_name(target.stem + ".tmp.png")
        cv2.imwrite(str(tmp), crop)
        tmp.replace(target)
        written += 1
    return {"aligned": written, "skipped": skipped}
