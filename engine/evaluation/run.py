"""`facebridge eval`: deterministic LQ from a folder of faces, restored at each step count, scored."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..compare import steps_label
from ..degradations import degrade_for_eval, get_level
from ..faces.align import align_face
from ..faces.types import DetectOptions
from ..progress import CancelToken, ProgressCallback, check, report
from ..restorer import Restorer
from ..io.image_folders import list_images
from ..training.data import load_faces
from .metrics import DISTS, LPIPS, IdentityDistance, psnr, ssim


@dataclass(frozen=True)
class EvalConfig:
    hq: str
    model: str
    degradation: str = "moderate"
    steps: tuple[int, ...] = (1, 2, 4, 8, 16, 100)
    sampler: str = "i2sb"
    eta: float = 0.6
    align: str = "none"  # or "detect"
    limit: int = 0
    seed: int = 0
    device: str = "auto"
    identity: bool = True
    dists: bool = True
    batch: int = 16


def load_eval_faces(cfg: EvalConfig, size: int, template) -> list[np.ndarray]:
    if cfg.align == "none":
        return list(load_faces(Path(cfg.hq), size, cfg.limit or None))
    from ..faces.mtcnn import MTCNNDetector
    from ..io.images import read_image

    detector, faces = MTCNNDetector(), []
    for path in list_images(Path(cfg.hq)):
        photo = read_image(path)
        found = detector.detect(photo.pixels, DetectOptions(only_largest=True))
        if found:
            faces.append(align_face(photo.pixels, found[0].landmarks, template).crop)
        if cfg.limit and len(faces) >= cfg.limit:
            break
    return faces


def score(restored, hq, lpips: LPIPS, dists: Optional[DISTS], identity: Optional[IdentityDistance],
          gt_desc) -> dict:
    row = {"psnr": float(np.mean([psnr(a, b) for a, b in zip(restored, hq)])),
           "ssim": float(np.mean([ssim(a, b) for a, b in zip(restored, hq)])),
           "lpips": float(np.mean(lpips(restored, hq)))}
    if dists is not None:
        row["dists"] = float(np.mean(dists(restored, hq)))
    if identity is not None:
        row["identity"] = float(np.mean([np.linalg.norm(identity.descriptor(r) - d) for r, d in zip(restored, gt_desc)]))
    return row


def evaluate(cfg: EvalConfig, *, callback: Optional[ProgressCallback] = None,
             cancel: Optional[CancelToken] = None) -> dict:
    get_level(cfg.degradation)  # validate early
    restorer = Restorer(cfg.model, device=cfg.device)
    hq = load_eval_faces(cfg, restorer.size, restorer.spec.template)
    if not hq:
        raise ValueError(f"no faces found in {cfg.hq}")
    lq = [degrade_for_eval(img, cfg.degradation, seed=cfg.seed, index=i) for i, img in enumerate(hq)]
    lpips = LPIPS(str(restorer.device))
    dists = DISTS(str(restorer.device)) if cfg.dists else None
    identity = IdentityDistance() if cfg.identity else None
    gt_desc = [identity.descriptor(x) for x in hq] if identity else None
    rows = [{"name": "degraded input", "steps": 0, **score(lq, hq, lpips, dists, identity, gt_desc),
             "sec_per_face": 0.0}]
    step_list = (1,) if restorer.is_regression else tuple(cfg.steps)
    for k, steps in enumerate(step_list):
        check(cancel)
        report(callback, "eval", k, len(step_list), steps_label(steps))
        t = time.perf_counter()
        out = restorer.restore(lq, steps=steps, sampler=cfg.sampler, eta=cfg.eta, seed=cfg.seed,
                               batch_size=cfg.batch, cancel=cancel)
        sec = (time.perf_counter() - t) / len(lq)
        name = "regression (1 pass)" if restorer.is_regression else f"{cfg.sampler} {steps_label(steps)}"
        rows.append({"name": name, "steps": steps, **score(out, hq, lpips, dists, identity, gt_desc),
                     "sec_per_face": sec})
    report(callback, "eval", len(step_list), len(step_list), "done")
    return {"config": {**cfg.__dict__, "steps": list(cfg.steps)}, "faces": len(hq),
            "model_provenance": restorer.spec.provenance.get("train_config", {}),
            "device": str(restorer.device), "machine": f"{platform.machine()} {platform.processor()}".strip(),
            "rows": rows}


def markdown_table(result: dict) -> str:
    cfg = result["config"]
    head = (f"{Path(cfg['model']).name}, {cfg['degradation']}, {result['faces']} faces, sampler {cfg['sampler']}"
            f"{' eta ' + str(cfg['eta']) if cfg['sampler'] == 'i3sb' else ''}, seed {cfg['seed']}, {result['device']}\n\n")
    has_id = "identity" in result["rows"][0]
    has_dists = "dists" in result["rows"][0]
    cols = ("| method | PSNR | SSIM | LPIPS |" + (" DISTS |" if has_dists else "") + (" identity |" if has_id else "")
            + " s/face |")
    lines = [cols, "|" + "---|" * (cols.count("|") - 1)]
    for r in result["rows"]:
        idv = f" {r['identity']:.3f} |" if has_id else ""
        dv = f" {r['dists']:.3f} |" if has_dists else ""
        lines.append(f"| {r['name']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['lpips']:.3f} |{dv}{idv} "
                     f"{r['sec_per_face']:.3f} |")
    return head + "\n".join(lines) + "\n"


def save_result(result: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(result, indent=2))


def parse_steps(text: str) -> Sequence[int]:
    try:
        steps = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"--steps must be a comma-separated list of integers, got {text!r}") from None
    if not steps or any(not 1 <= s <= 999 for s in steps):
        raise ValueError(f"step counts must be between 1 and 999, got {text!r}")
    return steps
