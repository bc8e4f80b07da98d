"""The restorer API shared by GUI, CLI, evaluation and benchmarks: load a model once, then restore
batches of aligned face crops with a chosen step count, sampler, seed, device and precision."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import cv2
import numpy as np
import torch

from .bridge.hashing import get_hashing
from .bridge.parametrization import Moments, Parametrisation
from .bridge.samplers import SAMPLERS, sample
from .bridge.schedule import BridgeSchedule
from .device import autocast, resolve_device, resolve_precision
from .errors import BadInputError, Cancelled, DeviceOutOfMemory, EngineError, ModelError
from .io.checkpoints import load_checkpoint
from .modelspec import ModelSpec
from .network.unet import UNet
from .progress import CancelToken, ProgressCallback, check, report
from .tensors import to_tensor, to_uint8

PREVIEW_SIZE = 96


def face_seeds(seed: int, count: int) -> list[int]:
    """One noise seed per face, derived from the job's seed and the face's index."""
    return [hash((seed, i)) & 0x7FFFFFFF for i in range(count)]


def _to_model_size(face: np.ndarray, size: int) -> np.ndarray:
    if face.ndim != 3 or face.shape[2] != 3 or face.dtype != np.uint8:
        raise BadInputError(f"a face must be an HxWx3 uint8 RGB array, got shape {face.shape} {face.dtype}")
    if face.shape[0] < 2 or face.shape[1] < 2:
        raise BadInputError(f"face crop too small: {face.shape[1]}x{face.shape[0]}")
    if face.shape[:2] == (size, size):
        return face
    shrink = face.shape[0] > size
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def _from_model_size(face: np.ndarray, shape) -> np.ndarray:
    h, w = shape[:2]
    if face.shape[:2] == (h, w):
        return face
    shrink = h < face.shape[0]
    return cv2.resize(face, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


class Restorer:
    """Restores aligned faces. Construct from a checkpoint path (or a model + spec in memory)."""

    def __init__(self, model: Union[str, Path, UNet], spec: Optional[ModelSpec] = None, *,
                 device: str = "auto", precision: str = "auto"):
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        if isinstance(model, (str, Path)):
            self.path = Path(model)
            model, spec = load_checkpoint(self.path, self.device)
        else:
            self.path = None
            if spec is None:
                raise BadInputError("a model passed in memory needs its ModelSpec")
            model = model.to(self.device).eval()
        # channels_last: measured 1.10-1.37x (batch 1) and 1.14x (batch 8) faster on CPU (docs/BENCHMARKS.md).
        # Only for models this object loaded: a model passed in (training's EMA) is left as its owner has it.
        self.channels_last = self.device.type == "cpu" and self.path is not None
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model, self.spec = model, spec
        self.schedule = BridgeSchedule(spec.bridge.interval, spec.bridge.beta_max)
        self.hashing = get_hashing(spec.bridge.hashing)
        moments = Moments.from_dict(spec.bridge.moments) if spec.bridge.moments else None
        self.param = Parametrisation(spec.bridge.param, self.schedule, moments)

    @property
    def size(self) -> int:
        return self.spec.network.image_size

    @property
    def deterministic(self) -> bool:
        """OT-ODE bridges and regression models give the same result for every seed."""
        return self.spec.bridge.ot_ode or self.is_regression

    @property
    def is_regression(self) -> bool:
        return self.spec.bridge.objective == "regression"

    def _net(self, x: torch.Tensor, n: int) -> torch.Tensor:
        level = self.schedule.level(torch.full((x.shape[0],), n, device=self.device, dtype=torch.long))
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), autocast(self.device, self.dtype):
            return self.model(x, level).float().contiguous()

    def _pred_x0(self, x: torch.Tensor, n: int) -> torch.Tensor:
        """x0_hat from the network in the parametrisation it was trained with (stored in the spec)."""
        return self.param.pred_x0(n, x, self._net(self.param.net_input(n, x), n))

    def restore(self, faces: Sequence[np.ndarray], *, steps: Optional[int] = None, sampler: Optional[str] = None,
                eta: Optional[float] = None, seed: int = 0, seeds: Optional[Sequence[int]] = None, batch_size: int = 8,
                callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
                clip_denoise: bool = True) -> list[np.ndarray]:
        """Restore aligned RGB uint8 faces (any size; resized to the model's size and back).

        Face i uses noise seeded by seeds[i] (default: derived from (seed, i)), so results do not depend
        on batch_size or on which faces share a batch.
        Progress is reported once per sampler step with a preview of the current x0 prediction.
        """
        d = self.spec.defaults
        steps = d.steps if steps is None else int(steps)
        sampler = d.sampler if sampler is None else sampler
        eta = d.eta if eta is None else float(eta)
        if sampler not in SAMPLERS:
            raise BadInputError(f"unknown sampler {sampler!r}; choose one of {list(SAMPLERS)}")
        if sampler == "i3sb" and self.spec.bridge.ot_ode:  # a regression model ignores the sampler
            raise BadInputError("this model is a deterministic (OT-ODE) bridge; the I3SB sampler and its eta "
                                "need the stochastic bridge: use the i2sb sampler")
        if not 1 <= steps <= self.schedule.interval - 1:
            raise BadInputError(f"step count must be between 1 and {self.schedule.interval - 1}, got {steps}")
        faces = list(faces)
        if seeds is None:
            seeds = face_seeds(seed, len(faces))
        elif len(seeds) != len(faces):
            raise BadInputError(f"{len(seeds)} seeds for {len(faces)} faces")
        inputs = [_to_model_size(f, self.size) for f in faces]
        outputs: list[np.ndarray] = []
        total = (1 if self.is_regression else steps) * max(1, len(faces))
        done = 0
        try:
            for start in range(0, len(inputs), batch_size):
                check(cancel)
                chunk = np.stack(inputs[start:start + batch_size])
                y = to_tensor(chunk, self.device)
                gens = [torch.Generator().manual_seed(int(s)) for s in seeds[start:start + len(chunk)]]

                def on_step(i, n_total, x0, _count=len(chunk), _base=done, _first=start):
                    preview = None
                    if callback is not None:
                        face = self.hashing.unhash(x0[:1], y[:1])
                        preview = _preview(face)
                    # detail: which face the preview shows (the first of this network batch)
                    # the step restarts for each network batch of faces: say which faces it is counting
                    where = f", faces {_first + 1}-{_first + _count} of {len(faces)}" if len(faces) > _count else ""
                    report(callback, "restore", _base + i * _count, total, f"step {i}/{n_total}{where}", preview,
                           detail={"preview_face": _first})

                if self.is_regression:
                    x = self._net(y, 0)
                    on_step(1, 1, x)
                else:
                    x0 = sample(self._pred_x0, self.hashing.endpoint_x1(y), nfe=steps, schedule=self.schedule,
                                sampler=sampler, eta=eta, ot_ode=self.spec.bridge.ot_ode, generator=gens,
                                callback=on_step, cancel=cancel, clip_denoise=clip_denoise)
                    x = self.hashing.unhash(x0, y)
                done += (1 if self.is_regression else steps) * len(chunk)
                outputs.extend(to_uint8(x))
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            raise DeviceOutOfMemory(f"the GPU ran out of memory restoring {len(faces)} faces; "
                                    "try a smaller batch or the CPU") from exc
        except (EngineError, Cancelled):
            raise
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise DeviceOutOfMemory(f"out of memory on {self.device}: {exc}") from exc
            raise ModelError(self.path or "<in-memory model>", f"the network failed: {exc}") from exc
        return [_from_model_size(o, f.shape) for o, f in zip(outputs, faces)]


def _preview(x: torch.Tensor) -> np.ndarray:
    img = to_uint8(x[:1])[0]
    return cv2.resize(img, (PREVIEW_SIZE, PREVIEW_SIZE), interpolation=cv2.INTER_AREA)


StepFn = Callable[[int], None]
