"""The batch engine shared by `facebridge restore` and the GUI's batch view.

Files are decoded on a worker thread ahead of the model and encoded on another behind it; the report
(JSON) is rewritten atomically after every file, so an interrupted run can be resumed with
skip_existing and loses nothing. A failing file never stops the batch.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from .errors import Cancelled, EngineError
from .io.images import READ_SUFFIXES, is_image_path, output_format, read_image, write_image
from .pipeline import PhotoRestorer, Prepared, RestoreOptions
from .progress import CancelToken, PauseToken, Progress, ProgressCallback

STATUSES = ("waiting", "running", "done", "no_face", "skipped", "failed", "cancelled")


@dataclass(frozen=True)
class OutputOptions:
    output_dir: Optional[Path] = None  # None: a `restored/` folder beside each input
    suffix: str = "_restored"  # one naming convention for the CLI, the batch and the app's Save
    ext: str = "auto"  # auto = the input's format when writable, else PNG
    quality: int = 95
    skip_existing: bool = False
    # an output that exists already is never replaced silently: skipped (skip_existing), replaced (overwrite), or
    # the file fails with a reason that names both flags
    overwrite: bool = False


@dataclass(frozen=True)
class BatchItem:
    input: Path
    root: Path  # the folder the user gave (outputs mirror the layout below it)


@dataclass
class FileReport:
    input: str
    status: str = "waiting"
    output: Optional[str] = None
    faces: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    error: Optional[str] = None
    warnings: list = field(default_factory=list)  # e.g. pages of a multi-page TIFF that were not restored
    identity: Optional[list] = None  # with --identity: per face {"distance", "verdict"} (engine/identity.py)
    provenance: Optional[dict] = None  # what the output's XMP records (engine/provenance.py); None with the opt-out


def collect_inputs(paths: Iterable[Path], recursive: bool = False) -> tuple[list[BatchItem], list[FileReport]]:
    """Expand files and folders into batch items; paths that do not exist become failed reports."""
    items, missing = [], []
    for p in map(Path, paths):
        if p.is_dir():
            pattern = p.rglob("*") if recursive else p.glob("*")
            for f in sorted(pattern):
                if f.is_file() and is_image_path(f) and "restored" not in f.relative_to(p).parts[:-1]:
                    items.append(BatchItem(f, p))
        elif p.is_file():
            items.append(BatchItem(p, p.parent))
        else:
            missing.append(FileReport(str(p), "failed", error="file not found"))
    return items, missing


def output_path(item: BatchItem, opts: OutputOptions) -> Path:
    ext = output_format(item.input, opts.ext)
    name = f"{item.input.stem}{opts.suffix}.{ext}"
    if opts.output_dir is None:
        return item.input.parent / "restored" / name
    return Path(opts.output_dir) / item.input.parent.relative_to(item.root) / name


@dataclass
class BatchSummary:
    files: list[FileReport]
    seconds: float
    faces: int
    cancelled: bool = False
    # the rows of the report this run replaces (input -> row): a file skipped now keeps what the earlier run
    # recorded about it (a resumed or skip-only run must not erase the real report's timings)
    earlier: dict = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.cancelled and all(f.status in ("done", "no_face", "skipped") for f in self.files)

    def to_dict(self) -> dict:
        # "cancelled" counts the files Cancel stopped; whether the run was cancelled is "run_cancelled" (one key for
        # both hid the count behind the flag)
        return {"summary": {s: self.count(s) for s in STATUSES if self.count(s)} | {
                    "faces": self.faces, "seconds": round(self.seconds, 2), "run_cancelled": self.cancelled},
                "files": [self._row(f) for f in self.files]}

    def _row(self, f: FileReport) -> dict:
        row = asdict(f)
        before = self.earlier.get(f.input)
        if f.status == "skipped" and before is not None:
            row["earlier"] = before.get("earlier", before)  # what the run that made the output recorded
        return row


def earlier_rows(path: Optional[Path]) -> dict:
    """input -> row of an existing report at `path` (empty when there is none or it cannot be read)."""
    if path is None or not Path(path).is_file():
        return {}
    try:
        files = json.loads(Path(path).read_text()).get("files", [])
        return {row["input"]: row for row in files if isinstance(row, dict) and "input" in row}
    except (OSError, ValueError, AttributeError):
        return {}


def write_report(summary: BatchSummary, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(summary.to_dict(), indent=2))
    os.replace(tmp, path)


class BatchRunner:
    """Restores many photos with one loaded model. Faces from consecutive photos are gathered into
    one network batch (up to `face_batch` faces), which keeps a GPU busy on photos with few faces."""

    def __init__(self, photo_restorer: PhotoRestorer, restore: RestoreOptions, output: OutputOptions,
                 face_batch: int = 16, max_group: Optional[int] = None, detect_ahead: Optional[bool] = None):
        self.pr, self.restore, self.output = photo_restorer, restore, output
        # None: one photo at a time on a CPU (the network is compute-bound there, grouping gains nothing and
        # makes a row of photos wait together: no output, no progress, for the first seconds), 8 elsewhere
        on_cpu = photo_restorer.restorer.device.type == "cpu"
        self.face_batch, self.max_group = face_batch, (1 if on_cpu else 8) if max_group is None else max_group
        # None: detect on the decode thread exactly when the network is not on the CPU (see _load)
        self.detect_ahead = photo_restorer.restorer.device.type != "cpu" if detect_ahead is None else detect_ahead

    def run(self, items: list[BatchItem], *, callback: Optional[ProgressCallback] = None,
            cancel: Optional[CancelToken] = None, report_path: Optional[Path] = None,
            on_file=None, pre_failed: Iterable[FileReport] = (), pause: Optional[PauseToken] = None) -> BatchSummary:
        """Restore every item. `on_file(index, FileReport)` is called whenever a file's status changes."""
        reports = [FileReport(str(i.input)) for i in items]
        summary = BatchSummary(list(pre_failed) + reports, 0.0, 0, earlier=earlier_rows(report_path))
        start = time.perf_counter()
        inputs = {str(i.input.resolve()) for i in items}
        state = _RunState(reports, summary, on_file, callback, report_path, start, len(items))
        todo = []
        for k, item in enumerate(items):
            target = output_path(item, self.output)
            reports[k].output = str(target)
            if self.output.skip_existing and target.exists():
                reports[k].status = "skipped"
                state.notify(k)
            elif target.exists() and not self.output.overwrite:
                reports[k].status, reports[k].output = "failed", None
                reports[k].error = (f"{item.input}: its output {target} exists already and was not replaced "
                                    "(skip or replace existing outputs: --skip-existing or --overwrite)")
                state.notify(k)
            else:
                todo.append((k, item, target))
        with ThreadPoolExecutor(1, thread_name_prefix="decode") as dec, \
             ThreadPoolExecutor(1, thread_name_prefix="encode") as enc:
            # decoding (and, with the network on a GPU, detection + alignment) runs ahead on its own thread
            ahead = {k: dec.submit(self._load, item) for k, item, _ in todo[:2]}
            pending: list[Future] = []
            group: list = []
            for j, (k, item, target) in enumerate(todo):
                try:
                    if pause is not None:
                        pause.wait(cancel)
                except Cancelled:
                    break
                if cancel is not None and cancel.is_set:
                    break
                if j + 2 < len(todo):
                    nk, nitem, _ = todo[j + 2]
                    ahead[nk] = dec.submit(self._load, nitem)
                reports[k].status = "running"
                state.notify(k)
                loaded, t0, read_s = ahead.pop(k).result()
                try:
                    if isinstance(loaded, BaseException):
                        raise loaded
                    prep = loaded if isinstance(loaded, Prepared) else self.pr.prepare(loaded, self.restore)
                    prep.timings["read"] = read_s
                    group.append((k, target, prep, t0))
                except (EngineError, OSError, ValueError, MemoryError) as exc:
                    state.fail(k, exc, t0)
                last = j == len(todo) - 1
                if group and (last or len(group) >= self.max_group
                              or sum(len(g[2].crops) for g in group) >= self.face_batch):
                    if not self._flush(group, state, enc, pending, inputs, cancel):
                        break
                    group = []
            for f in pending:
                f.result()
        if cancel is not None and cancel.is_set:
            summary.cancelled = True
            for r in reports:  # everything not finished when Cancel came: the report says so, row by row
                if r.status in ("running", "waiting"):
                    r.status, r.output = "cancelled", None
        summary.seconds = time.perf_counter() - start
        if report_path:
            write_report(summary, report_path)
        return summary

    def _load(self, item: BatchItem):
        """(Photo, Prepared or the exception that stopped it; start time; decode seconds), on the decode thread.

        Detection joins decoding here only when the network runs elsewhere than the CPU: measured on a
        2-core CPU, detecting beside the network made each photo 48 % slower (both fight for the cores),
        while on a GPU it hides the detector's CPU time behind the network.
        """
        t0 = time.perf_counter()
        read_s = 0.0
        try:
            photo = read_image(item.input)
            read_s = time.perf_counter() - t0
            if not self.detect_ahead:
                return photo, t0, read_s
            return self.pr.prepare(photo, self.restore), t0, read_s
        except (EngineError, OSError, ValueError, MemoryError) as exc:
            return exc, t0, read_s

    def _flush(self, group, state: "_RunState", enc, pending, inputs, cancel) -> bool:
        """Restore the faces of a group of prepared photos in one call, then paste and write each."""
        crops = [c for g in group for c in g[2].crops]
        seeds = [s for g in group for s in g[2].seeds]
        t = time.perf_counter()
        try:
            restored = self.pr.restore_crops(crops, seeds, self.restore, cancel=cancel)
        except Cancelled:
            for k, *_ in group:
                state.reports[k].status = "cancelled"
                state.notify(k)
            state.summary.cancelled = True
            return False
        except (EngineError, MemoryError) as exc:
            for k, _, _, t0 in group:
                state.fail(k, exc, t0)
            return True
        share = (time.perf_counter() - t) / max(1, len(crops))
        offset = 0
        for k, target, prep, t0 in group:
            n = len(prep.crops)
            prep.timings["restore"] = share * n
            rep = state.reports[k]
            try:
                result = self.pr.finish(prep, restored[offset:offset + n], self.restore, cancel=cancel)
            except Cancelled:  # between Real-ESRGAN tiles: this photo is not written, the rest not started
                for kk, *_ in group[group.index((k, target, prep, t0)):]:
                    state.reports[kk].status = "cancelled"
                    state.notify(kk)
                state.summary.cancelled = True
                return False
            except (EngineError, ValueError, MemoryError) as exc:
                state.fail(k, exc, t0)
                offset += n
                continue
            offset += n
            rep.faces = len(result.faces)
            if self.restore.identity:
                rep.identity = [f.identity.to_dict() if f.identity else None for f in result.faces]
            if result.provenance is not None:
                rep.provenance = result.provenance.to_dict()
            state.summary.faces += rep.faces
            rep.timings = {key: round(v, 4) for key, v in result.timings.items()}
            pending.append(enc.submit(self._write, rep, result.photo, target, inputs, k, state, t0))
        return True

    def _write(self, rep: FileReport, photo, target: Path, inputs: set, k: int, state: "_RunState", t0: float) -> None:
        tw = time.perf_counter()
        try:
            if str(target.resolve()) in inputs:
                raise EngineError(f"{rep.input}: its output {target} would overwrite an input image; choose another "
                                  "--suffix or output folder")
            write_image(target, photo, fmt=self.output.ext, quality=self.output.quality, protect=(photo.path,))
            rep.status = "done" if rep.faces else "no_face"
            rep.warnings = list(photo.warnings)
        except (EngineError, OSError, ValueError) as exc:
            rep.status, rep.error, rep.output = "failed", str(exc), None
        rep.timings["write"] = round(time.perf_counter() - tw, 4)
        # this file's own work (read, detect, its share of the batched network call, paste, write), not the
        # time since it was queued: files restored together in one network batch wait for each other
        rep.seconds = round(sum(rep.timings.values()), 3)
        state.notify(k)
        state.file_finished(Path(rep.input).name, rep.status)


@dataclass
class _RunState:
    """Book-keeping shared by the loop and the encode thread: notifications, progress, the report."""

    reports: list
    summary: BatchSummary
    on_file: object
    callback: object
    report_path: Optional[Path]
    start: float
    total: int
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, k: int) -> None:
        if self.on_file:
            self.on_file(k, self.reports[k])

    def fail(self, k: int, exc: BaseException, t0: float) -> None:
        rep = self.reports[k]
        rep.status, rep.error = "failed", (f"out of memory: {exc}" if isinstance(exc, MemoryError) else str(exc))
        rep.output = None  # nothing was written
        rep.seconds = round(time.perf_counter() - t0, 3)
        self.notify(k)
        self.file_finished(Path(rep.input).name, "failed")

    def file_finished(self, name: str, status: str) -> None:
        with self.lock:  # called from the loop and from the encode thread
            self.finished += 1
            if self.callback is not None:
                self.callback(Progress("batch", self.finished, self.total, f"{name}: {status}"))
            if self.report_path:  # after every file, so an interrupted run keeps a current report
                self.summary.seconds = time.perf_counter() - self.start
                write_report(self.summary, self.report_path)


__all__ = ["BatchRunner", "OutputOptions", "collect_inputs", "output_path", "write_report", "READ_SUFFIXES"]
