#!/usr/bin/env python3
"""The two background networks side by side at x2 on real photos: Lanczos | compact (the default) | x4plus.

    .venv/bin/python build_scripts/studies/upscale_models_grid.py PHOTO:X,Y [PHOTO:X,Y ...] \
        -o docs/images/upscale-compact-vs-x4plus.jpg [--size 160]

Each PHOTO:X,Y is a `size` px square of the photo at (X, Y), shown at x2 pixel for pixel (no resampling of the
result). Each network runs on the square plus `--margin` px of the photo around it, so its border is not the
crop's edge; the caption gives each network's seconds for that region on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from grid_image import caption, save  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("crops", nargs="+", help="PHOTO:X,Y (top-left of the square, input pixels)")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--size", type=int, default=160, help="square side, input pixels")
    ap.add_argument("--margin", type=int, default=40, help="photo around the square each network also sees")
    args = ap.parse_args()
    from engine.io.images import read_image
    from engine.pipeline import to_8bit
    from engine.upscale.catalog import MODELS
    from engine.upscale.model import Upscaler
    from engine.upscale.weights import ensure_background

    nets = {name: Upscaler(ensure_background(name)) for name in ("compact", "quality")}
    rows, s, m = [], args.size, args.margin
    for item in args.crops:
        path, xy = item.rsplit(":", 1)
        x, y = (int(v) for v in xy.split(","))
        photo = to_8bit(read_image(path).pixels)
        y0, x0 = max(0, y - m), max(0, x - m)
        region = np.ascontiguousarray(photo[y0:y + s + m, x0:x + s + m])
        oy, ox = 2 * (y - y0), 2 * (x - x0)
        cells = [cv2.resize(photo[y:y + s, x:x + s], (2 * s, 2 * s), interpolation=cv2.INTER_LANCZOS4)]
        labels = [f"{Path(path).stem}: Lanczos x2"]
        for name, net in nets.items():
            t = time.perf_counter()
            up = net.upscale(region, 2, tile=1024)
            took = time.perf_counter() - t
            cells.append(up[oy:oy + 2 * s, ox:ox + 2 * s])
            labels.append(f"{MODELS[name].title.replace('Real-ESRGAN ', '')} x2, {took:.1f} s")
            print(f"{item}: {name} {took:.1f} s for {region.shape[1]}x{region.shape[0]}", flush=True)
        rows.append(np.concatenate([np.concatenate([caption(2 * s, t), c], 0) for t, c in zip(labels, cells)], 1))
    save(np.concatenate(rows, 0), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
