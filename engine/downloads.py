"""Weight downloads: per-user cache, resume of partial files (HTTP Range), sha256 verification,
progress through the engine's callback, clear errors when offline. Standard library only."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .errors import DownloadError
from .progress import CancelToken, ProgressCallback, check, report

CHUNK = 1 << 16


@dataclass(frozen=True)
class WeightFile:
    name: str  # file name in the cache
    url: str
    sha256: str
    size: int
    description: str


# facexlib's official release assets (hashes recorded from independent checks of those assets).
RETINAFACE_RESNET50 = WeightFile(
    "detection_Resnet50_Final.pth",
    "https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_Resnet50_Final.pth",
    "6d1de9c2944f2ccddca5f5e010ea5ae64a39845a86311af6fdf30841b0a5a16d", 109_497_761,
    "RetinaFace ResNet-50 face detector (facexlib, MIT)")
RETINAFACE_MOBILE = WeightFile(
    "detection_mobilenet0.25_Final.pth",
    "https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_mobilenet0.25_Final.pth",
    "2979b33ffafda5d74b6948cd7a5b9a7a62f62b949cef24e95fd15d2883a65220", 1_789_735,
    "RetinaFace MobileNet-0.25 face detector, fast (facexlib, MIT)")
OPTIONAL_WEIGHTS = {"retinaface": RETINAFACE_RESNET50, "retinaface_mobile": RETINAFACE_MOBILE}


def cache_dir() -> Path:
    """FACEBRIDGE_CACHE overrides the per-user cache folder (platformdirs)."""
    env = os.environ.get("FACEBRIDGE_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("FaceBridge", appauthor=False)) / "weights"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cached_path(weight: WeightFile) -> Optional[Path]:
    path = cache_dir() / weight.name
    return path if path.is_file() else None


def download(url: str, dest: Path, *, sha256: str, expected_size: int = 0,
             callback: Optional[ProgressCallback] = None, cancel: Optional[CancelToken] = None,
             timeout: float = 30.0) -> Path:
    """Download url to dest. A `.part` file from an interrupted run is resumed; the result must match sha256."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and sha256_of(dest) == sha256:
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "FaceBridge"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already complete (or bogus): verify below
            return _finish(part, dest, sha256)
        raise DownloadError(f"{url}: server answered HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"cannot reach {url} ({reason}); check the internet connection, or place the "
                            f"file at {dest} yourself") from exc
    with response:
        if have and response.status != 206:  # server ignored Range: start over
            have = 0
        total = have + int(response.headers.get("Content-Length") or 0) or expected_size
        mode = "ab" if have else "wb"
        done = have
        try:
            with open(part, mode) as f:
                while True:
                    check(cancel)
                    block = response.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    done += len(block)
                    report(callback, "download", done, total, dest.name)
        except (OSError, urllib.error.URLError) as exc:
            raise DownloadError(f"download of {url} was interrupted after {done} bytes ({exc}); "
                                "run it again to resume") from exc
    if total and done < total:
        raise DownloadError(f"download of {url} ended early ({done} of {total} bytes); run it again to resume")
    return _finish(part, dest, sha256)


def _finish(part: Path, dest: Path, sha256: str) -> Path:
    digest = sha256_of(part)
    if digest != sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{dest.name}: checksum mismatch (got {digest[:12]}..., expected {sha256[:12]}...); "
                            "the partial file was deleted, try again")
    os.replace(part, dest)
    return dest


def fetch_weight(weight: WeightFile, *, callback=None, cancel=None) -> Path:
    return download(weight.url, cache_dir() / weight.name, sha256=weight.sha256, expected_size=weight.size,
                    callback=callback, cancel=cancel)
