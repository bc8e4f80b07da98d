"""The desktop half of `--self-test`: Qt's platform plugins, the theme and the main window, driven headless.

Opens the bundled sample in the real window, restores it on the worker thread and checks the result, so a
built application that is missing a Qt plugin, the stylesheet or a module the window imports fails here.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

NATIVE_PLATFORM_PLUGIN = {"linux": "qxcb", "win32": "qwindows", "darwin": "qcocoa"}


def run_gui_self_test(*, model: Optional[str] = None, sample: Optional[str] = None,
                      echo: Callable[[str], None] = print, timeout_s: float = 300.0) -> Optional[str]:
    """Returns None when every check held, else the reason."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless, whatever the desktop session is
    from .qt_env import sanitize

    sanitize()
    try:
        return _run(model, sample, echo, timeout_s)
    except Exception as exc:  # noqa: BLE001 - reported, with its type, as the self-test's failure
        return f"{type(exc).__name__}: {exc}"


def _plugin_check() -> Optional[str]:
    from PySide6.QtCore import QLibraryInfo

    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    names = {p.name for p in folder.glob("*")} if folder.is_dir() else set()
    wanted = [NATIVE_PLATFORM_PLUGIN.get(sys.platform, "qxcb"), "qoffscreen"]
    missing = [w for w in wanted if not any(w in n for n in names)]
    return f"Qt platform plugins missing from {folder}: {missing}" if missing else None


def _run(model, sample, echo, timeout_s) -> Optional[str]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from engine.selftest import default_sample_path

    from .app import create_app
    from .main_window import MainWindow
    from .theme import apply_theme

    problem = _plugin_check()
    if problem:
        return problem
    t = time.perf_counter()
    app = create_app()
    with tempfile.TemporaryDirectory(prefix="facebridge-selftest-gui-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("ui/detector_offered", True)
        apply_theme(app, "dark")
        window = MainWindow(model=model, settings=settings)
        errors: list[str] = []
        window.on_error = lambda info: errors.append(f"{info.kind}: {info.message}")  # no modal dialog
        window.resize(1100, 700)
        window.show()
        echo(f"  GUI window + theme      {(time.perf_counter() - t) * 1000:8.1f} ms  "
             f"(Qt platform '{app.platformName()}')")

        def wait(what: str) -> Optional[str]:
            deadline = time.monotonic() + timeout_s
            while window.runner.busy:
                if time.monotonic() > deadline:
                    return f"the GUI's {what} job did not finish within {timeout_s:.0f} s"
                app.processEvents()
                time.sleep(0.01)
            app.processEvents()
            return errors[0] if errors else None

        t = time.perf_counter()
        window.open_path(str(sample or default_sample_path()))
        problem = wait("open")
        if problem:
            return problem
        if window.opened is None or not window.opened.faces:
            return "the GUI opened the sample but found no face"
        echo(f"  GUI open + detect       {(time.perf_counter() - t) * 1000:8.1f} ms  "
             f"{len(window.opened.faces)} face(s)")
        t = time.perf_counter()
        window.restore()
        problem = wait("restore")
        if problem:
            return problem
        if window.result is None:
            return "the GUI's restore job ended without a result"
        before, after = window.opened.photo.pixels, window.result.result.photo.pixels
        if after.shape != before.shape or not (after != before).any():
            return "the GUI's restored photo is unchanged or has the wrong size"
        echo(f"  GUI restore (thread)    {(time.perf_counter() - t) * 1000:8.1f} ms")
        if window.grab().isNull():
            return "the main window could not be rendered"
        window.close()
        QApplication.processEvents()
    return None
