"""The denoising network: an ADM-style UNet configured by a frozen UNetConfig."""

from .config import UNetConfig
from .unet import UNet, count_flops, count_parameters

__all__ = ["UNetConfig", "UNet", "count_flops", "count_parameters"]
