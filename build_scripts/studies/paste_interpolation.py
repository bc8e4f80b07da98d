"""Does the paste-back's interpolation hold the faces back, and what could a perfect 256 px model score?

    .venv/bin/python build_scripts/studies/paste_interpolation.py MODEL --limit 80 \
        --out docs/eval/paste-study/v9-80.json

On the first N celebahq-faces/eval images (the CelebA-Test recipe, seeded as `facebridge eval` seeds it,
whole-photo path, the model's default step count), the same restored faces are pasted back into the degraded
photo with bilinear (what the app does), bicubic and Lanczos warps; and the oracle: the clean photo aligned with
the same matrices (a 0.6 px blur first, as the warp halves it) and pasted back the same ways, what a model that
restored every 256 px face perfectly would score at 512 px. Only the face's warp changes; the blend mask stays
bilinear.
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

import engine.faces.paste as paste_module  # noqa: E402
from engine.degradations import degrade_for_eval  # noqa: E402
from engine.evaluation.photo_protocol import LEVEL, SIZE, Scorer  # noqa: E402
from engine.faces.detectors import get_detector  # noqa: E402
from engine.io.images import Photo  # noqa: E402
from engine.pipeline import PhotoRestorer, RestoreOptions  # noqa: E402
from engine.restorer import Restorer  # noqa: E402
from engine.training.data import load_faces  # noqa: E402

WARPS = ("INTER_LINEAR", "INTER_CUBIC", "INTER_LANCZOS4")


class FaceWarp:
    """cv2 for engine/faces/paste.py, whose warpAffine uses `flag` for the colour face and keeps the mask's."""

    def __init__(self, flag: int):
        self.flag = flag

    def __getattr__(self, name):
        return getattr(cv2, name)

    def warpAffine(self, src, matrix, size, flags=cv2.INTER_LINEAR, **kw):  # noqa: N802 - cv2's name
        return cv2.warpAffine(src, matrix, size, flags=self.flag if src.ndim == 3 else flags, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--hq", default=str(ROOT.parent / "shared/data/celebahq-faces/eval"))
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    restorer = Restorer(args.model, device="cpu")
    photos = PhotoRestorer(restorer, get_detector("mtcnn"))
    scorer = Scorer("cpu", dists=True, identity=True, head_template=restorer.spec.template)
    gt = list(load_faces(Path(args.hq), SIZE, args.limit))
    degraded = [degrade_for_eval(img, LEVEL, seed=0, index=i) for i, img in enumerate(gt)]
    clean_desc = scorer.descriptors(gt)
    options = RestoreOptions(seed=0, background="none", batch_size=8, steps=restorer.spec.defaults.steps)
    prepared = [photos.prepare(Photo(pixels=img), options) for img in degraded]
    crops = [c for p in prepared for c in p.crops]
    restored = photos.restore_crops(crops, [s for p in prepared for s in p.seeds], options)
    size = restorer.size
    oracle = [cv2.warpAffine(cv2.GaussianBlur(g, (0, 0), 0.6), a.matrix, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT_101)
              for p, g in zip(prepared, gt) for a in p.aligned]
    rows = [{"name": "degraded input", **scorer(degraded, gt, clean_desc, len(gt))}]
    for label, faces in ((f"{Path(args.model).stem} {options.steps} steps", restored), ("oracle (clean 256 px face)", oracle)):
        for warp in WARPS:
            paste_module.cv2 = FaceWarp(getattr(cv2, warp))
            try:
                outputs, at = [], 0
                for prep in prepared:
                    outputs.append(photos.finish(prep, faces[at:at + len(prep.crops)], options).photo.pixels)
                    at += len(prep.crops)
            finally:
                paste_module.cv2 = cv2
            rows.append({"name": f"{label}, {warp}", **scorer(outputs, gt, clean_desc, len(gt))})
            print(rows[-1]["name"], f"LPIPS {rows[-1]['lpips']:.4f}", flush=True)
    known = [all(r["identity_per_image"][i] is not None for r in rows) for i in range(len(gt))]
    lines = [f"{len(gt)} images, identity over the {sum(known)} described in every row", "",
             "| row | PSNR | SSIM | LPIPS | DISTS | identity |", "|---|---|---|---|---|---|"]
    for r in rows:
        r["identity"] = float(np.mean([v for v, k in zip(r["identity_per_image"], known) if k]))
        lines.append(f"| {r['name']} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['lpips']:.3f} | {r['dists']:.3f} | "
                     f"{r['identity']:.3f} |")
    Path(args.out).write_text(json.dumps({"model": Path(args.model).name, "images": len(gt), "rows": rows}, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
