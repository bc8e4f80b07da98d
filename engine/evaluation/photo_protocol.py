"""The peers' protocol: GFPGAN's CelebA-Test degradation on 512 px whole-head faces, restored through the whole
photo path (detect -> align -> restore -> paste back), scored at 512 px against the clean image.

Each eval image is degraded once (seeded by its index), detected once, and restored at every step count; a
photo whose face the detector misses comes back as it went in, as it would in the app, and is counted.
Identity is measured on the tight face region of both images, cut at CelebA-HQ's fixed alignment (the
clean image's geometry), so a restored face and its original are compared at the same place.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np

from ..compare import steps_label
from ..degradations import degrade_for_eval
from ..io.images import Photo
from ..modelspec import FaceTemplate
from ..progress import CancelToken, ProgressCallback, check, report
from ..restorer import Restorer
from ..training.data import load_faces
from .metrics import DISTS, LPIPS, psnr, ssim

LEVEL = "celeba-test"
SIZE = 512
# Published CelebA-Test LPIPS, as the project's issue #31 quotes them (their images, not ours)
PUBLISHED = {"GFPGAN": {"lpips": 0.364}, "CodeFormer": {"lpips": 0.343}, "PMRF": {"lpips": 0.347},
             "DiffBIR": {"lpips": 0.388}}
# CelebA-HQ's whole-head alignment as the 256 px models' template gives it (derived by detection from 300 faces
# of celebahq-faces/train): where the identity cut is made for models whose own template is a tight one
HEAD_REFERENCE = FaceTemplate(((99.566, 124.603), (163.276, 124.6), (129.878, 164.966), (102.304, 191.713),
                               (160.183, 191.258)), 256)


@dataclass(frozen=True)
class ProtocolConfig:
    eval_dir: str  # 512 px whole-head faces in CelebA-HQ's alignment (celebahq-faces/eval)
    model: str
    steps: tuple[int, ...] = (1, 2, 4, 8, 16)
    limit: int = 0
    seed: int = 0
    device: str = "auto"
    detector: str = "mtcnn"
    dists: bool = True
    # DISTS (VGG16 at 512 px, about 4.5 s per image on one core) is scored on the first N images only (0 = all),
    # at the input and the model's default step count
    dists_limit: int = 100
    identity: bool = True
    batch: int = 8
    # the "degraded input" row from an earlier run's JSON with the same images, seed and DISTS subset: it does
    # not depend on the model, so a second model need not score it again
    reuse_input: str = ""
    # reference rows from a general upscaler (engine/upscale/catalog.py names: quality = x4plus, compact): each
    # degraded photo area-downscaled to 128 px and enlarged x4 back to 512, no face model at all. LPIPS alone
    # rewards such output (issue #31): the row shows what a model must beat on DISTS and identity too
    references: tuple[str, ...] = ()


class Scorer:
    """PSNR, SSIM, LPIPS-Alex, DISTS and identity of restored 512 px photos against their clean originals."""

    def __init__(self, device: str, *, dists: bool, identity: bool, head_template=None):
        self.lpips = LPIPS(device)
        self.dists = DISTS(device) if dists else None
        self.meter = None
        if identity:
            from ..identity import IdentityMeter

            self.meter = IdentityMeter(head_template.scaled(SIZE) if head_template is not None else None)

    def descriptors(self, images: list[np.ndarray]) -> list[Optional[np.ndarray]]:
        return [self.meter.describe(x) for x in images] if self.meter else []

    def __call__(self, out: list[np.ndarray], clean: list[np.ndarray], clean_desc, dists_on: int = 0) -> dict:
        """dists_on: score DISTS on the first this many images (0 = skip it for this row)."""
        row = {"psnr": float(np.mean([psnr(a, b) for a, b in zip(out, clean)])),
               "ssim": float(np.mean([ssim(a, b) for a, b in zip(out, clean)])),
               "lpips": float(np.mean(self.lpips(out, clean, batch=8)))}
        if self.dists is not None and dists_on:
            row["dists"] = float(np.mean(self.dists(out[:dists_on], clean[:dists_on], batch=4)))
        if self.meter is not None:
            row["identity_per_image"] = [
                None if a is None or (b := self.meter.describe(x)) is None else round(float(np.linalg.norm(a - b)), 4)
                for x, a in zip(out, clean_desc)]
        return row


def reused_input_row(cfg: ProtocolConfig, images: int, dists_on: int) -> dict:
    """The earlier run's input row, after checking it scored the same degraded images the same way."""
    import json

    earlier = json.loads(Path(cfg.reuse_input).read_text())
    same = (earlier.get("protocol", "").startswith(LEVEL) and earlier.get("images") == images
            and earlier.get("dists_images") == (dists_on if cfg.dists else 0)
            and Path(earlier["config"]["eval_dir"]).resolve() == Path(cfg.eval_dir).resolve()
            and earlier["config"]["seed"] == cfg.seed and earlier["config"].get("identity") == cfg.identity)
    if not same:
        raise ValueError(f"{cfg.reuse_input} scored other images or settings; its input row cannot be reused")
    row = dict(earlier["rows"][0])
    if row.get("steps") != 0 or (cfg.identity and "identity_per_image" not in row):
        raise ValueError(f"{cfg.reuse_input} has no reusable input row")
    return row


def common_identity(rows: list[dict]) -> int:
    """Every row's identity as the mean over the same images: those dlib could describe in every row (a blurred
    input it cannot describe would otherwise leave the hardest faces out of the input's mean only). Returns how
    many images that is; each row also keeps the mean over all the images it could describe."""
    per = [r.get("identity_per_image") for r in rows]
    if not per or any(p is None for p in per):
        return 0
    common = [i for i in range(len(per[0])) if all(p[i] is not None for p in per)]
    for r, p in zip(rows, per):
        known = [v for v in p if v is not None]
        r["identity"] = float(np.mean([p[i] for i in common])) if common else None
        r["identity_all_described"] = float(np.mean(known)) if known else None
        r["identity_described"] = len(known)
    return len(common)


def evaluate_photos(cfg: ProtocolConfig, *, callback: Optional[ProgressCallback] = None,
                    cancel: Optional[CancelToken] = None, scorer: Optional[Scorer] = None) -> dict:
    from ..faces.detectors import get_detector
    from ..pipeline import PhotoRestorer, RestoreOptions

    restorer = Restorer(cfg.model, device=cfg.device)
    photos = PhotoRestorer(restorer, get_detector(cfg.detector))
    gt = list(load_faces(Path(cfg.eval_dir), SIZE, cfg.limit or None))  # RGB, area-resized to 512 if needed
    # CelebA-HQ's alignment is the whole-head template the 256 px models derive from their training faces; the
    # identity cut uses it whatever model is scored, so every model is measured on the same face region
    head = restorer.spec.template if restorer.spec.template.whole_head else HEAD_REFERENCE
    scorer = scorer or Scorer(str(restorer.device), dists=cfg.dists, identity=cfg.identity, head_template=head)
    degraded = [degrade_for_eval(img, LEVEL, seed=cfg.seed, index=i) for i, img in enumerate(gt)]
    gt_desc = scorer.descriptors(gt)
    options = RestoreOptions(seed=cfg.seed, background="none", batch_size=cfg.batch)
    report(callback, "detect", 0, len(degraded), "finding faces")
    prepared = []
    for i, img in enumerate(degraded):
        check(cancel)
        prepared.append(photos.prepare(Photo(pixels=img), options))
        report(callback, "detect", i + 1, len(degraded), "finding faces")
    found = sum(1 for p in prepared if p.crops)
    dists_on = min(len(gt), cfg.dists_limit or len(gt))
    default_steps = restorer.spec.defaults.steps
    rows = [reused_input_row(cfg, len(gt), dists_on) if cfg.reuse_input else
            {"name": "degraded input", "steps": 0, **scorer(degraded, gt, gt_desc, dists_on), "sec_per_face": 0.0}]
    crops = [c for p in prepared for c in p.crops]
    seeds = [s for p in prepared for s in p.seeds]
    for k, steps in enumerate(cfg.steps):
        check(cancel)
        report(callback, "eval", k, len(cfg.steps), steps_label(steps))
        opts = replace(options, steps=steps)
        t = time.perf_counter()
        restored = photos.restore_crops(crops, seeds, opts, cancel=cancel)
        sec = (time.perf_counter() - t) / max(1, len(crops))
        outputs, at = [], 0
        for prep in prepared:
            n = len(prep.crops)
            outputs.append(photos.finish(prep, restored[at:at + n], opts).photo.pixels)
            at += n
        rows.append({"name": f"{restorer.spec.defaults.sampler} {steps_label(steps)}", "steps": steps,
                     **scorer(outputs, gt, gt_desc, dists_on if steps == default_steps else 0),
                     "sec_per_face": sec})
    for name in cfg.references:
        check(cancel)
        rows.append(reference_row(photos, name, degraded, gt, gt_desc, scorer, dists_on, callback, cancel))
    report(callback, "eval", len(cfg.steps), len(cfg.steps), "done")
    identity_images = common_identity(rows)
    return {"identity_images": identity_images, "protocol": f"{LEVEL} at {SIZE} px, whole-photo path", "config": {**asdict(cfg), "steps": list(cfg.steps)},
            "images": len(gt), "faces_found": found, "dists_images": dists_on if cfg.dists else 0, "faces_restored": len(crops),
            "model": Path(cfg.model).name, "model_size": restorer.size,
            "device": str(restorer.device), "machine": f"{platform.machine()} {platform.processor()}".strip(),
            "published": PUBLISHED, "rows": rows}


REFERENCE_SIDE = 128  # the general upscaler's input: the degraded photo at a quarter of the scoring size


def reference_row(photos, background: str, degraded: list[np.ndarray], gt, gt_desc, scorer: Scorer, dists_on: int,
                  callback=None, cancel=None) -> dict:
    """A general upscaler as a face restorer: 512 -> 128 (area) -> x4 (the network) -> 512."""
    import cv2

    up = photos.upscaler(background)
    outputs, t = [], time.perf_counter()
    for i, img in enumerate(degraded):
        check(cancel)
        small = cv2.resize(img, (REFERENCE_SIDE, REFERENCE_SIDE), interpolation=cv2.INTER_AREA)
        outputs.append(up.upscale(small, 4, tile=1024))
        report(callback, "eval", i + 1, len(degraded), f"reference: {up.title}")
    sec = (time.perf_counter() - t) / max(1, len(degraded))
    return {"name": f"{up.title}, {REFERENCE_SIDE} px x4 (reference, no face model)", "steps": -1,
            **scorer(outputs, gt, gt_desc, dists_on), "sec_per_face": sec}


def markdown_table(result: dict) -> str:
    head = (f"{result['model']} ({result['model_size']} px), {result['protocol']}, {result['images']} images "
            f"({result['faces_found']} with a face found), seed {result['config']['seed']}, {result['device']}\n\n")
    lines = [f"| method | PSNR | SSIM | LPIPS | DISTS (first {result.get('dists_images', 0)}) | identity "
             f"({result.get('identity_images', 0)} described in every row) | s/face |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        dists = f"{r['dists']:.3f}" if r.get("dists") is not None else "-"
        ident = f"{r['identity']:.3f}" if r.get("identity") is not None else "-"
        lines.append(f"| {r['name']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['lpips']:.3f} | {dists} | {ident} | "
                     f"{r['sec_per_face']:.3f} |")
    lines.append("")
    lines.append(f"Published CelebA-Test figures (their own papers, on their own test images, not these {result['images']}):")
    lines.append("")
    for name, vals in result["published"].items():
        lines.append(f"- {name}: " + ", ".join(f"{k.upper()} {v}" for k, v in vals.items()))
    return head + "\n".join(lines) + "\n"
