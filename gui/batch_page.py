"""The batch page's controller: start a folder job with the photo page's settings and follow it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.batch import OutputOptions
from engine.progress import Progress

from . import jobs


class BatchController:
    def __init__(self, window):
        self.w = window
        self.report = None  # where the last batch's report was written

    def start_batch(self) -> None:
        folder = self.w.batch.input.text().strip()
        if not folder or not Path(folder).is_dir():
            self.w.show_message("Choose an existing input folder first.")
            return
        if self.w.runner.busy:
            self.w.show_message("Please wait for the running job to finish, or cancel it.")
            return
        out = self.w.batch.output.text().strip()
        output = OutputOptions(Path(out) if out else None, self.w.batch.suffix.text(), self.w.batch.ext.currentData(),
                               self.w.batch.quality.value(), self.w.batch.skip_existing.isChecked(),
                               self.w.batch.overwrite.isChecked())
        self.w.pause.resume()
        # the report goes beside the outputs: the output folder, or restored/ in the input folder
        report = (Path(out) if out else Path(folder) / "restored") / "facebridge-report.json"
        self.report = report
        self.w.batch.set_running(True)
        # no identity meter in batches: it would add about as much time per face as the network (BENCHMARKS.md)
        options = replace(self.w.photo.options(), identity=False)
        self.w.runner.start(jobs.batch_job(self.w.cache, self.w.key(), [Path(folder)], self.w.batch.recursive.isChecked(),
                                         options, output, self.w.pause, report_path=report),
                          on_progress=self.on_batch_progress, on_success=self.on_batch_done, on_error=self.w.on_error,
                          on_cancel=lambda: self.w.batch.status.setText("Batch cancelled"))

    def on_batch_progress(self, p: Progress) -> None:
        if p.stage == "queue":
            self.w.batch.set_queue(p.message.splitlines() if p.message else [])
        elif p.stage == "file" and p.detail is not None:
            self.w.batch.update_file(p.step, p.detail)

    def on_batch_done(self, summary) -> None:
        self.w.batch.show_summary(summary, self.report)
