"""What the main window remembers between runs (QSettings): geometry, restore options, recent files, speeds."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction

from engine.cli.paths import default_model_path

MAX_RECENT = 8


class WindowSettings:
    def __init__(self, window):
        self.w = window

    def load(self) -> None:
        s = self.w.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.w.restoreGeometry(geometry)
        else:
            self.w.resize(1280, 800)
        spec = self.model_spec()
        # a step count chosen for another model (e.g. the previous release) does not carry over
        same_model = s.value("restore/steps_model", "") == self.model_name()
        default = spec.defaults.steps if spec else 4
        self.w.controls.steps.setValue(int(s.value("restore/steps", default)) if same_model else default)
        if spec is not None:
            self.w.controls.set_deterministic(spec.bridge.ot_ode or spec.bridge.objective == "regression")
            self.w.controls.set_guidance(spec.defaults)
        idx = self.w.controls.device.findData(s.value("restore/device", "auto"))
        self.w.controls.device.setCurrentIndex(max(0, idx))
        self.w.controls.seed.setValue(int(s.value("restore/seed", 0)))
        self.w.identity_action.setChecked(str(s.value("ui/identity", "true")).lower() == "true")
        self.w.provenance_action.setChecked(str(s.value("save/provenance", "true")).lower() == "true")
        from engine.upscale.weights import available_backgrounds

        self.w.controls.set_backgrounds(available_backgrounds(), str(s.value("restore/background", "compact")))
        self.w.controls.upscale.setCurrentIndex(max(0, self.w.controls.upscale.findData(int(s.value("restore/upscale", 1)))))
        self.w.batch.input.setText(str(s.value("batch/input", "")))
        self.w.batch.output.setText(str(s.value("batch/output", "")))
        for k, v in (s.value("speed/sec_per_step", {}) or {}).items():
            self.w.sec_per_step[k] = float(v)
        for k, v in (s.value("speed/upscale_rate", {}) or {}).items():
            # keyed "device/background"; a bare device is from before the compact model, when x4plus was the one
            self.w.upscale_rate[k if "/" in k else f"{k}/quality"] = (float(v), True)
        self._refresh_recent()
        self.w.photo.update_estimate()

    def model_name(self) -> str:
        return (Path(self.w.model_path) if self.w.model_path else default_model_path()).name

    def model_spec(self):
        """The model's spec, read from its metadata only (no weights are loaded); None if unreadable."""
        from engine.io.checkpoints import read_spec

        try:
            return read_spec(Path(self.w.model_path) if self.w.model_path else default_model_path())
        except Exception:  # noqa: BLE001 - a missing/broken model is reported when it is used
            return None

    def save_settings(self) -> None:
        s = self.w.settings
        s.setValue("window/geometry", self.w.saveGeometry())
        s.setValue("restore/steps", self.w.controls.steps.value())
        s.setValue("restore/steps_model", self.model_name())
        s.setValue("restore/device", self.w.controls.device.currentData())
        s.setValue("restore/seed", self.w.controls.seed.value())
        s.setValue("batch/input", self.w.batch.input.text())
        s.setValue("batch/output", self.w.batch.output.text())
        s.setValue("speed/sec_per_step", self.w.sec_per_step)
        s.setValue("speed/upscale_rate", {k: v[0] for k, v in self.w.upscale_rate.items() if v[1]})
        s.setValue("restore/upscale", self.w.controls.upscale.currentData() or 1)
        s.setValue("restore/background", self.w.controls.background.currentData() or "compact")
        s.sync()

    def set_theme(self, name: str) -> None:
        from PySide6.QtWidgets import QApplication

        from .theme import apply_theme

        apply_theme(QApplication.instance(), name)
        self.w.settings.setValue("ui/theme", name)

    def _recent(self) -> list[str]:
        value = self.w.settings.value("files/recent", []) or []
        return [value] if isinstance(value, str) else list(value)

    def add_recent(self, path: str) -> None:
        items = [path] + [p for p in self._recent() if p != path]
        self.w.settings.setValue("files/recent", items[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.w.recent_menu.clear()
        for p in self._recent():
            a = QAction(p, self.w)
            a.triggered.connect(lambda _=False, p=p: self.w.photo.open_path(p))
            self.w.recent_menu.addAction(a)
        self.w.recent_menu.setEnabled(bool(self._recent()))
