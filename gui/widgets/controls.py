"""Restoration controls: step count (spin box, slider, presets), sampler and eta, seed, device,
precision, the whole-photo upscale factor and the network that enlarges the background, and the estimated run
time."""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget)

PRESETS = (1, 2, 4, 8, 16, 32, 100)


class Controls(QWidget):
    changed = Signal()

    def __init__(self, devices: list[str], parent=None):
        super().__init__(parent)
        box = QGroupBox("Restoration")
        form = QFormLayout(box)

        self.steps = QSpinBox()
        self.steps.setRange(1, 999)
        self.steps.setToolTip("Bridge steps (network calls). More steps: more detail, more time.")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setToolTip("Step count on a logarithmic scale, 1 to 999")
        self.steps.valueChanged.connect(self._steps_to_slider)
        self.slider.valueChanged.connect(self._slider_to_steps)
        form.addRow("Steps", self.steps)
        form.addRow(self.slider)
        self.presets = QHBoxLayout()
        self._set_presets(PRESETS, {})
        form.addRow(self.presets)
        # what the model's own evaluation says about the chosen step count (models that carry a curve)
        self.guidance = QLabel("")
        self.guidance.setObjectName("guidance")
        self.guidance.setWordWrap(True)
        self.guidance.hide()
        form.addRow(self.guidance)
        self._defaults = None
        self.steps.valueChanged.connect(self._update_guidance)

        self.sampler = QComboBox()
        self.sampler.addItem("I2SB (posterior)", "i2sb")
        self.sampler.addItem("I3SB (implicit)", "i3sb")
        self.sampler.setToolTip("I2SB: the original stochastic sampler. I3SB: implicit sampler, eta sets its noise.")
        self.eta = QDoubleSpinBox()
        self.eta.setRange(0.0, 1.0)
        self.eta.setSingleStep(0.1)
        self.eta.setValue(0.6)
        self.eta.setToolTip("I3SB noise scale: 0 is deterministic, 1 is close to I2SB")
        self.sampler.currentIndexChanged.connect(lambda: self.eta.setEnabled(self.sampler.currentData() == "i3sb"))
        self.eta.setEnabled(False)
        form.addRow("Sampler", self.sampler)
        form.addRow("Eta", self.eta)

        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Noise seed: the same seed gives the same result on the same device")
        self.random_seed = QCheckBox("random")
        self.random_seed.setToolTip("Draw a new seed for every run (it is shown here so a result can be reproduced)")
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.random_seed)
        form.addRow("Seed", seed_row)

        self.device = QComboBox()
        for d in ["auto", *devices]:
            self.device.addItem(d.upper() if d != "auto" else "Auto", d)
        self.device.setToolTip("Where the network runs; Auto prefers a GPU")
        self.precision = QComboBox()
        for name in ("auto", "fp32", "fp16", "bf16"):
            self.precision.addItem(name, name)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)

        self.upscale = QComboBox()
        self.upscale.setToolTip("Enlarge the whole photo; the faces are restored and pasted in at the new size "
                                "(see the estimate below). The step comparison always compares faces at the "
                                "original size.")
        for f, label in ((1, "×1 (original size)"), (2, "×2"), (4, "×4")):
            self.upscale.addItem(label, f)
        form.addRow("Upscale", self.upscale)
        self.background = QComboBox()
        self.set_backgrounds(["compact", "quality"])
        self.upscale.currentIndexChanged.connect(self._enable_background)
        form.addRow("Upscaler", self.background)
        self._enable_background()

        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)
        self.estimate.setObjectName("estimate")
        form.addRow("Estimate", self.estimate)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        for w in (self.steps, self.sampler, self.eta, self.seed, self.device, self.precision, self.upscale,
                  self.background):
            sig = getattr(w, "valueChanged", None) or w.currentIndexChanged
            sig.connect(self.changed)

    def _set_presets(self, counts, measured: dict, measured_on: str = "") -> None:
        while self.presets.count():
            w = self.presets.takeAt(0).widget()
            if w is not None:  # off the panel now: a deferred delete waits for an event loop level
                w.hide()
                w.setParent(None)
                w.deleteLater()
        for n in counts:
            b = QPushButton(str(n))
            b.setFixedWidth(38)
            tip = f"{n} step{'s' if n > 1 else ''}"
            if str(n) in measured:
                tip += f": {measured_on.split(',')[0]} {measured[str(n)]:.3f} (measured)"
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, n=n: self.steps.setValue(n))
            self.presets.addWidget(b)

    def set_guidance(self, defaults) -> None:
        """Presets follow the model's measured step curve; the chosen count gets the measured figure, or a
        warning beyond the measured range. Models without a curve keep the generic presets."""
        self._defaults = defaults if defaults is not None and defaults.measured else None
        if self._defaults is None:
            self._set_presets(PRESETS, {})
        else:
            self._set_presets(self._defaults.measured_steps(), self._defaults.measured, self._defaults.measured_on)
        self._update_guidance()

    def _update_guidance(self, *_):
        note = self._defaults.note(self.steps.value()) if self._defaults is not None else ""
        self.guidance.setText(note)
        self.guidance.setVisible(bool(note))
        beyond = self._defaults is not None and self.steps.value() > self._defaults.useful_max()
        self.guidance.setStyleSheet("color: #d08020;" if beyond else "")
        if self._defaults is not None:
            self.guidance.setToolTip(f"From this model's card: {self._defaults.measured_on}")

    def set_backgrounds(self, available: list[str], chosen: str = "") -> None:
        """The background choices: the installed Real-ESRGAN networks (engine/upscale/catalog.py; compact
        first, the default) and a plain resize. Keeps the current choice (or `chosen`) where it is offered."""
        from engine.upscale.catalog import MODELS

        keep = chosen or self.background.currentData() or ""
        self.background.blockSignals(True)
        self.background.clear()
        labels = {"compact": "Fast: Real-ESRGAN compact", "quality": "Quality: Real-ESRGAN x4plus (slow)"}
        for name in available:
            self.background.addItem(labels.get(name, MODELS[name].title), name)
            self.background.setItemData(self.background.count() - 1, f"{MODELS[name].title}: {MODELS[name].speed}",
                                        Qt.ItemDataRole.ToolTipRole)
        self.background.addItem("Plain resize (instant)", "none")
        self.background.setCurrentIndex(max(0, self.background.findData(keep)))
        self.background.blockSignals(False)
        self.background.setToolTip("How the photo around the faces is enlarged. Fast (the default) takes under a "
                                   "minute per megapixel on a CPU; Quality is a little crisper and about 18 times "
                                   "slower; a plain resize is instant and soft."
                                   + ("" if "quality" in available else " Quality needs Real-ESRGAN x4plus "
                                      "(bash build_scripts/setup.sh installs it)."))

    def _enable_background(self, *_):
        self.background.setEnabled((self.upscale.currentData() or 1) > 1)

    def set_deterministic(self, deterministic: bool) -> None:
        """A deterministic model (OT-ODE bridge) has one sampler and ignores the seed: say so, don't offer them."""
        if deterministic:
            self.sampler.setCurrentIndex(self.sampler.findData("i2sb"))
        for w in (self.sampler, self.seed, self.random_seed):
            w.setEnabled(not deterministic)
        self.eta.setEnabled(not deterministic and self.sampler.currentData() == "i3sb")
        note = "This model is deterministic (OT-ODE bridge): every seed gives the same result."
        self.sampler.setToolTip(note if deterministic else
                                "I2SB: the original stochastic sampler. I3SB: implicit sampler, eta sets its noise.")
        self.seed.setToolTip(note if deterministic else
                             "Noise seed: the same seed gives the same result on the same device")

    # log-scale slider <-> integer steps
    def _steps_to_slider(self, n: int) -> None:
        import math

        self.slider.blockSignals(True)
        self.slider.setValue(round(1000 * math.log(n) / math.log(999)))
        self.slider.blockSignals(False)

    def _slider_to_steps(self, v: int) -> None:
        self.steps.setValue(max(1, min(999, round(999 ** (v / 1000)))))

    def next_seed(self) -> int:
        if self.random_seed.isChecked():
            self.seed.setValue(random.randrange(0, 2**31 - 1))
        return self.seed.value()

    def values(self) -> dict:
        return {"steps": self.steps.value(), "sampler": self.sampler.currentData(), "eta": self.eta.value(),
                "seed": self.seed.value(), "device": self.device.currentData(),
                "precision": self.precision.currentData(), "upscale": self.upscale.currentData() or 1,
                "background": self.background.currentData() or "none"}
