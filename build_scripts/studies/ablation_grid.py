#!/usr/bin/env python3
"""docs/images/ablation-grid.png: the same eval faces restored by each ablation arm (docs/ABLATION.md).

Columns: degraded (moderate) | one column per model at --steps | clean. Labels on top.
    .venv/bin/python build_scripts/studies/ablation_grid.py RUNS/ablation-none-s0.safetensors RUNS/ablation-cat-s0... [--faces 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "build_scripts" / "studies")]

from engine.degradations import degrade_for_eval  # noqa: E402
from engine.restorer import Restorer  # noqa: E402
from engine.training.data import load_faces  # noqa: E402
from grid_image import caption, save  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--hq", default=str(ROOT.parent / "shared/data/utkface-aligned-200/eval"))
    ap.add_argument("--faces", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--level", default="moderate")
    ap.add_argument("--out", default=str(ROOT / "docs/images/ablation-grid.png"))
    args = ap.parse_args()
    # faces spread over the split, not its first few
    all_faces = load_faces(Path(args.hq), 128)
    picks = np.linspace(0, len(all_faces) - 1, args.faces).round().astype(int)
    clean = all_faces[picks]
    lq = [degrade_for_eval(f, args.level, seed=0, index=int(i)) for f, i in zip(clean, picks)]
    columns = [("degraded", np.concatenate(lq, 0))]
    for m in args.models:
        r = Restorer(Path(m), device="cpu")
        out = r.restore(lq, steps=args.steps)
        name = Path(m).stem.replace("ablation-", "")
        how = f"{args.steps} steps" if r.spec.bridge.objective == "bridge" else "1 pass"
        columns.append((f"{name}, {how}", np.concatenate(out, 0)))
    columns.append(("clean", np.concatenate(list(clean), 0)))
    save(np.concatenate([np.concatenate([caption(c.shape[1], t, x=3), c], 0) for t, c in columns], 1), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
