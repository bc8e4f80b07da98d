"""Before/after viewer: a draggable split handle over the image, synchronized zoom (wheel, fit, 100%,
zoom to a region) and pan, a flip key, and a side-by-side mode. Only the visible part is drawn, so a
24-megapixel scan stays smooth."""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

MODES = ("split", "side", "before", "after")


class CompareView(QWidget):
    splitMoved = Signal(float)
    zoomChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.before: Optional[QPixmap] = None
        self.after: Optional[QPixmap] = None
        self.split = 0.5  # fraction of the widget width
        self.mode = "split"
        self.flipped = False  # flip key: show the other image while toggled
        self.scale = 1.0
        self.offset = QPointF(0, 0)  # widget position of the image's top-left corner
        self._drag: Optional[str] = None
        self._auto_fit = True  # refit on resize until the user zooms or pans
        self._last = QPointF()
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)

    # -- content ---------------------------------------------------------------------------------
    def set_images(self, before: Optional[QPixmap], after: Optional[QPixmap] = None, *, keep_view: bool = False) -> None:
        self.before, self.after = before, after
        if not keep_view:
            self.fit()
        self.update()

    def set_after(self, after: Optional[QPixmap]) -> None:
        self.after = after
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown compare mode {mode!r}")
        if "side" not in (self.mode, mode) or self.mode == mode:
            self.mode = mode
            self.update()
            return
        # the pane width changes: a fitted view refits; a zoomed one keeps its zoom and the point it was centred on
        old_centre = QPointF(self._pane_width() / 2, self.height() / 2)
        at = (old_centre - self.offset) / self.scale
        self.mode = mode
        if self._auto_fit or self.before is None:
            self.fit()
        else:
            self.offset = QPointF(self._pane_width() / 2, self.height() / 2) - at * self.scale
        self.update()

    def set_split(self, value: float) -> None:
        self.split = min(1.0, max(0.0, value))
        self.splitMoved.emit(self.split)
        self.update()

    def toggle_flip(self) -> None:
        self.flipped = not self.flipped
        self.update()

    # -- view ------------------------------------------------------------------------------------
    def _pane_width(self) -> float:
        return self.width() / 2 if self.mode == "side" else self.width()

    def fit(self) -> None:
        if self.before is None:
            return
        w, h = self.before.width(), self.before.height()
        self.scale = min(self._pane_width() / w, self.height() / h) if w and h else 1.0
        self.offset = QPointF((self._pane_width() - w * self.scale) / 2, (self.height() - h * self.scale) / 2)
        self._auto_fit = True
        self.zoomChanged.emit(self.scale)
        self.update()

    def actual_size(self) -> None:
        self.zoom_at(1.0 / self.scale, QPointF(self._pane_width() / 2, self.height() / 2))

    def zoom_at(self, factor: float, anchor: QPointF) -> None:
        self._auto_fit = False
        new = min(32.0, max(0.02, self.scale * factor))
        factor = new / self.scale
        self.offset = anchor - (anchor - self.offset) * factor
        self.scale = new
        self.zoomChanged.emit(self.scale)
        self.update()

    def zoom_to(self, rect: QRectF, margin: float = 0.15) -> None:
        """Fit an image-space rectangle (e.g. a face box) into the view."""
        self._auto_fit = False
        rect = rect.adjusted(-rect.width() * margin, -rect.height() * margin, rect.width() * margin,
                             rect.height() * margin)
        self.scale = min(self._pane_width() / max(1.0, rect.width()), self.height() / max(1.0, rect.height()))
        self.offset = QPointF(self._pane_width() / 2 - rect.center().x() * self.scale,
                              self.height() / 2 - rect.center().y() * self.scale)
        self.zoomChanged.emit(self.scale)
        self.update()

    # -- painting --------------------------------------------------------------------------------
    def _draw(self, p: QPainter, pix: QPixmap, clip: QRectF, origin_x: float = 0.0) -> None:
        """Draw only the part of `pix` visible inside `clip` (widget coords)."""
        target = QRectF(self.offset.x() + origin_x, self.offset.y(), pix.width() * self.scale, pix.height() * self.scale)
        visible = target.intersected(clip)
        if visible.isEmpty():
            return
        src = QRectF((visible.x() - target.x()) / self.scale, (visible.y() - target.y()) / self.scale,
                     visible.width() / self.scale, visible.height() / self.scale)
        p.drawPixmap(visible, pix, src)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt naming
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().window())
        if self.before is None:
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < 2.0)
        after = self.after or self.before
        full = QRectF(self.rect())
        if self.mode == "side":
            half = self.width() / 2
            left, right = (after, self.before) if self.flipped else (self.before, after)
            self._draw(p, left, QRectF(0, 0, half, self.height()))
            self._draw(p, right, QRectF(half, 0, half, self.height()), origin_x=half)
            p.setPen(QPen(QColor(255, 255, 255, 160), 1))
            p.drawLine(QPointF(half, 0), QPointF(half, self.height()))
            if self.after is not None:
                self._label(p, "after" if self.flipped else "before", 8)
                self._label(p, "before" if self.flipped else "after", half + 8)
        elif self.mode in ("before", "after") or self.after is None:
            show_before = (self.mode == "before") != self.flipped if self.after is not None else True
            self._draw(p, self.before if show_before else after, full)
        else:
            x = self.split * self.width()
            first, second = (after, self.before) if self.flipped else (self.before, after)
            self._draw(p, first, QRectF(0, 0, x, self.height()))
            self._draw(p, second, QRectF(x, 0, self.width() - x, self.height()))
            p.setPen(QPen(QColor(255, 255, 255, 220), 2))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            p.setBrush(QColor(255, 255, 255, 220))
            p.drawEllipse(QPointF(x, self.height() / 2), 7, 7)
            self._label(p, "after" if self.flipped else "before", 8)
            self._label(p, "before" if self.flipped else "after", self.width() - 8, right=True)
        p.end()

    def _label(self, p: QPainter, text: str, x: float, right: bool = False) -> None:
        """A small caption on a dark tag, legible over light and dark photos alike."""
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        rect = QRectF(x - w if right else x, 8, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 160))
        p.drawRoundedRect(rect, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    # -- interaction -----------------------------------------------------------------------------
    def _near_handle(self, pos: QPointF) -> bool:
        return self.mode == "split" and self.after is not None and abs(pos.x() - self.split * self.width()) < 10

    def mousePressEvent(self, e) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton:
            self._drag = "split" if self._near_handle(e.position()) else "pan"
            self._last = e.position()

    def mouseMoveEvent(self, e) -> None:  # noqa: N802
        pos = e.position()
        if self._drag == "split":
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            self.offset += pos - self._last
            self._last = pos
            self._auto_fit = False
            self.update()
        else:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_handle(pos) else Qt.CursorShape.OpenHandCursor)

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802
        self._drag = None

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802
        self.fit()

    def wheelEvent(self, e) -> None:  # noqa: N802
        steps = e.angleDelta().y() / 120.0
        anchor = e.position()
        if self.mode == "side" and anchor.x() > self.width() / 2:
            anchor = QPointF(anchor.x() - self.width() / 2, anchor.y())
        self.zoom_at(1.25 ** steps, anchor)

    def keyPressEvent(self, e) -> None:  # noqa: N802
        key = e.key()
        if key == Qt.Key.Key_B:
            self.toggle_flip()
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.actual_size()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_at(1.25, QPointF(self._pane_width() / 2, self.height() / 2))
        elif key == Qt.Key.Key_Minus:
            self.zoom_at(0.8, QPointF(self._pane_width() / 2, self.height() / 2))
        else:
            super().keyPressEvent(e)

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        if self.before is not None and self._auto_fit:
            self.fit()
