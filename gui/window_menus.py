"""The main window's menu bar: every action, its shortcut and the controller method it calls."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from engine.faces.detectors import retinaface_supported

from .dialogs import about_dialog


class Menus:
    """Builds the menu bar once; the actions that depend on state (Save, Copy, the identity meter) are kept on
    the window, which enables them."""

    def __init__(self, window):
        self.w = window

    def _act(self, menu, text, slot, shortcut=None, tip=None) -> QAction:
        a = QAction(text, self.w)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def build(self) -> None:
        m = self.w.menuBar().addMenu("&File")
        self._act(m, "&Open photo…", self.w.photo.open_dialog, QKeySequence.StandardKey.Open)
        self._act(m, "Open &folder (batch)…", self.w.photo.open_folder_dialog, "Ctrl+Shift+O")
        self.w.recent_menu = m.addMenu("Open &recent")
        self._act(m, "&Paste image", self.w.photo.paste_image, QKeySequence.StandardKey.Paste)
        m.addSeparator()
        self.w.save_action = self._act(m, "&Save result", self.w.saving.save, QKeySequence.StandardKey.Save)
        self.w.save_as_action = self._act(m, "Save result &as…", self.w.saving.save_as, QKeySequence.StandardKey.SaveAs)
        self.w.copy_action = self._act(m, "&Copy result", self.w.saving.copy_result, "Ctrl+Shift+C")
        self.w.provenance_action = self._act(
            m, "Record &provenance in saved files", lambda on: self.w.settings.setValue("save/provenance", on),
            tip="Write into every restored file (as XMP) that its faces were restored by FaceBridge, with which model, "
                "steps and seed, and where: what archives and photo managers read as a trained model's edit")
        self.w.provenance_action.setCheckable(True)
        m.addSeparator()
        self._act(m, "&Quit", self.w.close, QKeySequence.StandardKey.Quit)

        r = self.w.menuBar().addMenu("&Restore")
        self._act(r, "&Restore", self.w.photo.restore, "Ctrl+R")
        self._act(r, "&Compare step counts…", self.w.compare.compare_steps_dialog, "Ctrl+K")
        self._act(r, "C&ancel", self.w.runner.cancel, "Esc")
        self._act(r, "Restore as &aligned face", lambda: self.w.photo.restore(aligned=True), "Ctrl+Shift+R")

        v = self.w.menuBar().addMenu("&View")
        self._act(v, "&Fit", self.w.view.fit, "Ctrl+0")
        self._act(v, "&100%", self.w.view.actual_size, "Ctrl+1")
        self._act(v, "Split &slider", lambda: self.w.view.set_mode("split"), "Ctrl+2")
        self._act(v, "Side &by side", lambda: self.w.view.set_mode("side"), "Ctrl+3")
        self._act(v, "&Flip before/after", self.w.view.toggle_flip, "B")
        self._act(v, "&Photo", lambda: self.w.stack.setCurrentWidget(self.w.photo_page if self.w.opened else self.w.welcome),
                  "Ctrl+4")
        self._act(v, "Ba&tch", lambda: self.w.stack.setCurrentWidget(self.w.batch), "Ctrl+5")
        self.w.identity_action = self._act(v, "&Identity meter", lambda on: self.w.settings.setValue("ui/identity", on),
                                         tip="Measure how far each restored face drifted from the input "
                                             "(kept / changed / different), in the face panel and the step grid")
        self.w.identity_action.setCheckable(True)
        t = v.addMenu("&Theme")
        for name in ("dark", "light", "system"):
            self._act(t, name.capitalize(), lambda _=False, n=name: self.w.prefs.set_theme(n))

        mm = self.w.menuBar().addMenu("&Models")
        download = self._act(mm, "Download &RetinaFace detector…", self.w.download_detector)
        if not retinaface_supported():
            download.setEnabled(False)
            download.setToolTip("This build of FaceBridge includes only the MTCNN detector")
        h = self.w.menuBar().addMenu("&Help")
        self._act(h, "&About FaceBridge", lambda: about_dialog(self.w), "F1")
