"""Face packs: a folder of aligned training faces, resized once and stored as WebP in a few shards.

A device call carries at most 64 MiB, so the 12,000 UTKFace training faces travel as a pack (40 MB at
128 px, WebP quality 90) rather than as 98 MB of source JPEGs. Shards keep each file small enough to be
staged over more than one call; the manifest lists them with their SHA-256, so a partial or damaged pack
is refused by name instead of training on part of the data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from ..downloads import sha256_of
from ..io.image_folders import list_images

MANIFEST = "manifest.json"
FORMAT = "facebridge-face-pack"


def is_pack(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def write_pack(source: Path, out: Path, *, size: int = 128, quality: int = 90, shard_mb: float = 12.0,
               limit: Optional[int] = None) -> dict:
    """Pack the images of `source` (resized to size x size as load_faces resizes them) into `out`."""

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shards, blobs, offsets, used = [], [], [0], 0

    def flush():
        if not blobs:
            return
        name = f"shard-{len(shards):03d}.npz"
        tmp = out / (name + ".tmp.npz")
        np.savez(tmp, blob=np.frombuffer(b"".join(blobs), np.uint8), offsets=np.array(offsets, np.int64))
        os.replace(tmp, out / name)
        shards.append({"file": name, "count": len(blobs), "bytes": (out / name).stat().st_size,
                       "sha256": sha256_of(out / name)})
        blobs.clear()
        offsets[:] = [0]

    files = list_images(Path(source))[:limit]
    for path in files:
        img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"cannot decode training image {path}")
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".webp", img, [cv2.IMWRITE_WEBP_QUALITY, int(quality)])
        if not ok:
            raise RuntimeError(f"WebP encoding failed for {path}")
        if offsets[-1] + len(buf) > shard_mb * 1e6:
            flush()
        blobs.append(buf.tobytes())
        offsets.append(offsets[-1] + len(buf))
        used += 1
    flush()
    manifest = {"format": FORMAT, "version": 1, "size": size, "quality": quality, "count": used,
                "source": Path(source).name, "shards": shards}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def read_manifest(folder: Path) -> dict:
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{folder} is not a face pack (format {manifest.get('format')!r})")
    return manifest


def missing_shards(folder: Path, *, verify: bool = True) -> list[str]:
    """Shards the manifest lists that are absent (or, with verify, whose SHA-256 differs)."""
    folder = Path(folder)
    return [s["file"] for s in read_manifest(folder)["shards"]
            if not (folder / s["file"]).is_file() or (verify and sha256_of(folder / s["file"]) != s["sha256"])]


def load_pack(folder: Path, size: int, limit: Optional[int] = None) -> np.ndarray:
    """All faces of a pack as (N, size, size, 3) RGB uint8."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    bad = missing_shards(folder)
    if bad:
        raise FileNotFoundError(f"face pack {folder} is incomplete or damaged: {', '.join(bad)}")
    count = manifest["count"] if limit is None else min(limit, manifest["count"])
    out = np.empty((count, size, size, 3), np.uint8)
    i = 0
    for shard in manifest["shards"]:
        with np.load(folder / shard["file"]) as z:
            blob, offsets = z["blob"], z["offsets"]
        for a, b in zip(offsets[:-1], offsets[1:]):
            if i == count:
                return out
            img = cv2.imdecode(blob[a:b], cv2.IMREAD_COLOR)
            if img.shape[0] != size:
                img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
            out[i] = img[..., ::-1]
            i += 1
    return out
