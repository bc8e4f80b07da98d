"""Alignment: similarity transform from 5 detected landmarks to the model's template (LMedS, as in
facexlib), warp to the crop, and the inverse transform for paste-back. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import BadInputError
from ..modelspec import FaceTemplate


@dataclass(frozen=True)
class AlignedFace:
    crop: np.ndarray  # size x size x 3, same dtype as the image
    matrix: np.ndarray  # 2x3 affine: image -> crop
    inverse: np.ndarray  # 2x3 affine: crop -> image


def similarity(landmarks: np.ndarray, template: FaceTemplate) -> np.ndarray:
    """2x3 similarity (rotation, uniform scale, translation) mapping landmarks onto the template."""
    src = np.asarray(landmarks, np.float32).reshape(5, 2)
    dst = np.asarray(template.points, np.float32)
    matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if matrix is None or not np.isfinite(matrix).all():
        raise BadInputError("cannot estimate a face alignment from these landmarks")
    return matrix


def align_face(image: np.ndarray, landmarks: np.ndarray, template: FaceTemplate) -> AlignedFace:
    """Warp the face to the template crop. Outside the image, reflect (no hard gray border for the net)."""
    matrix = similarity(landmarks, template)
    crop = cv2.warpAffine(image, matrix, (template.size, template.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)
    return AlignedFace(crop, matrix, cv2.invertAffineTransform(matrix))


def identity_aligned(image: np.ndarray) -> AlignedFace:
    """'Already aligned' mode: the whole image is the face crop (it is resized by the restorer)."""
    eye = np.array([[1, 0, 0], [0, 1, 0]], np.float64)
    return AlignedFace(image, eye, eye)
