"""Where a model loses identity on the peers' protocol: by how degraded the input is, and on a clean input.

    .venv/bin/python build_scripts/studies/identity_by_input.py MODEL [MODEL ...] --limit 100 \
        --out docs/eval/identity-by-input.json

For each model, on the first N celebahq-faces/eval images (the CelebA-Test recipe, seeded as `facebridge eval`
seeds it, whole-photo path, the model's default step count):
- the pipeline alone: the clean image aligned, pasted back unrestored (what alignment and paste-back cost);
- the model on the degraded image, with identity split into five equal groups by the input's own identity
  distance (the first group is the mildest fifth: a restorer should not make those worse);
- the model on the clean image itself (a restorer should leave a clean face nearly as it is).
Identity: dlib descriptor distance to the clean image, mean over the images described in every row.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.degradations import degrade_for_eval  # noqa: E402
from engine.evaluation.photo_protocol import HEAD_REFERENCE, LEVEL, SIZE, Scorer  # noqa: E402
from engine.faces.detectors import get_detector  # noqa: E402
from engine.io.images import Photo  # noqa: E402
from engine.pipeline import PhotoRestorer, RestoreOptions  # noqa: E402
from engine.restorer import Restorer  # noqa: E402
from engine.training.data import load_faces  # noqa: E402

GROUPS = 5


def through(photos: PhotoRestorer, images, options: RestoreOptions, restore: bool) -> list[np.ndarray]:
    """Each photo restored as the app restores it, or (restore=False) aligned and pasted back unrestored."""
    if restore:
        return [photos.restore_photo(Photo(pixels=img), options).photo.pixels for img in images]
    out = []
    for img in images:
        prep = photos.prepare(Photo(pixels=img), options)
        out.append(photos.finish(prep, prep.crops, options).photo.pixels)
    return out


def distances(row: dict) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in row["identity_per_image"]], float)


def study(model: str, gt, degraded) -> dict:
    restorer = Restorer(model, device="cpu")
    photos = PhotoRestorer(restorer, get_detector("mtcnn"))
    head = restorer.spec.template if restorer.spec.template.whole_head else HEAD_REFERENCE
    scorer = Scorer("cpu", dists=False, identity=True, head_template=head)
    clean_desc = scorer.descriptors(gt)
    options = RestoreOptions(seed=0, background="none", batch_size=8, steps=restorer.spec.defaults.steps)
    rows = {"degraded input": scorer(degraded, gt, clean_desc),
            "pipeline alone (clean, unrestored)": scorer(through(photos, gt, options, False), gt, clean_desc),
            "model on the degraded input": scorer(through(photos, degraded, options, True), gt, clean_desc),
            "model on the clean image": scorer(through(photos, gt, options, True), gt, clean_desc)}
    ids = {k: distances(r) for k, r in rows.items()}
    known = np.all([~np.isnan(v) for v in ids.values()], axis=0)
    order = np.argsort(ids["degraded input"][known])
    out = {"model": Path(model).name, "steps": options.steps, "images": len(gt), "described": int(known.sum()),
           "rows": {}}
    for name, r in rows.items():
        groups = [float(g.mean()) for g in np.array_split(ids[name][known][order], GROUPS)]
        out["rows"][name] = {"psnr": r["psnr"], "ssim": r["ssim"], "lpips": r["lpips"],
                             "identity": float(ids[name][known].mean()), "identity_by_input_fifth": groups}
    return out


def markdown(results: list[dict]) -> str:
    lines = ["| model | row | PSNR | LPIPS | identity | by input fifth (mildest first) |", "|---|---|---|---|---|---|"]
    for res in results:
        for name, r in res["rows"].items():
            fifths = " / ".join(f"{g:.3f}" for g in r["identity_by_input_fifth"])
            psnr = "inf" if not np.isfinite(r["psnr"]) else f"{r['psnr']:.2f}"
            lines.append(f"| {res['model']} | {name} | {psnr} | {r['lpips']:.3f} | {r['identity']:.3f} | {fifths} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "data" / "celebahq-faces" / "eval"))
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    gt = list(load_faces(Path(args.eval_dir), SIZE, args.limit or None))
    degraded = [degrade_for_eval(img, LEVEL, seed=0, index=i) for i, img in enumerate(gt)]
    results = [study(m, gt, degraded) for m in args.models]
    print(markdown(results))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=lambda v: None) + "\n")


if __name__ == "__main__":
    main()
