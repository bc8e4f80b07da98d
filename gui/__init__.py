"""FaceBridge desktop application (PySide6). Talks to the engine only through jobs run on a QThread."""

from .qt_env import sanitize as _sanitize

_sanitize()
