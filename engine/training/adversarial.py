"""An adversarial term for the predicted clean face (issue #32): a small spectral-norm patch discriminator.

An MSE-trained bridge predicts the mean of the faces that fit the input, which is soft. A discriminator that
judges patches of the predicted clean face against patches of real faces pushes the prediction toward detail
real faces have (lashes, skin, hair), the recipe GFPGAN, GPEN and Real-ESRGAN fine-tune with. Spectral norm
keeps the discriminator Lipschitz, which is what lets the generator's term stay small and stable; R1 (a
gradient penalty on real images) is there when it still is not.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

GAN_LOSSES = ("hinge", "ns")  # hinge, or the non-saturating logistic loss


class PatchDiscriminator(nn.Module):
    """A PatchGAN: each output logit judges a receptive field of about 70 px (three stride-2 4x4 convolutions
    and two 4x4 ones), so it looks at texture and parts, not at the whole face. 0.7 M parameters and about
    1 GFLOP per 256 px image at width 32 (the CPU's default); 2.8 M at width 64."""

    def __init__(self, width: int = 32, in_channels: int = 3):
        super().__init__()
        chans = [in_channels, width, width * 2, width * 4, width * 8]
        layers: list[nn.Module] = []
        for i in range(4):
            stride = 2 if i < 3 else 1
            layers += [spectral_norm(nn.Conv2d(chans[i], chans[i + 1], 4, stride, 1)), nn.LeakyReLU(0.2, True)]
        layers.append(spectral_norm(nn.Conv2d(chans[-1], 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: images in [-1, 1]; returns per-patch logits (B, 1, h, w)."""
        return self.net(x)


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """Per sample: how far the discriminator is from calling the restored faces real."""
    per_patch = -fake_logits if kind == "hinge" else F.softplus(-fake_logits)
    return per_patch.flatten(1).mean(1)


def discriminator_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def r1_penalty(disc: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of the discriminator at real images (Mescheder et al. 2018), of each image's
    mean patch logit: the score the losses see. (The sum of the patch logits, used before session 14, made the
    penalty grow with the square of the patch count, about 10^5 times at 256 px, and held the discriminator's
    real and fake logits equal: it never learned.)"""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(disc(real).flatten(1).mean(1).sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
