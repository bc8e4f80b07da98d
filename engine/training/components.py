"""Facial components for the training losses (issue #32): fixed eye and mouth boxes of the face template.

A GAN pushes the predicted face toward what faces in general look like, and measured here it moved identity
away from the person's (TRAINING.md, session 14). Identity lives mostly in the eyes and mouth, as GFPGAN's
facial-component losses assume. The training faces are aligned to the model's template, so fixed boxes around
its eye and mouth points find those parts in every face to within a few pixels. The hope was that a perceptual
term on them would hold the parts that carry identity to the person's own; measured (TRAINING.md, session 15) LPIPS
on them asks for their texture and moved identity further away (+0.0108 against the GAN alone's +0.0044), so a
term that pins their shape (pixel-level: `--component-pixel`, L1 on the boxes) followed; under the GAN it held
identity (TRAINING.md, session 17).
"""

from __future__ import annotations

import torch

from ..modelspec import FaceTemplate


def component_boxes(template: FaceTemplate, image_size: int) -> list[tuple[int, int, int]]:
    """(top, left, side) of a square box around each eye and around the mouth, in an image_size crop.

    The side is the eye span (each eye box then holds the eye and its brow; the mouth box, centred on the
    mouth corners' midpoint, the lips and the skin around them), clamped so every box lies inside the crop."""
    t = template.scaled(image_size)
    side = max(8, min(image_size, round(t.eye_span * image_size)))
    (lx, ly), (rx, ry), _, (mlx, mly), (mrx, mry) = t.points
    centres = [(ly, lx), (ry, rx), ((mly + mry) / 2, (mlx + mrx) / 2)]
    boxes = []
    for cy, cx in centres:
        top = min(max(0, round(cy - side / 2)), image_size - side)
        left = min(max(0, round(cx - side / 2)), image_size - side)
        boxes.append((top, left, side))
    return boxes


def crop_components(images: torch.Tensor, boxes: list[tuple[int, int, int]]) -> torch.Tensor:
    """(B, C, H, W) -> (B * len(boxes), C, side, side): each image's boxes, in order, one after another."""
    crops = [images[..., top:top + side, left:left + side] for top, left, side in boxes]
    return torch.stack(crops, dim=1).flatten(0, 1)
