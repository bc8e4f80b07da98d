"""Does the model know its training faces better than new ones? (issue #32, session 24)

    .venv/bin/python build_scripts/studies/train_eval_gap.py MODEL --train /work/data/head256/celebahq --limit 60

The first N training faces (256 px, as prepare_head256_data.py wrote them) and the first N eval faces (512 px,
area-resized to 256) go through the same CelebA-Test degradation (at 512 px, then back to 256) and are restored
directly as aligned crops at the model's default step count. A model that memorised its 5,291 training faces
scores much better on them; one that is short of capacity or images scores the same on both.
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
from engine.evaluation.metrics import LPIPS, psnr  # noqa: E402
from engine.restorer import Restorer  # noqa: E402
from engine.training.data import load_faces  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--train", required=True, help="the model's training faces (256 px)")
    ap.add_argument("--eval", default=str(ROOT.parent / "shared/data/celebahq-faces/eval"))
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    restorer = Restorer(args.model, device="cpu")
    size = restorer.size
    lpips = LPIPS("cpu")
    result = {"model": Path(args.model).name, "faces": args.limit, "steps": restorer.spec.defaults.steps}
    for name, folder in (("train", args.train), ("eval", args.eval)):
        clean = list(load_faces(Path(folder), size, args.limit))
        degraded = []
        for i, face in enumerate(clean):
            big = cv2.resize(face, (512, 512), interpolation=cv2.INTER_CUBIC)
            small = degrade_for_eval(big, "celeba-test", seed=0, index=i)
            degraded.append(cv2.resize(small, (size, size), interpolation=cv2.INTER_AREA))
        restored = restorer.restore(degraded, seed=0)
        result[name] = {"input_lpips": round(float(np.mean(lpips(degraded, clean))), 4),
                        "input_psnr": round(float(np.mean([psnr(a, b) for a, b in zip(degraded, clean)])), 2),
                        "lpips": round(float(np.mean(lpips(restored, clean))), 4),
                        "psnr": round(float(np.mean([psnr(a, b) for a, b in zip(restored, clean)])), 2)}
        print(name, result[name], flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
