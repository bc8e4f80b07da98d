#!/usr/bin/env python3
"""A documentation grid for whole-photo upscaling: each photo Lanczos-enlarged beside FaceBridge's x2/x4 result.

    .venv/bin/python build_scripts/studies/upscale_grid.py ORIGINAL RESTORED [ORIGINAL RESTORED ...] -o docs/images/upscale-x2.jpg

RESTORED is `facebridge restore ORIGINAL --upscale 2` output; the left cell enlarges ORIGINAL to the same size
(Lanczos), so the two differ only by what FaceBridge did (faces restored, background by Real-ESRGAN).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from grid_image import caption, save  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs", nargs="+")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--height", type=int, default=360, help="each row's height in the grid")
    args = ap.parse_args()
    from engine.io.images import read_image
    from engine.pipeline import to_8bit

    if len(args.pairs) % 2:
        raise SystemExit("give ORIGINAL RESTORED pairs")
    rows = []
    for orig, rest in zip(args.pairs[::2], args.pairs[1::2]):
        a, b = to_8bit(read_image(orig).pixels), to_8bit(read_image(rest).pixels)
        factor = b.shape[1] / a.shape[1]
        lanczos = cv2.resize(a, (b.shape[1], b.shape[0]), interpolation=cv2.INTER_LANCZOS4)
        width = round(b.shape[1] * args.height / b.shape[0])
        cells = [cv2.resize(x, (width, args.height), interpolation=cv2.INTER_AREA) for x in (lanczos, b)]
        labels = [f"{Path(orig).name}: Lanczos x{factor:g}", f"FaceBridge x{factor:g} (faces + Real-ESRGAN)"]
        rows.append(np.concatenate([np.concatenate([caption(width, t), c], 0) for t, c in zip(labels, cells)], 1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    save(np.concatenate(rows, 0), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
