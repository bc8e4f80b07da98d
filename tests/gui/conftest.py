import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")


@pytest.fixture()
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    from engine.io.checkpoints import save_checkpoint
    from tests.engine.helpers import tiny_model, tiny_spec

    spec = tiny_spec("cat", size=32)
    return str(save_checkpoint(tmp_path_factory.mktemp("gm") / "tiny.safetensors", tiny_model(spec), spec))


@pytest.fixture()
def window(qtbot, settings, tiny_model_path, monkeypatch):
    import gui  # noqa: F401  (sanitises the Qt environment)
    from gui.main_window import MainWindow

    settings.setValue("ui/detector_offered", True)  # no first-run offer popping up in tests
    w = MainWindow(model=tiny_model_path, settings=settings)
    qtbot.addWidget(w)
    w.resize(1100, 700)
    w.show()
    yield w
    if w.runner.busy:
        w.runner.cancel()
        w.runner.wait(5000)
