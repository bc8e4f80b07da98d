"""Dark (default), light, or following the OS, through QDarkStyle."""

from __future__ import annotations

import qdarkstyle
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light", "system")


def apply_theme(app: QApplication, theme: str) -> str:
    """Apply and return the effective theme ("dark" or "light")."""
    if theme == "system":
        scheme = app.styleHints().colorScheme()
        theme = "light" if scheme == Qt.ColorScheme.Light else "dark"
    palette = qdarkstyle.LightPalette if theme == "light" else qdarkstyle.DarkPalette
    app.setStyleSheet(qdarkstyle.load_stylesheet(qt_api="pyside6", palette=palette))
    return theme
