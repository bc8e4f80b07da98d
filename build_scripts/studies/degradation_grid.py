#!/usr/bin/env python3
"""docs/images/degradation-paths.png: the same training degradations made by both data paths.

Rows: eval faces. Columns: clean | per-sample OpenCV path | batched tensor path, both with the same drawn
parameters (blur, scale, JPEG quality, gray); only the noise realisation differs. A caption line per row
gives the parameters.   .venv/bin/python build_scripts/studies/degradation_grid.py [--faces 6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "build_scripts" / "studies")]

from engine import degradations as D  # noqa: E402
from engine.training import batched_degradation as B  # noqa: E402
from engine.training.data import load_faces  # noqa: E402
from grid_image import caption, put, save  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared/data/utkface-aligned-200/eval"))
    ap.add_argument("--faces", type=int, default=6)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "docs/images/degradation-paths.png"))
    args = ap.parse_args()
    faces = load_faces(Path(args.data), 128, limit=args.faces)
    g = torch.Generator().manual_seed(args.seed)
    p = B.sample_params(D.TRAIN, len(faces), g, hflip=False)
    _, lq = B.degrade(torch.from_numpy(faces).permute(0, 3, 1, 2).contiguous(), p, g)
    batched = lq.permute(0, 2, 3, 1).byte().numpy()
    rows = []
    for i, face in enumerate(faces):
        params = D.DegradationParams(float(p.sigma_x[i]), float(p.sigma_y[i]), float(p.theta[i]), float(p.downscale[i]),
                                     float(p.noise[i]), int(p.jpeg[i]), bool(p.gray[i]), noise_seed=i)
        row = np.concatenate([face, D.apply(face, params), batched[i]], axis=1)
        text = (f"blur {params.sigma_x:.1f}x{params.sigma_y:.1f}  down {params.downscale:.1f}  noise {params.noise:.0f}"
                f"  q{params.jpeg}{'  gray' if params.gray else ''}")
        rows += [caption(row.shape[1], text), row]
    header = caption(rows[1].shape[1], "clean", height=20)
    for x, label in ((132, "per-sample (OpenCV)"), (260, "batched (tensor)")):
        put(header, label, x)
    save(np.concatenate([header] + rows, axis=0), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
