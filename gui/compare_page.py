"""The step-grid page's controller: run several step counts, view one, keep one as the result, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog

from engine.compare import steps_label
from engine.io.images import Photo

from . import jobs
from .convert import to_pixmap


class CompareController:
    def __init__(self, window):
        self.w = window

    def compare_steps_dialog(self) -> None:
        if self.w.opened is None or self.w.runner.busy:
            return
        spec = self.w.prefs.model_spec()
        model_default = (spec.defaults.compare if spec and spec.defaults.compare else "1,4,16")
        # the last list typed for this model, else the model's own suggestion (from its measured curve)
        same_model = self.w.settings.value("compare/steps_model", "") == self.w.prefs.model_name()
        text, ok = QInputDialog.getText(self.w, "Compare step counts", "Step counts (comma separated):",
                                        text=str(self.w.settings.value("compare/steps", model_default)
                                                 if same_model else model_default))
        if not ok:
            return
        from engine.evaluation.run import parse_steps

        try:
            steps = parse_steps(text)
        except ValueError as exc:
            self.w.show_message(str(exc))
            return
        self.w.settings.setValue("compare/steps", text)
        self.w.settings.setValue("compare/steps_model", self.w.prefs.model_name())
        self.run_compare(steps)

    def run_compare(self, steps) -> None:
        options = self.w.photo.options()
        self.w.runner.start(jobs.compare_job(self.w.cache, self.w.key(), self.w.opened, options, steps),
                          on_progress=self.w.on_progress, on_success=self.on_compared, on_error=self.w.on_error,
                          on_cancel=self.w.on_cancelled)

    def on_compared(self, runs) -> None:
        self.w.runs = runs
        self.w.grid.set_runs(self.w.opened.photo.pixels, runs)
        self.w.stack.setCurrentWidget(self.w.grid)
        self.w.progress.setRange(0, 1)
        self.w.progress.setValue(1)
        self.w.progress_label.setText(f"Compared {len(runs)} step counts. Select one in the grid; Keep makes it the "
                                    "result that Save writes.")

    def show_run(self, i: int) -> None:
        self.w.view.set_images(to_pixmap(self.w.opened.photo.pixels), to_pixmap(self.w.runs[i].result.photo.pixels),
                             keep_view=self.w._view_scale == 1.0)  # the grid's runs are at the original size
        self.w._view_scale = 1.0
        self.w.stack.setCurrentWidget(self.w.photo_page)
        kept = f"the kept result ({steps_label(self.w.result.steps)})" if self.w.result else "nothing yet (Keep it first)"
        self.w.progress_label.setText(f"Viewing {steps_label(self.w.runs[i].steps)} from the comparison. "
                                    f"Save writes {kept}.")

    def keep_run(self, i: int) -> None:
        run = self.w.runs[i]
        self.w.controls.steps.setValue(run.steps)  # the kept result's step count is what Restore runs next
        self.w.photo.on_restored(jobs.RestoredPhoto(run.result, run.seconds, run.steps))
        self.w.stack.setCurrentWidget(self.w.photo_page)
        self.w._busy_changed(self.w.runner.busy)  # Save is now possible
        self.w.progress_label.setText(f"Kept {steps_label(run.steps)} as the result: Save writes it.")

    def export_grid(self) -> None:
        from engine.compare import render_grid

        src = self.w.opened.photo.path
        # beside the photo, named as `facebridge compare` names it
        start = src.with_name(f"{src.stem}_compare.png") if src is not None else Path.home() / "facebridge_grid.png"
        path, _ = QFileDialog.getSaveFileName(self.w, "Export grid", str(start), "PNG (*.png);;JPEG (*.jpg)")
        if path:
            self.w.saving.write(path, Photo(render_grid(self.w.opened.photo, self.w.runs)))
