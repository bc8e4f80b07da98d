"""Typed errors the engine raises. Every message says what was expected, so a user can act on it."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class BadInputError(EngineError, ValueError):
    """The caller passed data the engine cannot use (wrong shape, dtype, option...)."""


class _PathError:
    """Mixin: an error about one file; the message names the file first, then the reason."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageReadError(_PathError, BadInputError):
    """An image file could not be read: corrupt, truncated, unsupported, too large..."""


class ImageWriteError(_PathError, EngineError, OSError):
    """An output could not be written (permissions, disk, refusal to overwrite an input)."""


class ModelError(_PathError, EngineError):
    """A checkpoint is missing, corrupt, truncated or does not match what the engine expects."""


class DeviceOutOfMemory(EngineError, MemoryError):
    """The device ran out of memory; fewer faces per batch or the CPU may work."""


class DeviceUnavailable(EngineError):
    """The requested device (cuda, mps) is not present on this machine."""


class DownloadError(EngineError):
    """A weight download failed (offline, server error, checksum mismatch)."""


class NoFaceFound(EngineError):
    """Detection found no face in an image (callers may choose to treat this as a skip)."""


class Cancelled(EngineError):
    """The job was cancelled through its CancelToken."""


class ClusterUnavailable(EngineError):
    """No Ray cluster answered at the given address."""
