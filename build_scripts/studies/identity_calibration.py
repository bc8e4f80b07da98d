#!/usr/bin/env python3
"""Calibrate the identity meter (docs/IDENTITY.md): what dlib descriptor distances mean on our data.

For the UTKFace eval faces: the distance between each clean face and its degraded self at mild, moderate and
severe (the eval's own seeded degradations), and between different people (each face against the next
three in the list; UTKFace holds one photo per person). Prints percentiles and writes the raw distances.

    OMP_NUM_THREADS=1 .venv/bin/python build_scripts/studies/identity_calibration.py [--limit 300] [--out docs/eval/identity-calibration.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.cli.paths import default_model_path  # noqa: E402
from engine.degradations import degrade_for_eval  # noqa: E402
from engine.identity import IdentityMeter  # noqa: E402
from engine.io.checkpoints import read_spec  # noqa: E402
from engine.training.data import load_faces  # noqa: E402

PCTS = (5, 25, 50, 75, 95)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hq", default=str(ROOT.parent / "shared/data/utkface-aligned-200/eval"))
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--out", default=str(ROOT / "docs/eval/identity-calibration.json"))
    args = ap.parse_args()
    template = read_spec(default_model_path()).template
    faces = load_faces(Path(args.hq), template.size, limit=args.limit)
    meter = IdentityMeter(template)
    clean = [meter.describe(f) for f in faces]
    result = {"faces": len(faces), "unknown_clean": sum(d is None for d in clean), "same_person": {}, "different": []}
    for level in ("mild", "moderate", "severe"):
        dists, unknown = [], 0
        for i, (f, c) in enumerate(zip(faces, clean)):
            d = meter.describe(degrade_for_eval(f, level, seed=0, index=i))
            if d is None or c is None:
                unknown += 1
                continue
            dists.append(float(np.linalg.norm(d - c)))
        result["same_person"][level] = {"distances": dists, "unknown": unknown}
    for i, c in enumerate(clean):
        for j in (1, 2, 3):
            other = clean[(i + j) % len(clean)]
            if c is not None and other is not None:
                result["different"].append(float(np.linalg.norm(c - other)))
    Path(args.out).write_text(json.dumps(result))
    print(f"{len(faces)} faces, {result['unknown_clean']} clean faces not describable")
    print("| pair | n | unknown | " + " | ".join(f"p{p}" for p in PCTS) + " |")
    print("|---|---|---|" + "---|" * len(PCTS))
    for level, r in result["same_person"].items():
        q = np.percentile(r["distances"], PCTS)
        print(f"| same person, clean vs {level} | {len(r['distances'])} | {r['unknown']} | " + " | ".join(f"{v:.3f}" for v in q) + " |")
    q = np.percentile(result["different"], PCTS)
    print(f"| different people (clean) | {len(result['different'])} | - | " + " | ".join(f"{v:.3f}" for v in q) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
