"""Paste restored faces back into the photo: inverse warp into a local region only (so huge scans stay
cheap), feathered mask, low-frequency colour matching, the photo's tone and grayscale preserved."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .align import AlignedFace


def feather_mask(size: int, feather: float = 0.12) -> np.ndarray:
    """size x size float mask: 1 inside, smooth ramp to 0 over `feather * size` pixels at each edge."""
    ramp = max(2.0, feather * size)
    d = np.minimum(np.arange(size), np.arange(size)[::-1]).astype(np.float32) + 0.5
    edge = np.clip(d / ramp, 0.0, 1.0)
    edge = edge * edge * (3 - 2 * edge)  # smoothstep: no visible kink where the ramp ends
    return np.outer(edge, edge)


HEAD_FEATHER = 0.08  # of the crop: the ramp a whole-head crop fades out over (the hair reaches within 10 % of its top)


@lru_cache(maxsize=8)
def _cached_face_mask(size: int, points: tuple, whole_head: bool = False) -> np.ndarray:
    """One mask per crop size and template: every photo of a batch blends with the same one. A whole-head crop
    is blended in whole, hair and ears included, fading out towards its edges; a tight crop through a
    face-shaped oval."""
    mask = feather_mask(size, HEAD_FEATHER) if whole_head else face_mask(size, points)
    mask.setflags(write=False)
    return mask


def blend_mask(template, size: int) -> np.ndarray:
    """The mask a face restored in `template`'s alignment is blended back through at `size` px (read-only)."""
    return _cached_face_mask(size, tuple(map(tuple, template.scaled(size).points)), template.whole_head)


def face_mask(size: int, points, feather: float = 0.18) -> np.ndarray:
    """size x size float mask shaped like the face: a soft oval through forehead, cheeks and chin, placed by
    the template's 5 points (eyes, nose, mouth corners), times the square feather so it never reaches the
    crop border. Corners of the square (hair, background, shoulders) keep the original photo.

    The oval: centred 40 % of the way from the eyes' midpoint to the mouth's, half-width 0.98 x the eye
    distance, half-height 1.25 x the eye-to-mouth distance, turned with the eye line; 1 inside 1 - feather
    (in units of the oval's radius), 0 outside 1 + feather, smoothstep between."""
    pts = np.asarray(points, np.float32).reshape(5, 2)
    eyes, mouth = pts[:2].mean(0), pts[3:].mean(0)
    axis = mouth - eyes
    down = axis / max(1e-6, float(np.hypot(*axis)))
    across = np.array([down[1], -down[0]], np.float32)
    centre = eyes + 0.4 * axis
    half_w = 0.98 * float(np.hypot(*(pts[1] - pts[0])))
    half_h = 1.25 * float(np.hypot(*axis))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    rel = np.stack([xx - centre[0], yy - centre[1]], axis=-1)
    r = np.hypot(rel @ across / half_w, rel @ down / half_h)
    t = np.clip((1.0 + feather - r) / (2.0 * feather), 0.0, 1.0)
    return (t * t * (3 - 2 * t)) * feather_mask(size)


def match_colour(restored: np.ndarray, original: np.ndarray, sigma: float) -> np.ndarray:
    """Move the restored face's low frequencies (tint, exposure) onto the original crop's.

    Restoration mostly changes high frequencies (blur, noise, JPEG); a shift in the blurred colour
    is a model error that would show as a patch, so it is removed.
    """
    r, o = restored.astype(np.float32), original.astype(np.float32)
    diff = cv2.GaussianBlur(o - r, (0, 0), sigma)
    return r + diff


def to_gray3(rgb: np.ndarray) -> np.ndarray:
    g = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return np.repeat(g[..., None], 3, axis=2)


def output_inverse(face: AlignedFace, scale: float = 1.0) -> np.ndarray:
    """2x3 affine: crop -> output image, for an output `scale` times the photo's size. Pixel centres: original
    (x + 0.5) lands on s(x + 0.5) - 0.5 in the enlarged image, as cv2.resize and the upscaler place it; scaling
    alone would shift the face (s - 1) / 2 px down-right of the background."""
    inv = face.inverse.astype(np.float64) * scale
    inv[:, 2] += 0.5 * scale - 0.5
    return inv


def paste_region(inverse: np.ndarray, size: int, shape: tuple, margin: int = 2) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the image box, clipped to `shape`, that a `size` crop pasted with `inverse` can touch."""
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inverse.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(0)).astype(int) + margin
    return max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1)


def finish_crop(restored: np.ndarray, original: np.ndarray, *, peak: float = 255.0, colour_match: bool = True,
                grayscale: bool = False, tone=None) -> np.ndarray:
    """A restored crop (uint8 RGB) as it goes into the photo, as float RGB in 0..peak: the original crop's low
    frequencies (colour match), the photo's tone (engine/faces/tone.py), gray for a gray photo. Previews and
    thumbnails go through this too, so what the user picks from is what is saved."""
    rest = restored.astype(np.float32) * (peak / 255.0)
    if colour_match:
        rest = match_colour(rest, original.astype(np.float32), sigma=restored.shape[0] / 10.0)
    if grayscale:
        return to_gray3(rest)
    if tone is not None:
        rest = tone.for_face(original, peak).apply(rest, peak).astype(np.float32)
    return rest


def composite_crop(restored: np.ndarray, original: np.ndarray, **look) -> np.ndarray:
    """finish_crop as uint8 at the restored crop's size (the original crop is resized to it, as 8-bit)."""
    if original.dtype == np.uint16:
        original = (original // 257).astype(np.uint8)
    if original.shape[:2] != restored.shape[:2]:
        original = cv2.resize(original, restored.shape[1::-1], interpolation=cv2.INTER_AREA)
    out = finish_crop(restored, original, **look)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def paste_faces(image: np.ndarray, faces: list[AlignedFace], restored: list[np.ndarray], *,
                scale: float = 1.0, colour_match: bool = True, grayscale: bool = False,
                template=None, tone=None) -> np.ndarray:
    """Blend each restored crop into `image` (already upscaled by `scale` if scale != 1).

    With the model's FaceTemplate the blend is face-shaped (face_mask), or the whole crop with soft edges for a
    whole-head template; without a template, the whole square.

    `faces[i].inverse` maps crop -> original image coordinates; restored crops are uint8 RGB at crop size.
    Works in the image's dtype (uint8 or uint16); only each face's region is processed in float.
    """
    out = image.copy()
    h, w = out.shape[:2]
    peak = 65535.0 if out.dtype == np.uint16 else 255.0
    masks = {}
    for face, crop in zip(faces, restored):
        size = crop.shape[0]
        if size not in masks:
            masks[size] = feather_mask(size) if template is None else blend_mask(template, size)
        rest = finish_crop(crop, face.crop, peak=peak, colour_match=colour_match, grayscale=grayscale, tone=tone)
        inv = output_inverse(face, scale)
        x0, y0, x1, y1 = paste_region(inv, size, (h, w))
        if x1 <= x0 or y1 <= y0:
            continue
        local = inv.copy()
        local[:, 2] -= (x0, y0)
        roi = (x1 - x0, y1 - y0)
        warped = cv2.warpAffine(rest, local, roi, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(masks[size], local, roi, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
        region = out[y0:y1, x0:x1].astype(np.float32)
        blended = mask * warped + (1.0 - mask) * region
        out[y0:y1, x0:x1] = np.clip(np.round(blended), 0, peak).astype(out.dtype)
    return out
