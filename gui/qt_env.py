"""Keep OpenCV from breaking Qt. opencv-python's cv2 sets QT_QPA_PLATFORM_PLUGIN_PATH (and the font
dir) to its own bundled Qt on import; PySide6 would then load OpenCV's xcb plugin and fail. Import
cv2 first, then drop what it set, before any QApplication exists."""

from __future__ import annotations

import os


def sanitize() -> None:
    import cv2

    cv2_dir = os.path.dirname(os.path.abspath(cv2.__file__))
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        value = os.environ.get(var, "")
        if value and os.path.abspath(value).startswith(cv2_dir):
            del os.environ[var]
