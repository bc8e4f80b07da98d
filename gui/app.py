"""QApplication set-up and the GUI entry point."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from .qt_env import sanitize

sanitize()

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtGui import QIcon  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.cli.paths import resources_dir  # noqa: E402

log = logging.getLogger(__name__)


def app_icon() -> QIcon:
    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("facebridge-*.png")):
        icon.addFile(str(png))
    return icon


def create_app(argv: Optional[list[str]] = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("FaceBridge")
    app.setOrganizationName("FaceBridge")
    app.setWindowIcon(app_icon())
    return app


def install_excepthook(window) -> None:
    """An exception escaping a Qt slot becomes an error dialog, never a crash or a silent failure."""
    import traceback

    from .dialogs import show_error
    from .workers import ErrorInfo

    def hook(kind, exc, tb):
        log.error("unhandled exception", exc_info=(kind, exc, tb))
        show_error(window, ErrorInfo(kind.__name__, str(exc), "".join(traceback.format_exception(kind, exc, tb)), exc))

    sys.excepthook = hook


def main(paths: Sequence[str] = (), model: Optional[str] = None) -> int:
    from .main_window import MainWindow
    from .theme import apply_theme

    app = create_app()
    settings = QSettings("FaceBridge", "FaceBridge")
    apply_theme(app, str(settings.value("ui/theme", "dark")))
    window = MainWindow(model=model, settings=settings)
    install_excepthook(window)
    window.show()
    if paths:
        first = Path(paths[0])
        QTimer.singleShot(0, lambda: window.open_folder(str(first)) if first.is_dir() else window.open_path(str(first)))
    return app.exec()
