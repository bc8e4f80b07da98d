"""RetinaFace (facexlib's implementation) with weights from our own verified download or a user file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ModelError
from .types import DetectedFace, DetectOptions, select_and_order

NETWORKS = {"retinaface": "resnet50", "retinaface_mobile": "mobile0.25"}


class RetinaFaceDetector:
    def __init__(self, weights: Path, *, variant: str = "retinaface", device: str = "cpu"):
        from facexlib.detection.retinaface import RetinaFace  # heavy import, only when chosen

        self.name = variant
        weights = Path(weights)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(weights, f"cannot read RetinaFace weights ({exc})") from exc
        state = {k.removeprefix("module."): v for k, v in state.items()}
        self.net = RetinaFace(network_name=NETWORKS[variant], half=False, device=torch.device(device))
        try:
            self.net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelError(weights, f"weights do not fit RetinaFace {NETWORKS[variant]}: {exc}") from exc
        self.net.eval()

    def detect(self, image: np.ndarray, options: DetectOptions = DetectOptions()) -> list[DetectedFace]:
        bgr = np.ascontiguousarray(image[..., ::-1])
        with torch.inference_mode():
            dets = self.net.detect_faces(bgr, conf_threshold=min(0.8, options.threshold), nms_threshold=0.4,
                                         use_origin_size=True)
        faces = [DetectedFace(tuple(float(v) for v in d[:4]), np.asarray(d[5:15], np.float64).reshape(5, 2),
                              float(d[4])) for d in dets]
        return select_and_order(faces, options, image.shape)
