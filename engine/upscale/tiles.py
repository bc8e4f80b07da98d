"""Tiled inference for image-to-image networks that enlarge by an integer factor, with blended seams.

The photo is cut into a grid of `tile`-pixel cells. Each cell is run with `overlap + context` extra pixels
of the photo around it (fewer at the photo's border). Its output is kept over the cell plus `overlap` on each
side and cross-faded with its neighbours there: the weights are linear ramps that sum to exactly one at
every output pixel, so a network whose reach fits inside the context gives exactly the untiled result, and
one that reaches further (Real-ESRGAN does, docs/UPSCALE.md) shows no hard seam.

Memory is bounded by one band of tiles, not by the photo: tiles are run row by row and only the current
band is held in float32 (rows shared with the next band are carried over); finished rows go straight into
the output array in the photo's own dtype. Progress is reported per tile, and within a tile when the network
reports its own share done; cancellation is checked between tiles.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import cv2
import numpy as np
import torch

from ..progress import CancelToken, ProgressCallback, check, report

# Real-ESRGAN x4plus's defaults, chosen by measurement (docs/UPSCALE.md): input pixels per tile cell, the
# cross-faded band on each side of a seam, and the photo context beyond it that a tile sees but does not keep
DEFAULT_TILE = 256
DEFAULT_OVERLAP = 32
DEFAULT_CONTEXT = 96
PARTS = 100  # progress units per tile when the network reports its share done


class Span(NamedTuple):
    """One row band or column of the grid, in input pixels: the cell [cell0, cell1), the part kept
    [keep0, keep1) (the cell plus `overlap` towards each neighbour), and the edges shared with the
    previous/next cell (None at the photo's border), where the cross-fade ramps sit."""
    cell0: int
    cell1: int
    keep0: int
    keep1: int
    lo_edge: Optional[int]
    hi_edge: Optional[int]


def spans(length: int, tile: int, overlap: int) -> list[Span]:
    """The grid along one axis of `length` pixels: cells of `tile`, the last one shorter."""
    starts = list(range(0, length, tile))
    out = []
    for i, a in enumerate(starts):
        b = min(length, a + tile)
        lo, hi = (a if i > 0 else None), (b if i + 1 < len(starts) else None)
        out.append(Span(a, b, a - overlap if lo is not None else 0, min(length, b + overlap) if hi is not None
                        else length, lo, hi))
    return out


def tile_regions(height: int, width: int, tile: int, overlap: int, context: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the photo each tile actually runs on, in run order: what it keeps plus `context`."""
    return [(max(0, r.keep0 - context), min(height, r.keep1 + context),
             max(0, c.keep0 - context), min(width, c.keep1 + context))
            for r in spans(height, tile, overlap) for c in spans(width, tile, overlap)]


def ramp_weights(n_out: int, start: float, lo_edge: Optional[int], hi_edge: Optional[int], overlap: int,
                 factor: int) -> np.ndarray:
    """1-D cross-fade weights for output pixels [start*factor, start*factor + n_out) of one tile.

    lo_edge/hi_edge: the cell boundaries (input pixels) shared with the previous/next tile, None at the
    photo's border. The weight rises from 0 to 1 across [edge - overlap, edge + overlap] at the low edge and
    falls the same way at the high edge, measured at each output pixel's centre, so neighbours sum to 1."""
    x = (np.arange(n_out, dtype=np.float64) + 0.5) / factor + start
    w = np.ones(n_out, np.float64)
    if overlap > 0:
        if lo_edge is not None:
            w *= np.clip((x - (lo_edge - overlap)) / (2 * overlap), 0.0, 1.0)
        if hi_edge is not None:
            w *= np.clip(((hi_edge + overlap) - x) / (2 * overlap), 0.0, 1.0)
    return w.astype(np.float32)


def _store(out: np.ndarray, rows: slice, values: np.ndarray) -> None:
    """Write float [0, 1] rows into the output array in its dtype (rounded) or as float."""
    if out.dtype == np.float32:
        out[rows] = values
    else:
        peak = float(np.iinfo(out.dtype).max)
        out[rows] = np.clip(np.round(values * peak), 0, peak).astype(out.dtype)


def run_tiled(image: np.ndarray, fn: Callable[..., torch.Tensor], scale: int, *, factor: int = 0,
              tile: int = 256, overlap: int = 0, context: int = 32, device: torch.device | str = "cpu",
              callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
              reports_parts: bool = False) -> np.ndarray:
    """image: (H, W, C) float32 in [0, 1], or uint8/uint16 (scaled to [0, 1] per tile).
    fn: (1, C, h, w) -> (1, C, h*scale, w*scale) on `device`; with reports_parts, fn(x, share_done) where
    share_done(share) says what share (0-1] of this tile is done, and progress counts PARTS units per tile.
    factor: the output's enlargement (default
    `scale`; a divisor of it is reached by area-averaging each tile's output, which matches averaging the
    whole output because tiles start on whole input pixels). Returns (H*factor, W*factor, C) in the input's
    dtype."""
    factor = factor or scale
    if tile < 1 or context < 0 or overlap < 0 or scale < 1 or factor < 1 or scale % factor:
        raise ValueError(f"tile must be >= 1, overlap and context >= 0, and the factor must divide the network's "
                         f"scale (got tile {tile}, overlap {overlap}, context {context}, scale {scale}, "
                         f"factor {factor})")
    if 2 * overlap > tile:
        raise ValueError(f"overlap {overlap} must be at most half the tile ({tile})")
    h, w, c = image.shape
    peak = 1.0 if image.dtype == np.float32 else float(np.iinfo(image.dtype).max)
    out = np.empty((h * factor, w * factor, c), image.dtype)
    rows, cols = spans(h, tile, overlap), spans(w, tile, overlap)
    regions = iter(tile_regions(h, w, tile, overlap, context))
    total, done = len(rows) * len(cols), 0
    units = PARTS if reports_parts else 1
    last = [-1]  # the last unit reported, so a network reporting often sends each unit once

    def share_done(share: float) -> None:
        unit = done * units + min(units - 1, int(share * units))
        if unit > last[0]:
            last[0] = unit
            report(callback, "upscale", unit, total * units, f"tile {done + 1}/{total}")
    carry = None  # float rows of the previous band that this band still adds to
    carry_from = 0  # their first input row
    for row in rows:
        band_from, band_to = row.keep0, row.keep1  # input rows this band writes
        band = np.zeros(((band_to - band_from) * factor, w * factor, c), np.float32)
        if carry is not None:
            band[(carry_from - band_from) * factor:(carry_from - band_from) * factor + carry.shape[0]] += carry
        wy = ramp_weights((band_to - band_from) * factor, band_from, row.lo_edge, row.hi_edge, overlap, factor)
        for col in cols:
            check(cancel)
            ry0, ry1, rx0, rx1 = next(regions)
            region = np.ascontiguousarray(image[ry0:ry1, rx0:rx1], np.float32)
            if peak != 1.0:
                region /= peak
            x = torch.from_numpy(region).permute(2, 0, 1)[None].to(device)
            with torch.inference_mode():
                up = (fn(x, share_done) if reports_parts else fn(x))[0].permute(1, 2, 0).float().cpu().numpy()
            if factor != scale:
                up = cv2.resize(up, ((rx1 - rx0) * factor, (ry1 - ry0) * factor), interpolation=cv2.INTER_AREA)
                if up.ndim == 2:
                    up = up[..., None]
            oy, ox = (band_from - ry0) * factor, (col.keep0 - rx0) * factor
            part = up[oy:oy + (band_to - band_from) * factor, ox:ox + (col.keep1 - col.keep0) * factor]
            wx = ramp_weights(part.shape[1], col.keep0, col.lo_edge, col.hi_edge, overlap, factor)
            band[:, col.keep0 * factor:col.keep1 * factor] += part * wy[:, None, None] * wx[None, :, None]
            done += 1
            last[0] = done * units
            report(callback, "upscale", done * units, total * units, f"tile {done}/{total}")
        # rows below the next band's first row are final; the rest carry over to it
        final_to = (row.cell1 - overlap) if row.hi_edge is not None else h
        _store(out, slice(band_from * factor, final_to * factor), band[:(final_to - band_from) * factor])
        carry, carry_from = band[(final_to - band_from) * factor:], final_to
    return out
