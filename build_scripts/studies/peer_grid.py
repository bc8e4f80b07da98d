"""Face crops from the shared real photos: the input beside FaceBridge models (and GPEN's published result for
the Solvay photo), at the same scale, for docs/TRAINING.md and the model card.

    .venv/bin/python build_scripts/studies/peer_grid.py MODEL [MODEL ...] --out docs/images/real-faces.jpg \
        --solvay-out docs/images/solvay-vs-gpen.jpg

Solvay: every model restores the photo at x2 with a plain resize of the background (GPEN's published output
is twice the input's size), and the same boxes are cut from the input, from GPEN's output and from each model's.
The other photos: the largest detected face of each, input and each model at the photo's own size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "build_scripts" / "studies")]

from grid_image import caption, save  # noqa: E402


def labelled(img: np.ndarray, text: str) -> np.ndarray:
    return np.concatenate([caption(img.shape[1], text), img], axis=0)

SHARED = ROOT.parent / "shared" / "data"
SOLVAY = SHARED / "real-degraded-whole" / "gpen_Solvay_conference_1927.png"
GPEN = SHARED / "peer-results" / "gpen_Solvay_conference_1927_GPEN.jpg"
CELL = 192


def restorer(model: str):
    from engine.faces.detectors import get_detector
    from engine.pipeline import PhotoRestorer
    from engine.restorer import Restorer

    return PhotoRestorer(Restorer(model, device="cpu"), get_detector("mtcnn"))


def cut(img: np.ndarray, box, scale: float = 1.0, margin: float = 0.35) -> np.ndarray:
    x1, y1, x2, y2 = (v * scale for v in box)
    m = margin * max(x2 - x1, y2 - y1)
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in (max(0, x1 - m), max(0, y1 - m), min(w, x2 + m), min(h, y2 + m)))
    return cv2.resize(np.ascontiguousarray(img[y1:y2, x1:x2]), (CELL, CELL), interpolation=cv2.INTER_CUBIC)


def solvay_grid(models: list[str], faces: int) -> np.ndarray:
    from engine.io.images import read_image
    from engine.pipeline import RestoreOptions

    photo = read_image(SOLVAY)
    gpen = cv2.imread(str(GPEN))[..., ::-1]
    scale = gpen.shape[1] / photo.pixels.shape[1]
    first = restorer(models[0])
    found = sorted(first.detect(photo, RestoreOptions()), key=lambda f: -f.size)[:faces]
    outputs = [restorer(m).restore_photo(photo, RestoreOptions(upscale=scale, background="none"), faces=found)
               .photo.pixels for m in models]
    up = cv2.resize(photo.pixels, (gpen.shape[1], gpen.shape[0]), interpolation=cv2.INTER_CUBIC)
    columns = [[labelled(cut(up, f.box, scale), "input (x2, bicubic)") for f in found],
               [labelled(cut(gpen, f.box, scale), "GPEN (published)") for f in found]]
    columns += [[labelled(cut(out, f.box, scale), f"FaceBridge {name(m)}") for f in found]
                for m, out in zip(models, outputs)]
    return np.concatenate([np.concatenate(cells, axis=1) for cells in zip(*columns)], axis=0)


def name(model: str) -> str:
    """'v6 (256 px)' from facebridge-pi2sb-none-256-v6.safetensors."""
    parts = Path(model).stem.split("-")
    return f"{parts[-1]} ({parts[-2]} px)" if len(parts) >= 2 and parts[-2].isdigit() else Path(model).stem


def photos_grid(models: list[str]) -> np.ndarray:
    from engine.io.images import read_image
    from engine.pipeline import RestoreOptions

    sessions = [restorer(m) for m in models]
    rows = []
    for path in sorted((SHARED / "real-degraded-whole").glob("*.*")):
        if path.suffix.lower() not in (".jpg", ".png") or path == SOLVAY:
            continue
        photo = read_image(path)
        found = sorted(sessions[0].detect(photo, RestoreOptions()), key=lambda f: -f.size)[:1]
        if not found:
            continue
        cells = [labelled(cut(photo.pixels, found[0].box), path.stem[:24])]
        for m, s in zip(models, sessions):
            out = s.restore_photo(photo, RestoreOptions(background="none"), faces=found).photo.pixels
            cells.append(labelled(cut(out, found[0].box), name(m)))
        rows.append(np.concatenate(cells, axis=1))
    half = (len(rows) + 1) // 2  # two columns of photos keep the picture readable
    left, right = rows[:half], rows[half:] + [np.zeros_like(rows[0])] * (2 * half - len(rows))
    return np.concatenate([np.concatenate(left, axis=0), np.concatenate(right, axis=0)], axis=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--out", default="docs/images/real-faces.jpg")
    ap.add_argument("--solvay-out", default="docs/images/solvay-vs-gpen.jpg")
    ap.add_argument("--solvay-faces", type=int, default=5)
    args = ap.parse_args()
    save(solvay_grid(args.models, args.solvay_faces), ROOT / args.solvay_out)
    save(photos_grid(args.models), ROOT / args.out)
    print(f"wrote {args.solvay_out} and {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
