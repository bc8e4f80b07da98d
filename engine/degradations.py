"""Blind-face-restoration degradation model (METHOD.md section 4.1):
y = [ (x * k_sigma) downscaled by r  + noise ]_JPEG(q), upscaled back, optional grayscale;
plus what old photos have and a GAN restorer never saw: film grain, halftone print screens, scratches, dust
and creases on the degraded side, and a photographic tone (sepia, cyanotype, faded colour) on both sides, so
a model learns to keep a photo's tone instead of repainting it in natural colour.

Images are RGB uint8 HxWx3. Random parameters are drawn first (`sample_params`) and applied second
(`apply`), so evaluation can fix them per image and seed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np


@dataclass(frozen=True)
class DegradationRanges:
    blur_sigma: tuple[float, float]
    downscale: tuple[float, float]
    noise: tuple[float, float]  # Gaussian noise std, in 1/255 units
    jpeg: tuple[int, int]
    aniso_prob: float = 0.0  # probability of an anisotropic, rotated kernel
    gray_prob: float = 0.0
    # old-photo damage, each with its probability (0 = off; levels without them draw exactly as before)
    grain_prob: float = 0.0  # film grain: spatially correlated, strongest in the mid-tones
    halftone_prob: float = 0.0  # a rotated dot screen, as in a printed and rescanned photo
    scratch_prob: float = 0.0  # scratches, dust specks and creases across the picture
    tone_prob: float = 0.0  # sepia / cyanotype / faded colour, applied to the clean target too
    # probability of running the blur-downscale-noise-JPEG chain at twice the crop's size (the crop enlarged,
    # degraded with the same ranges, area-reduced back): what a 512 px photo degraded by the same recipe looks
    # like once aligned to a 256 px crop, i.e. the peers' protocol as a 256 px model sees it (0 = off)
    double_scale_prob: float = 0.0

    @property
    def old_photo(self) -> bool:
        return any((self.grain_prob, self.halftone_prob, self.scratch_prob, self.tone_prob))

    def to_dict(self) -> dict:
        return asdict(self)


# Training ranges follow GPU-NOTES.md's prototype (a subset of GFPGAN's), with anisotropic kernels.
TRAIN = DegradationRanges((0.1, 4.0), (1.0, 6.0), (0.0, 15.0), (40, 95), aniso_prob=0.5, gray_prob=0.1)
# The whole-head models' range: GFPGAN's (blur 0.1-10, downscale 0.8-8, noise 0-20, JPEG 60-100) plus old-photo
# damage. Probabilities are per sample; most samples still get only the GFPGAN chain.
WIDE = DegradationRanges((0.1, 10.0), (0.8, 8.0), (0.0, 20.0), (60, 100), aniso_prob=0.5, gray_prob=0.1,
                         grain_prob=0.15, halftone_prob=0.08, scratch_prob=0.2, tone_prob=0.2)
# wide, with half the samples degraded at twice the crop's size: a 256 px model trained on `wide` alone sees
# every input as if the damage had been done at 256 px, twice as harsh as GFPGAN's recipe done at 512 px (the
# peers' protocol) once aligned to the crop, and smooths mild faces away (docs/TRAINING.md, v7)
MIXED = replace(WIDE, double_scale_prob=0.5)
TRAIN_RANGES = {"narrow": TRAIN, "wide": WIDE, "mixed": MIXED}
# Evaluation levels. moderate and severe are exactly GPU-NOTES.md's protocol so numbers compare.
LEVELS: dict[str, DegradationRanges] = {
    "mild": DegradationRanges((0.5, 1.5), (1.5, 2.0), (1.0, 5.0), (70, 90)),
    "moderate": DegradationRanges((1.0, 3.0), (2.0, 4.0), (3.0, 10.0), (50, 80)),
    "severe": DegradationRanges((2.0, 4.0), (4.0, 8.0), (8.0, 20.0), (30, 60)),
    # GFPGAN's CelebA-Test recipe (isotropic blur), the peers' published benchmark; applied at 512 px
    "celeba-test": DegradationRanges((0.1, 10.0), (0.8, 8.0), (0.0, 20.0), (60, 100)),
}


def train_ranges(name: str) -> DegradationRanges:
    try:
        return TRAIN_RANGES[name]
    except KeyError:
        raise ValueError(f"unknown training degradation {name!r}; choose one of {sorted(TRAIN_RANGES)}") from None


def get_level(name: str) -> DegradationRanges:
    try:
        return LEVELS[name]
    except KeyError:
        raise ValueError(f"unknown degradation level {name!r}; choose one of {sorted(LEVELS)}") from None


@dataclass(frozen=True)
class DegradationParams:
    sigma_x: float
    sigma_y: float
    theta: float
    downscale: float
    noise: float
    jpeg: int
    gray: bool
    noise_seed: int
    grain: float = 0.0  # grain std in 1/255 units (0 = none)
    halftone: float = 0.0  # dot-screen period in pixels (0 = none)
    scratches: int = 0  # how many scratches/specks/creases (0 = none)
    tone: int = -1  # index into TONES (-1 = none)
    tone_strength: float = 0.0
    damage_seed: int = 0
    work_scale: int = 1  # the chain runs at this multiple of the image's size (see double_scale_prob)


def sample_params(ranges: DegradationRanges, rng: np.random.Generator) -> DegradationParams:
    sx = float(rng.uniform(*ranges.blur_sigma))
    aniso = rng.random() < ranges.aniso_prob
    sy = float(rng.uniform(*ranges.blur_sigma)) if aniso else sx
    theta = float(rng.uniform(-math.pi, math.pi)) if aniso else 0.0
    return DegradationParams(
        sigma_x=sx, sigma_y=sy, theta=theta,
        downscale=float(rng.uniform(*ranges.downscale)),
        noise=float(rng.uniform(*ranges.noise)),
        jpeg=int(rng.uniform(ranges.jpeg[0], ranges.jpeg[1])),
        gray=bool(rng.random() < ranges.gray_prob),
        noise_seed=int(rng.integers(0, 2**31 - 1)),
        **_old_photo_params(ranges, rng),
    )


def _old_photo_params(ranges: DegradationRanges, rng: np.random.Generator) -> dict:
    """Drawn after everything else and only when enabled, so the plain levels keep their exact samples."""
    if not ranges.old_photo:
        return {}
    out = {"damage_seed": int(rng.integers(0, 2**31 - 1))}
    if rng.random() < ranges.grain_prob:
        out["grain"] = float(rng.uniform(3.0, 14.0))
    if rng.random() < ranges.halftone_prob:
        out["halftone"] = float(rng.uniform(2.5, 5.0))
    if rng.random() < ranges.scratch_prob:
        out["scratches"] = int(rng.integers(1, 12))
    if rng.random() < ranges.tone_prob:
        out["tone"] = int(rng.integers(0, len(TONES)))
        out["tone_strength"] = float(rng.uniform(0.5, 1.0))
    if ranges.double_scale_prob and rng.random() < ranges.double_scale_prob:  # drawn last: wide keeps its samples
        out["work_scale"] = 2
    return out


def gaussian_kernel(sigma_x: float, sigma_y: float, theta: float, max_size: int = 41) -> np.ndarray:
    """Normalised 2-D Gaussian on an integer grid, rotated by theta; odd size up to max_size."""
    radius = min(max_size // 2, max(1, int(math.ceil(3.0 * max(sigma_x, sigma_y)))))
    ax = np.arange(-radius, radius + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).astype(np.float32)


# Photographic tones as (shadow, highlight) RGB endpoints a print's luminance is mapped between.
TONES = (
    ((0.16, 0.09, 0.04), (1.00, 0.93, 0.78)),  # sepia
    ((0.22, 0.14, 0.08), (0.96, 0.88, 0.70)),  # warm brown, lifted blacks
    ((0.03, 0.10, 0.25), (0.86, 0.94, 1.00)),  # cyanotype
    ((0.12, 0.10, 0.10), (0.97, 0.95, 0.90)),  # faded warm gray
    ("faded",),  # faded colour: less saturation, lifted blacks, a yellow-magenta cast
)


def apply_tone(image: np.ndarray, index: int, strength: float) -> np.ndarray:
    """A photographic tone on an RGB uint8 image; used on both sides of a training pair."""
    x = image.astype(np.float32) / 255.0
    tone = TONES[index]
    lum = (x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None]
    if tone[0] == "faded":
        toned = 0.55 * x + 0.45 * lum
        toned = 0.12 + 0.8 * toned
        toned = toned * np.array([1.04, 0.97, 0.86], np.float32)
    else:
        lo, hi = (np.array(t, np.float32) for t in tone)
        toned = lo + lum * (hi - lo)
    out = (1.0 - strength) * x + strength * toned
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def _grain(x: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """Film grain: blurred noise, shared by the channels, scaled up in the mid-tones."""
    h, w = x.shape[:2]
    g = rng.standard_normal((h, w), dtype=np.float32)
    g = cv2.GaussianBlur(g, (0, 0), float(rng.uniform(0.5, 1.2)))
    g /= max(1e-6, float(g.std()))
    lum = x.mean(axis=2, keepdims=True)
    return x + g[..., None] * (std / 255.0) * (0.4 + 2.4 * lum * (1.0 - lum))


def _halftone(x: np.ndarray, period: float, rng: np.random.Generator) -> np.ndarray:
    """A rotated dot screen (darker areas get bigger dots), softened as a scanner would see it."""
    h, w = x.shape[:2]
    angle = float(rng.uniform(0, math.pi / 2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (np.cos(angle) * xx + np.sin(angle) * yy) * (2 * math.pi / period)
    v = (-np.sin(angle) * xx + np.cos(angle) * yy) * (2 * math.pi / period)
    screen = (0.5 + 0.25 * (np.cos(u) + np.cos(v)))[..., None]
    printed = (x > screen).astype(np.float32)
    printed = cv2.GaussianBlur(printed, (0, 0), period * 0.35)
    mix = float(rng.uniform(0.3, 0.7))
    return (1.0 - mix) * x + mix * printed


def _scratches(x: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Thin bright or dark curved scratches, dust specks and a soft crease, drawn on the degraded picture."""
    h, w = x.shape[:2]
    layer = np.zeros((h, w), np.float32)
    sign = np.zeros((h, w), np.float32)
    size = max(h, w)
    for _ in range(count):
        kind = rng.random()
        value = 1.0 if rng.random() < 0.7 else -1.0  # most scratches on prints are white
        canvas = np.zeros((h, w), np.float32)
        if kind < 0.5:  # scratch: a gently curved polyline
            p = rng.uniform(0, size, 2)
            angle = rng.uniform(0, math.pi)
            length = rng.uniform(0.2, 0.9) * size
            pts = []
            for t in np.linspace(0, 1, 8):
                angle += rng.normal(0, 0.08)
                pts.append(p + t * length * np.array([math.cos(angle), math.sin(angle)]))
            cv2.polylines(canvas, [np.round(np.array(pts)).astype(np.int32)], False, 1.0,
                          thickness=int(rng.integers(1, 3)), lineType=cv2.LINE_AA)
        elif kind < 0.85:  # dust: a few specks
            for _ in range(int(rng.integers(3, 15))):
                c = tuple(int(v) for v in rng.uniform(0, size, 2))
                cv2.circle(canvas, c, int(rng.integers(1, 3)), 1.0, -1, lineType=cv2.LINE_AA)
        else:  # crease: a long straight line with a soft halo
            a, b = rng.uniform(0, size, 2), rng.uniform(0, size, 2)
            cv2.line(canvas, tuple(int(v) for v in a), tuple(int(v) for v in b), 1.0, 1, cv2.LINE_AA)
            canvas = np.maximum(canvas, 0.35 * cv2.GaussianBlur(canvas, (0, 0), 2.5) / max(1e-6, canvas.max()))
        strength = float(rng.uniform(0.4, 0.9))
        mask = canvas * strength > layer
        layer = np.where(mask, canvas * strength, layer)
        sign = np.where(mask, value, sign)
    bright, dark = layer * (sign > 0), layer * (sign < 0)
    return x * (1.0 - bright[..., None]) + bright[..., None] * 0.95 - dark[..., None] * x * 0.85


def _chain(image: np.ndarray, p: DegradationParams) -> np.ndarray:
    """GFPGAN's chain: blur, downscale, noise, JPEG, and back to the image's size (RGB uint8 in and out)."""
    h, w = image.shape[:2]
    x = image.astype(np.float32) / 255.0
    x = cv2.filter2D(x, -1, gaussian_kernel(p.sigma_x, p.sigma_y, p.theta), borderType=cv2.BORDER_REFLECT_101)
    small = (max(1, int(w / p.downscale)), max(1, int(h / p.downscale)))
    x = cv2.resize(x, small, interpolation=cv2.INTER_LINEAR)
    if p.noise > 0:
        noise_rng = np.random.default_rng(p.noise_seed)
        x = x + noise_rng.standard_normal(x.shape, dtype=np.float32) * (p.noise / 255.0)
    x = np.clip(x, 0.0, 1.0)
    x8 = np.round(x * 255.0).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", x8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(p.jpeg)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    x8 = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return cv2.resize(x8, (w, h), interpolation=cv2.INTER_LINEAR)


def apply(image: np.ndarray, p: DegradationParams) -> np.ndarray:
    """Degrade an RGB uint8 image; returns RGB uint8 of the same size. A tone in `p` is not applied here:
    it belongs to both sides of a pair (degrade_pair)."""
    h, w = image.shape[:2]
    if p.work_scale != 1:
        big = cv2.resize(image, (w * p.work_scale, h * p.work_scale), interpolation=cv2.INTER_CUBIC)
        x8 = cv2.resize(_chain(big, p), (w, h), interpolation=cv2.INTER_AREA)
    else:
        x8 = _chain(image, p)
    if p.grain or p.halftone or p.scratches:
        rng = np.random.default_rng(p.damage_seed)
        x = x8.astype(np.float32) / 255.0
        if p.halftone:
            x = _halftone(x, p.halftone, rng)
        if p.grain:
            x = _grain(x, p.grain, rng)
        if p.scratches:
            x = _scratches(x, p.scratches, rng)
        x8 = np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)
    if p.gray:
        g = cv2.cvtColor(np.ascontiguousarray(x8), cv2.COLOR_RGB2GRAY)
        x8 = np.repeat(g[..., None], 3, axis=2)
    return np.ascontiguousarray(x8)


def degrade(image: np.ndarray, ranges: DegradationRanges, rng: np.random.Generator) -> np.ndarray:
    return apply(image, sample_params(ranges, rng))


def degrade_pair(image: np.ndarray, ranges: DegradationRanges,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(clean target, degraded input): a drawn tone goes on both, so the model learns to keep it."""
    p = sample_params(ranges, rng)
    if p.tone >= 0:
        image = apply_tone(image, p.tone, p.tone_strength)
    return image, apply(image, p)


def degrade_for_eval(image: np.ndarray, level: str, *, seed: int, index: int) -> np.ndarray:
    """Deterministic degradation for evaluation: the same (image index, seed) always gives the same LQ."""
    rng = np.random.default_rng([seed, index, 0xE7A1])
    return apply(image, sample_params(get_level(level), rng))
