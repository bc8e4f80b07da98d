"""A photo's tone, kept: sepia, cyanotype, toned and faded prints stay the colour they are.

A toned print is a monochrome picture whose colour is a function of its brightness: sepia runs from dark brown
to cream, a cyanotype from deep to pale blue. The median chroma of each band of luma over the whole photo is
that function (a lookup table, held constant beyond the darkest and brightest bands, where a fitted curve
would swing into colours the print never had); how well it explains every pixel says how toned the photo is. A restored face then takes its chroma from the
photo's own tone curve applied to its restored luma, instead of the colours a model trained on colour photos
would invent (blue eyes, cyan teeth in a sepia portrait). Colour photos, where chroma is not a function of
luma, keep the model's colour (matched to the photo's by the paste's low-frequency colour match).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import cv2
import numpy as np

# RMS of the fit's residual, in 0-255 chroma units, at which a photo counts as toned (below TONED) or as a
# colour photo (above COLOUR); between them the two chromas are mixed. Measured on the shared real photos: a
# sepia print 0.6, a toned sepia portrait 2.9, faded autochromes 3.2-3.7, colour snapshots and studio
# portraits on gray 6.7-18 (the numbers are in docs/TONE.md).
TONED, COLOUR = 2.5, 6.0
FIT_SIDE = 256  # the photo is fitted at this size: the tone is a property of the whole print
BANDS = 32  # luma bands of the lookup table
FACE_EXCESS = 1.5  # face misfit above the photo's at which the face's own colour starts to count
MIN_BAND_PIXELS = 20  # a band with fewer pixels says nothing reliable about the tone


def _ycc(rgb: np.ndarray):
    """BT.601 luma and colour differences of float RGB in [0, 1]."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return y, 0.713 * (r - y), 0.564 * (b - y)


def _rgb(y: np.ndarray, cr: np.ndarray, cb: np.ndarray) -> np.ndarray:
    r = y + cr / 0.713
    b = y + cb / 0.564
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    return np.stack([r, g, b], axis=-1)


@dataclass(frozen=True)
class ToneCurve:
    luma: tuple[float, ...]  # band centres (mean luma of each populated band), increasing, in [0, 1]
    cr: tuple[float, ...]  # median Cr of each band (BT.601 colour difference, [0, 1] units)
    cb: tuple[float, ...]
    residual: float  # RMS misfit in 0-255 chroma units: small for a toned print

    @property
    def weight(self) -> float:
        """How much of a restored face's chroma comes from the tone curve: 1 for a toned print, 0 for colour."""
        return float(np.clip((COLOUR - self.residual) / (COLOUR - TONED), 0.0, 1.0))

    def chroma(self, y: np.ndarray):
        return np.interp(y, self.luma, self.cr), np.interp(y, self.luma, self.cb)

    def misfit(self, rgb: np.ndarray) -> float:
        """RMS distance (0-255 chroma units, the worse of Cr and Cb) of float RGB in [0, 1] from the curve."""
        y, cr, cb = _ycc(rgb)
        fit_cr, fit_cb = self.chroma(y)
        return max(float(np.sqrt(np.mean((fit_cr - cr) ** 2))), float(np.sqrt(np.mean((fit_cb - cb) ** 2)))) * 255.0

    def for_face(self, original: np.ndarray, peak: float = 255.0) -> "ToneCurve":
        """This curve as it applies to one face. A faded colour photo can be nearly toned overall (green foliage,
        blue dress) while its face is warm skin that the curve would turn green: when the central half of the
        original face crop misfits the curve clearly more than the photo does (by FACE_EXCESS, fully at twice
        that), the face's own misfit decides. In a close-up the face is the photo and the two agree to within
        1.5; the autochrome girl's face misfits by 7.25 against the photo's 3.19 (docs/TONE.md)."""
        n, m = original.shape[:2]
        centre = original[n // 4: n - n // 4, m // 4: m - m // 4].reshape(-1, 3).astype(np.float64) / peak
        if centre.size == 0:
            return self
        excess = self.misfit(centre) - self.residual
        blend = float(np.clip(excess / FACE_EXCESS - 1.0, 0.0, 1.0))
        return replace(self, residual=self.residual + blend * excess)  # blend > 0 only where excess > 1.5

    def apply(self, rgb: np.ndarray, peak: float = 255.0) -> np.ndarray:
        """Give float RGB (0..peak) the tone's chroma, in proportion to `weight`; luma is unchanged."""
        w = self.weight
        if w <= 0.0:
            return rgb
        y, cr, cb = _ycc(rgb / peak)
        cr_t, cb_t = self.chroma(y)
        return _rgb(y, w * cr_t + (1 - w) * cr, w * cb_t + (1 - w) * cb) * peak


def fit_tone(pixels: np.ndarray) -> Optional[ToneCurve]:
    """The photo's tone curve (uint8 or uint16 RGB); None for a photo too small or too flat to fit."""
    h, w = pixels.shape[:2]
    if min(h, w) < 8:
        return None
    scale = FIT_SIDE / max(h, w)
    small = cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
        if scale < 1 else pixels
    rgb = small.reshape(-1, 3).astype(np.float64) / (65535.0 if pixels.dtype == np.uint16 else 255.0)
    y, cr, cb = _ycc(rgb)
    if float(y.std()) < 0.02:
        return None
    band = np.minimum((y * BANDS).astype(int), BANDS - 1)
    luma, med_cr, med_cb = [], [], []
    for b in range(BANDS):
        sel = band == b
        if sel.sum() >= MIN_BAND_PIXELS:
            luma.append(float(y[sel].mean()))
            med_cr.append(float(np.median(cr[sel])))
            med_cb.append(float(np.median(cb[sel])))
    if len(luma) < 2:
        return None
    curve = ToneCurve(tuple(luma), tuple(med_cr), tuple(med_cb), 0.0)
    return replace(curve, residual=curve.misfit(rgb))
