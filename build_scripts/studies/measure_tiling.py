#!/usr/bin/env python3
"""How far tiled Real-ESRGAN output is from the untiled output, per tile/overlap/context setting.

    .venv/bin/python build_scripts/studies/measure_tiling.py --size 512 --configs 256:16:32,256:16:64 \
        --json docs/eval/upscale-tiling.json

The untiled 4x output of the crop is computed once (and cached beside the JSON as .npy) and each setting
is compared against it after rounding both to 8 bits, as the product writes them. Prints one Markdown row
per setting as it finishes; slow on a CPU (Real-ESRGAN is ~33 TFLOPs per input megapixel).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default=str(ROOT / "resources/samples/astronaut_low_quality.jpg"))
    ap.add_argument("--size", type=int, default=512, help="square crop from the image's top-left corner")
    ap.add_argument("--configs", default="256:16:32", help="tile:overlap:context, comma-separated")
    ap.add_argument("--json", required=True, help="results (appended to, per image size)")
    args = ap.parse_args()
    import torch

    from engine.io.images import read_image
    from engine.upscale.model import Upscaler
    from engine.upscale.weights import ensure_upscaler

    up = Upscaler(ensure_upscaler())
    photo = read_image(args.image).pixels
    crop = np.ascontiguousarray(photo[:args.size, :args.size])
    if crop.shape[:2] != (args.size, args.size):
        raise SystemExit(f"{args.image} is smaller than {args.size} px")
    out_json = Path(args.json)
    cache = out_json.with_name(f"{out_json.stem}-untiled-{args.size}.npy")
    if cache.exists():
        whole, whole_s = np.load(cache), float("nan")
    else:
        t = time.perf_counter()
        whole = up.upscale(crop, 4, tile=args.size, overlap=0, context=0)  # one tile: the untiled output
        whole_s = time.perf_counter() - t
        np.save(cache, whole)
    results = json.loads(out_json.read_text()) if out_json.exists() else {"rows": []}
    results["image"] = f"{Path(args.image).name}, top-left {args.size}x{args.size}, x4, {torch.get_num_threads()} threads"
    print(f"untiled {args.size}x{args.size} -> x4: {whole_s:.0f} s")
    print("| size | tile | overlap | context | tiles | max diff /255 | pixels > 1/255 | mean diff /255 | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for spec in args.configs.split(","):
        tile, overlap, context = map(int, spec.split(":"))
        t = time.perf_counter()
        tiled = up.upscale(crop, 4, tile=tile, overlap=overlap, context=context)
        sec = time.perf_counter() - t
        d = np.abs(tiled.astype(np.int16) - whole.astype(np.int16))
        row = {"size": args.size, "tile": tile, "overlap": overlap, "context": context,
               "tiles": (-(-args.size // tile)) ** 2, "max": int(d.max()), "over_1": float((d > 1).mean()),
               "mean": float(d.mean()), "seconds": round(sec, 1), "untiled_seconds": round(whole_s, 1)}
        results["rows"] = [r for r in results["rows"] if (r["size"], r["tile"], r["overlap"], r["context"])
                           != (args.size, tile, overlap, context)] + [row]
        out_json.write_text(json.dumps(results, indent=1))
        print(f"| {args.size} | {tile} | {overlap} | {context} | {row['tiles']} | {row['max']} | "
              f"{100 * row['over_1']:.2f} % | {row['mean']:.3f} | {sec:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
