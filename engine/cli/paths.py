"""Where the bundled model and resources live (source checkout or a PyInstaller bundle)."""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_NAME = "facebridge-pi2sb-none-256-v13.safetensors"


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def default_model_path() -> Path:
    return resources_dir() / "models" / MODEL_NAME
