"""`facebridge --self-test`: prove an installation (a source checkout or a built application) works.

Loads the bundled model and detector, restores a bundled sample photo headless, writes the result the way
`restore` does, reads it back and checks it: faces found, pixels changed only around faces, identical on a
second run with the same seed, the input file untouched. Prints one line per stage with its time.
"""

from __future__ import annotations

import hashlib
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import __version__
from .cli.paths import default_model_path, resources_dir

SAMPLE_NAME = "astronaut_low_quality.jpg"


class SelfTestFailure(Exception):
    """A check did not hold; the message says which and why."""


@dataclass
class SelfTestReport:
    lines: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    failure: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def default_sample_path() -> Path:
    return resources_dir() / "samples" / SAMPLE_NAME


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _footprint(shape: tuple, inverses: list[np.ndarray], size: int, margin: int = 2) -> np.ndarray:
    """Boolean mask of the pixels any aligned crop can touch when pasted back (paste_faces' own regions)."""
    from .faces.paste import paste_region

    mask = np.zeros(shape[:2], bool)
    for inv in inverses:
        x0, y0, x1, y1 = paste_region(np.asarray(inv, np.float64), size, shape, margin)
        mask[y0:y1, x0:x1] = True
    return mask


def run_self_test(*, model: Optional[str] = None, sample: Optional[str] = None, device: str = "auto",
                  echo: Callable[[str], None] = print) -> SelfTestReport:
    """Run every check; never raises for a failed check (the report carries the reason)."""
    report = SelfTestReport()

    def say(line: str) -> None:
        report.lines.append(line)
        echo(line)

    def timed(name: str, fn):
        t = time.perf_counter()
        value = fn()
        report.timings[name] = time.perf_counter() - t
        return value

    frozen = bool(getattr(sys, "frozen", False))
    say(f"FaceBridge {__version__} self-test ({'built application' if frozen else 'source install'}; "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()})")
    try:
        _run_checks(report, say, timed, model=model, sample=sample, device=device)
    except SelfTestFailure as exc:
        report.failure = str(exc)
    except Exception as exc:  # noqa: BLE001 - the self-test reports whatever broke, with its type
        report.failure = f"{type(exc).__name__}: {exc}"
    total = sum(report.timings.values())
    if report.ok:
        say(f"self-test passed in {total:.2f} s")
    else:
        say(f"self-test FAILED: {report.failure}")
    return report


def _run_checks(report, say, timed, *, model, sample, device) -> None:
    import torch

    from .faces.mtcnn import weights_dir
    from .io.images import read_image, write_image
    from .pipeline import RestoreOptions
    from .session import open_session

    model_path = Path(model) if model else default_model_path()
    sample_path = Path(sample) if sample else default_sample_path()
    for what, path in (("model", model_path), ("sample photo", sample_path),
                       ("MTCNN weights", weights_dir() / "onet.onnx")):
        if not path.is_file():
            raise SelfTestFailure(f"the {what} is missing: {path}")
    say(f"  torch {torch.__version__}, {torch.get_num_threads()} CPU threads; resources in {resources_dir()}")

    session = timed("load", lambda: open_session(str(model_path), device=device, detector="mtcnn"))
    r = session.restorer
    say(f"  load model + detector   {report.timings['load'] * 1000:8.1f} ms  {model_path.name} "
        f"({r.spec.network.image_size} px, default {r.spec.defaults.steps} step(s)) on {r.device.type} "
        f"[{str(r.dtype).removeprefix('torch.')}]")

    before_hash = _sha256(sample_path)
    photo = timed("decode", lambda: read_image(sample_path))
    say(f"  decode                  {report.timings['decode'] * 1000:8.1f} ms  {sample_path.name} "
        f"{photo.size[0]}x{photo.size[1]}")

    options = RestoreOptions(seed=1234)
    prep = timed("detect_align", lambda: session.prepare(photo, options))
    say(f"  detect + align          {report.timings['detect_align'] * 1000:8.1f} ms  {len(prep.crops)} face(s)")
    if not prep.crops:
        raise SelfTestFailure("no face was found in the sample photo")

    restored = timed("restore", lambda: session.restore_crops(prep.crops, prep.seeds, options))
    say(f"  restore (network)       {report.timings['restore'] * 1000:8.1f} ms")
    for crop, out in zip(prep.crops, restored):
        if out.shape != crop.shape or out.dtype != np.uint8:
            raise SelfTestFailure(f"restored face has shape {out.shape} {out.dtype}, expected {crop.shape} uint8")
        change = float(np.abs(out.astype(np.int16) - crop.astype(np.int16)).mean())
        if change < 0.5:
            raise SelfTestFailure(f"the network left the face unchanged (mean change {change:.2f} levels)")
        if float(out.std()) < 5.0:
            raise SelfTestFailure("the restored face is nearly flat (the model produced no image)")
    again = session.restore_crops(prep.crops, prep.seeds, options)
    if any(not np.array_equal(a, b) for a, b in zip(restored, again)):
        raise SelfTestFailure("two runs with the same seed differ")

    result = timed("paste", lambda: session.finish(prep, restored, options))
    say(f"  paste back              {report.timings['paste'] * 1000:8.1f} ms")

    with tempfile.TemporaryDirectory(prefix="facebridge-selftest-") as tmp:
        out_path = Path(tmp) / "restored.png"
        timed("encode", lambda: write_image(out_path, result.photo, protect=(sample_path,)))
        say(f"  encode + write (PNG)    {report.timings['encode'] * 1000:8.1f} ms  {out_path.stat().st_size} bytes")
        back = read_image(out_path)
    if back.size != photo.size:
        raise SelfTestFailure(f"output is {back.size}, input was {photo.size}")
    if not np.array_equal(back.pixels, result.photo.pixels):
        raise SelfTestFailure("the PNG read back differs from the restored pixels")
    changed = np.any(back.pixels != photo.pixels, axis=2)
    allowed = _footprint(photo.pixels.shape, [a.inverse for a in prep.aligned], r.spec.network.image_size)
    if not changed.any():
        raise SelfTestFailure("the output photo is identical to the input")
    outside = int((changed & ~allowed).sum())
    if outside:
        raise SelfTestFailure(f"{outside} pixels changed away from the faces")
    if _sha256(sample_path) != before_hash:
        raise SelfTestFailure("the input photo was modified")
    say(f"  checks: output {back.size[0]}x{back.size[1]}, {int(changed.sum())} pixels changed, all within "
        f"the face regions; same seed gives identical faces; input untouched")
    _check_identity(session, prep.crops[0], restored[0], say, timed, report)
    _check_upscaler(session, photo.pixels, say, timed, report)
    _check_retinaface(photo.pixels, say, timed, report)


def _check_upscaler(session, pixels: np.ndarray, say, timed, report) -> None:
    """The background upscalers (bundled in the built apps) load, match their pinned digests, and enlarge a
    small crop of the sample by 2: the compact default always, x4plus where it is installed."""
    from .pipeline import to_8bit
    from .upscale import weights

    crop = np.ascontiguousarray(to_8bit(pixels)[:32, :32])
    for name in ("compact", "quality"):
        if name == "quality" and not weights.status().available:
            say("  upscaler (x4plus): not installed (--background quality needs it; compact is the default)")
            continue
        upscaler = timed(f"upscaler {name}", lambda: session.upscaler(name))
        if not weights.verify(upscaler.path, name):
            raise SelfTestFailure(f"the {name} upscaler's weights do not match their pinned digest: {upscaler.path}")
        out = timed(f"upscale {name}", lambda: upscaler.upscale(crop, 2))
        if out.shape != (64, 64, 3) or float(out.std()) < 1.0:
            raise SelfTestFailure(f"the {name} upscaler returned {out.shape} with spread {float(out.std()):.2f}")
        say(f"  upscaler ({name:<7})      {report.timings[f'upscale {name}'] * 1000:8.1f} ms  32x32 -> 64x64; load "
            f"{report.timings[f'upscaler {name}'] * 1000:.0f} ms; digest ok")


def _check_identity(session, crop: np.ndarray, restored: np.ndarray, say, timed, report) -> None:
    """The identity meter loads its two dlib files (bundled in the built apps) and reads the sample's face."""
    meter = timed("identity", session.identity_meter)
    same = meter.distance(crop, crop)
    if same.distance is None or same.distance > 1e-6:
        raise SelfTestFailure(f"the identity meter does not read the sample face as itself ({same.to_dict()})")
    drift = meter.distance(crop, restored)
    say(f"  identity meter          {report.timings['identity'] * 1000:8.1f} ms  load; the sample's face "
        f"{drift.label()}")


def _check_retinaface(pixels: np.ndarray, say, timed, report) -> None:
    """Where this install includes RetinaFace (facexlib + torchvision), build it and run it once.

    Random weights (the real ones are an optional download), so only that it runs is checked.
    """
    from .faces.detectors import retinaface_supported

    if not retinaface_supported():
        say("  RetinaFace: not included in this build (MTCNN only)")
        return
    import torch
    from facexlib.detection.retinaface import RetinaFace

    def run():
        net = RetinaFace(network_name="mobile0.25", half=False, device=torch.device("cpu")).eval()
        with torch.inference_mode():
            return net.detect_faces(np.ascontiguousarray(pixels[..., ::-1]), conf_threshold=0.99)

    timed("retinaface", run)
    say(f"  RetinaFace (facexlib)   {report.timings['retinaface'] * 1000:8.1f} ms  runs (random weights)")
