"""Carry a trained network's weights to the same network behind a larger pixel-unshuffle patch, or to the same
network with a detail branch added (config.py's detail_channels).

Every layer between the stem and the head works on the unshuffled grid, so a network at image size S and
patch p and one at size kS and patch kp have identical inner layers. Only the stem's input channels and the
head's output channels differ; they are mapped so that the new network, given an image upsampled k times
(nearest), computes exactly what the old one computes on the original, and returns its output upsampled the
same way. On any other image it sees each k x k block through its mean. A warm start, not a new model: the
extra resolution has to be learnt.

A detail branch and the top blocks end in zero-initialised layers, so a network that gains them computes exactly
what it computed before; they keep the new network's fresh initialisation and are learnt from there.
"""

from __future__ import annotations

import torch

from .config import UNetConfig

STEM, HEAD = "stem.weight", "head.2"


DETAIL = "detail_"  # the detail branch's parameters: detail_in, detail_block, detail_out
TOP = "top."  # the top blocks' parameters

# parts a network can gain at the same patch size: the config fields that size each, and its parameters' prefix
_GAINABLE = {"detail_channels": (("detail_channels",), DETAIL), "top_blocks": (("top_blocks", "top_width"), TOP)}


def gained_parts(old: UNetConfig, new: UNetConfig) -> list[str]:
    """Parameter prefixes of the zero-initialised parts `new` has and `old` lacks (only at the same patch)."""
    if new.patch_size != old.patch_size:
        return []
    return [prefix for key, (_, prefix) in _GAINABLE.items() if not getattr(old, key) and getattr(new, key)]


def patch_factor(old: UNetConfig, new: UNetConfig) -> int:
    """k such that `new` is `old` behind a k times larger patch (and perhaps with a detail branch or top blocks
    `old` lacks); raises ValueError when it is not."""
    k = new.patch_size // old.patch_size
    expected = {**old.to_dict(), "image_size": new.image_size, "patch_size": new.patch_size}
    gained = gained_parts(old, new)
    for fields_, prefix in _GAINABLE.values():
        if prefix in gained:
            expected.update({f: getattr(new, f) for f in fields_})
    if expected != new.to_dict() or k < 1 or new.patch_size != k * old.patch_size or new.image_size != k * old.image_size:
        raise ValueError(f"a different network ({old}) than this run ({new}): they differ beyond the patch size")
    return k


def _expanded_index(channels: int, old_patch: int, k: int) -> torch.Tensor:
    """For each unshuffled channel of the new patch, the old unshuffled channel its pixel falls in."""
    new_patch = old_patch * k
    idx = []
    for c in range(channels):
        for i in range(new_patch):
            for j in range(new_patch):
                idx.append(c * old_patch**2 + (i // k) * old_patch + j // k)
    return torch.tensor(idx)


def carry_state(state: dict, old: UNetConfig, new: UNetConfig, fresh: dict | None = None) -> dict:
    """`state` (the old network's state dict) rewritten for the new network's config. `fresh`: the new
    network's own state dict, whose detail branch or top blocks are kept when the old network lacks them."""
    k = patch_factor(old, new)
    gained = gained_parts(old, new)
    if gained:
        if fresh is None:
            raise ValueError("the new network adds a detail branch or top blocks: pass its own state (fresh) to "
                             "start them from")
        return {**dict(state), **{n: v for n, v in fresh.items() if n.startswith(tuple(gained))}}
    if k == 1:
        return dict(state)
    out = dict(state)
    stem_idx = _expanded_index(old.in_channels, old.patch_size, k)
    out[STEM] = state[STEM][:, stem_idx] / k**2  # k*k copies of each pixel: their mean is the old input
    head_idx = _expanded_index(old.out_channels, old.patch_size, k)
    for name in (f"{HEAD}.weight", f"{HEAD}.bias"):
        out[name] = state[name][head_idx]
    return out
