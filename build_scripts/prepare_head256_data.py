"""Build the whole-head 256 px training folder from ../shared/data (TRAINING.md, v6 onwards).

OUT/celebahq -> a symlink to celebahq-faces/train (already aligned, 256 px);
OUT/webmorph -> the CC BY webmorph portraits, detected and aligned to the shipped model's template.
Existing aligned files are kept, so a rerun only fills gaps.

    python build_scripts/prepare_head256_data.py [--shared ../shared/data] [--out /work/data/head256]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cli.paths import default_model_path  # noqa: E402
from engine.io.checkpoints import read_spec  # noqa: E402
from engine.training.align_folder import align_folder  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--model", type=Path, default=None, help="model whose template to align to (default: shipped)")
    args = p.parse_args()
    celeba = args.shared / "celebahq-faces" / "train"
    webmorph = args.shared / "webmorph-faces"
    for folder in (celeba, webmorph):
        if not folder.is_dir():
            print(f"missing {folder}", file=sys.stderr)
            return 1
    template = read_spec(args.model or default_model_path()).template
    if template.size != 256:
        print(f"the model's template is {template.size} px, not 256", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    link = args.out / "celebahq"
    if not link.exists():
        os.symlink(celeba.resolve(), link)
    result = align_folder(webmorph, args.out / "webmorph", template)
    print(f"celebahq: {link} -> {celeba.resolve()}")
    print(f"webmorph: {result['aligned']} aligned, {len(result['skipped'])} without a face {result['skipped']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
