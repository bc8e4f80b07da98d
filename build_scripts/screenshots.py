"""Drive the real app through its main states and save screen captures to docs/screenshots/.

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python build_scripts/screenshots.py [--model M]

Captures come from the X screen (QScreen.grabWindow), i.e. what a user would see.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gui  # noqa: E402,F401  (sanitises the Qt environment before Qt loads)
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from gui.app import create_app  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.theme import apply_theme  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_idle(app, w, timeout=600) -> None:
    end = time.monotonic() + timeout
    while w.runner.busy and time.monotonic() < end:
        pump(app, 0.05)
    pump(app, 0.3)


def shot(app, w, name: str) -> None:
    pump(app, 0.3)
    screen = app.primaryScreen()
    geo = w.frameGeometry()
    pix = screen.grabWindow(0, geo.x(), geo.y(), geo.width(), geo.height())
    pix.save(str(OUT / f"{name}.png"))
    print("saved", name)


def compare_shot(app, w, counts: list[int], name: str) -> None:
    """Compare these step counts, select the last one in the grid and capture it."""
    w.run_compare(counts)
    wait_idle(app, w)
    w.grid._choose(len(w.runs) - 1)
    shot(app, w, name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--photo", default=str(ROOT / "resources" / "samples" / "astronaut_low_quality.jpg"))
    parser.add_argument("--upscale-photo", default=str(ROOT.parent / "shared" / "data" / "real-degraded-whole" /
                                                       "codeformer_01.jpg"))
    parser.add_argument("--skip-upscale", action="store_true",
                        help="leave out 08-10 (the compact background network on real photos: a minute or two on a CPU)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    app = create_app()
    apply_theme(app, "dark")
    tmp = Path(tempfile.mkdtemp())
    settings = QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)
    settings.setValue("ui/detector_offered", True)  # keep the first-run offer out of the pictures
    w = MainWindow(model=args.model, settings=settings)
    w.resize(1400, 860)
    w.move(20, 20)
    w.show()
    pump(app, 1.0)
    shot(app, w, "01-welcome")

    w.open_path(args.photo)
    wait_idle(app, w)
    shot(app, w, "02-photo-loaded")

    # restoring, with the live preview: capture while the job runs
    w.controls.steps.setValue(100)
    w.restore()
    while w.runner.busy and w.progress.value() < max(1, w.progress.maximum() // 3):
        pump(app, 0.02)
    shot(app, w, "03-restoring")
    wait_idle(app, w)
    w.controls.steps.setValue(w.cache.session.restorer.spec.defaults.steps if w.cache.session else 4)
    w.restore()
    wait_idle(app, w)
    w.view.set_split(0.5)
    w.zoom_to_face(0)  # what a user does first: look at the face
    shot(app, w, "04-before-after")

    from engine.evaluation.run import parse_steps

    # the model's suggestion, then what far more steps than it was measured for give
    compare_shot(app, w, parse_steps(w.cache.session.restorer.spec.defaults.compare or "1,4,16"), "05-step-grid")
    compare_shot(app, w, [1, 4, 16, 100], "05b-step-grid-100")

    album = tmp / "album"
    album.mkdir()
    for i in range(6):
        shutil.copy(args.photo, album / f"scan_{i:02d}{Path(args.photo).suffix}")
    (album / "scan_03_damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    w.open_folder(str(album))
    w.batch.output.setText(str(tmp / "restored"))
    w.start_batch()
    while w.runner.busy and w.batch.progress.value() < 3:
        pump(app, 0.02)
    shot(app, w, "06-batch")
    wait_idle(app, w)

    # the whole photo enlarged x2 with the default background network (Real-ESRGAN compact: seconds on a CPU)
    small = Path(args.upscale_photo)
    if small.is_file() and w.controls.background.findData("compact") >= 0 and not args.skip_upscale:
        w.stack.setCurrentWidget(w.photo_page)
        w.open_path(str(small))
        wait_idle(app, w)
        w.controls.upscale.setCurrentIndex(w.controls.upscale.findData(2))
        pump(app, 0.2)
        shot(app, w, "08-upscale-estimate")
        w.restore()
        wait_idle(app, w, timeout=3600)
        w.view.set_split(0.5)
        w.zoom_to_face(0)
        shot(app, w, "09-upscale-x2")

        # the batch page with the same x2 setting, on the three smallest shared real photos
        real = tmp / "real"
        real.mkdir()
        for name in ("codeformer_01.jpg", "codeformer_05.jpg", "bopb_scratch_b.png"):
            if (small.parent / name).is_file():
                shutil.copy(small.parent / name, real / name)
        w.open_folder(str(real))
        w.batch.output.setText(str(tmp / "real-x2"))
        w.start_batch()
        wait_idle(app, w, timeout=3600)
        shot(app, w, "10-batch-upscale-x2")
        w.stack.setCurrentWidget(w.photo_page)
        w.controls.upscale.setCurrentIndex(0)

    # an error message: a corrupt file opened interactively
    def capture_box():
        for top in QApplication.topLevelWidgets():
            if isinstance(top, QMessageBox) and top.isVisible():
                shot(app, w, "07-error")
                top.done(0)
                return
        QTimer.singleShot(100, capture_box)

    QTimer.singleShot(300, capture_box)
    w.open_path(str(album / "scan_03_damaged.jpg"))
    wait_idle(app, w)
    pump(app, 1.0)
    w.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
