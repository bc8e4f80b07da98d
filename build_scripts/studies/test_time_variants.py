"""Two test-time changes that cost no training, measured on the peers' protocol (issue #32, session 24).

    .venv/bin/python build_scripts/studies/test_time_variants.py MODEL --limit 80 \
        --out docs/eval/test-time/v13-80.json

On the first N celebahq-faces/eval images (the CelebA-Test recipe, seeded as `facebridge eval` seeds it,
whole-photo path), the same detected faces are restored once and pasted back as:
- plain: what the app does;
- flip average: the mean of the face restored as it is and restored mirrored (two network passes), which
  averages away detail the network invents differently on each side;
- input high band, weight w: the degraded photo's band above the 256 px crop's Nyquist (photo minus its
  256 px round trip) put back onto the pasted face, w times, in place of the paste's own (empty) band. On a
  sharp input that band is real detail the 256 px cap drops; on a degraded one it is noise and JPEG blocks.
Also scored: the clean photo's own 256 px round trip, what the cap alone costs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.degradations import degrade_for_eval  # noqa: E402
from engine.evaluation.photo_protocol import LEVEL, SIZE, Scorer  # noqa: E402
from engine.faces.detectors import get_detector  # noqa: E402
from engine.io.images import Photo  # noqa: E402
from engine.pipeline import PhotoRestorer, RestoreOptions  # noqa: E402
from engine.restorer import Restorer  # noqa: E402
from engine.training.data import load_faces  # noqa: E402

CROP = 256


def round_trip(x: np.ndarray) -> np.ndarray:
    """x at the crop's resolution and back: the part of x a 256 px face can carry (the eval photos are aligned,
    so the face crop spans the photo at about 2 photo pixels per crop pixel)."""
    small = cv2.resize(x, (CROP, CROP), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, x.shape[1::-1], interpolation=cv2.INTER_LINEAR).astype(np.float32)


def with_input_band(out: np.ndarray, degraded: np.ndarray, w: float) -> np.ndarray:
    band_in = degraded.astype(np.float32) - round_trip(degraded)
    band_out = out.astype(np.float32) - round_trip(out)
    return np.clip(np.round(out + w * (band_in - band_out)), 0, 255).astype(np.uint8)


def summary(row: dict, input_row: dict) -> dict:
    """LPIPS and identity over the images dlib describes in both this row and the input, split at the input's
    median identity (mild half / hard half)."""
    inp = np.array([np.nan if v is None else v for v in input_row["identity_per_image"]])
    out = np.array([np.nan if v is None else v for v in row["identity_per_image"]])
    ok = ~np.isnan(inp) & ~np.isnan(out)
    mild = ok & (inp < np.nanmedian(inp))
    return {"psnr": round(row["psnr"], 3), "lpips": round(row["lpips"], 4), "identity": round(float(out[ok].mean()), 4),
            "identity_mild_half": round(float(out[mild].mean()), 4),
            "identity_hard_half": round(float(out[ok & ~mild].mean()), 4), "identity_images": int(ok.sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--hq", default=str(ROOT.parent / "shared/data/celebahq-faces/eval"))
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--steps", type=int, default=0, help="0 = the model's default")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    restorer = Restorer(args.model, device="cpu")
    photos = PhotoRestorer(restorer, get_detector("mtcnn"))
    steps = args.steps or restorer.spec.defaults.steps
    gt = list(load_faces(Path(args.hq), SIZE, args.limit or None))
    degraded = [degrade_for_eval(img, LEVEL, seed=0, index=i) for i, img in enumerate(gt)]
    scorer = Scorer("cpu", dists=False, identity=True, head_template=restorer.spec.template)
    gt_desc = scorer.descriptors(gt)
    opts = RestoreOptions(seed=0, background="none", batch_size=16, steps=steps)
    prepared = [photos.prepare(Photo(pixels=img), opts) for img in degraded]
    crops = [c for p in prepared for c in p.crops]
    seeds = [s for p in prepared for s in p.seeds]

    def paste(restored: list[np.ndarray]) -> list[np.ndarray]:
        outs, at = [], 0
        for p in prepared:
            n = len(p.crops)
            outs.append(photos.finish(p, restored[at:at + n], opts).photo.pixels)
            at += n
        return outs

    plain = photos.restore_crops(crops, seeds, opts)
    mirrored = photos.restore_crops([c[:, ::-1].copy() for c in crops], seeds, opts)
    mean = [np.round((a.astype(np.float32) + b[:, ::-1]) / 2).astype(np.uint8) for a, b in zip(plain, mirrored)]
    pasted = paste(plain)
    variants = {"plain": pasted, "flip average": paste(mean)}
    for w in (0.25, 0.5, 1.0):
        variants[f"input high band x{w}"] = [with_input_band(o, d, w) for o, d in zip(pasted, degraded)]
    variants["clean photo, 256 px round trip"] = [np.clip(np.round(round_trip(g)), 0, 255).astype(np.uint8) for g in gt]

    input_row = scorer(degraded, gt, gt_desc, 0)
    rows = {"degraded input": summary(input_row, input_row)}
    for name, images in variants.items():
        rows[name] = summary(scorer(images, gt, gt_desc, 0), input_row)
        print(name, rows[name], flush=True)
    result = {"model": Path(args.model).name, "images": len(gt), "faces": len(crops), "steps": steps, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
