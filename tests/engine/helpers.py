"""Tiny random models and generated images for fast engine tests."""

from __future__ import annotations

import numpy as np
import torch

from engine.modelspec import BridgeConfig, FFHQ_512, ModelSpec
from engine.network.config import preset
from engine.network.unet import UNet


def tiny_spec(hashing: str = "cat", objective: str = "bridge", size: int = 32) -> ModelSpec:
    ch = BridgeConfig(hashing=hashing, objective=objective).channels
    net = preset("tiny", in_channels=ch, out_channels=ch, image_size=size)
    return ModelSpec(network=net, bridge=BridgeConfig(hashing=hashing, objective=objective),
                     template=FFHQ_512.scaled(size), provenance={"trained": "no (random test model)"})


def tiny_model(spec: ModelSpec, seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    model = UNet(spec.network)
    # zero-initialised heads make a fresh model output 0; perturb so tests see real outputs
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def face_like(size: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth synthetic RGB uint8 image with some structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = np.stack([np.sin(6 * xx + rng.uniform(0, 3)), np.cos(5 * yy + rng.uniform(0, 3)),
                    np.sin(4 * (xx + yy))], axis=-1)
    return ((img * 0.5 + 0.5) * 255).astype(np.uint8)
