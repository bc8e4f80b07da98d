"""Build the objects a front end needs (model + detector) from user-facing names, once."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .cli.paths import default_model_path
from .faces.detectors import get_detector
from .pipeline import PhotoRestorer
from .restorer import Restorer


def open_session(model: Optional[str] = None, *, device: str = "auto", precision: str = "auto",
                 detector: str = "auto", detector_weights: Optional[str] = None,
                 need_detector: bool = True, upscaler: Optional[str] = None) -> PhotoRestorer:
    """upscaler: a converted Real-ESRGAN .safetensors used for every background choice (default: each choice's own
    file, loaded on first use)."""
    restorer = Restorer(Path(model) if model else default_model_path(), device=device, precision=precision)
    det = get_detector(detector, weights=detector_weights, device="cpu") if need_detector else None
    return PhotoRestorer(restorer, det, upscaler_path=Path(upscaler) if upscaler else None)
