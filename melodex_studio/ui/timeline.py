"""The arrangement timeline (objectName ``timeline``): track headers on the left, the painted canvas on the right.

It owns the selection (a section, a track, or both: a clip) and turns gestures into session calls: rename a
section (double-click or F2), resize it (drag its right edge; whole bars), move it (drag it), mute and solo a track. Every call is
one undoable change of the session; the timeline redraws from the session's change notifications.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QWidget

from ..engine.session import ProjectSession
from ..errors import MelodexError
from .edits import move_section, resize_section
from .timeline_canvas import RULER_H, SECTION_H, ArrangementCanvas
from .track_header import TrackHeaderPanel


class Timeline(QWidget):
    """See module docstring. ``selectionChanged`` fires after any change of the selected section or track;
    ``contextMenuRequested(global_pos)`` after a right click (the selection is already updated)."""

    selectionChanged = Signal()
    contextMenuRequested = Signal(QPoint)

    def __init__(self, session: ProjectSession, parent: QWidget | None = None,
                 on_error: Callable[[str, Exception], None] | None = None):
        super().__init__(parent)
        self.setObjectName("timeline")
        self.session = session
        self.on_error = on_error or (lambda title, e: None)
        self.canvas = ArrangementCanvas(session.song, self)
        self.headers = TrackHeaderPanel(self, self._toggle, self._press_header)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.headers)
        row.addWidget(self.canvas, 1)
        self._editor: QLineEdit | None = None
        c = self.canvas
        c.sectionPressed.connect(lambda i: self._select(section=i, track=None if i >= 0 else -1))
        c.clipPressed.connect(lambda s, t: self._select(section=s, track=t))
        c.trackPressed.connect(lambda t: self._select(track=t))
        c.renameRequested.connect(self.start_rename)
        c.contextRequested.connect(self.contextMenuRequested)
        c.resizeFinished.connect(self.resize_section)
        c.moveFinished.connect(self.move_section)
        c.keyNavigate.connect(self._navigate)
        c.verticalScrollBar().valueChanged.connect(lambda v: self.headers.place(c.lane_h, v))
        self.refresh()

    # --- selection -------------------------------------------------------------------------------
    @property
    def song(self):
        return self.session.song

    def selected_section_index(self) -> int:
        """0-based index of the selected section, -1 when none."""
        ids = [s.id for s in self.song.sections]
        return ids.index(self.canvas.selected_section) if self.canvas.selected_section in ids else -1

    def selected_track_index(self) -> int:
        ids = [t.id for t in self.song.tracks]
        return ids.index(self.canvas.selected_track) if self.canvas.selected_track in ids else -1

    def select_section(self, index: int) -> None:
        """Select section ``index`` (as a click on its block does; -1 clears) and scroll it into view."""
        self._select(section=index)
        if 0 <= index < len(self.song.sections):
            a, b = self.song.section_ticks(self.song.sections[index])
            self.canvas.ensure_visible(a, b)

    def select_track(self, index: int) -> None:
        """Select track ``index`` (as a click on its header does; -1 clears)."""
        self._select(track=index)

    def _select(self, section: int | None = None, track: int | None = None) -> None:
        if section is not None:
            secs = self.song.sections
            self.canvas.selected_section = secs[section].id if 0 <= section < len(secs) else None
        if track is not None:
            tracks = self.song.tracks
            self.canvas.selected_track = tracks[track].id if 0 <= track < len(tracks) else None
        self._show_headers()
        self.canvas.viewport().update()
        self.selectionChanged.emit()

    def _press_header(self, track_id: str) -> None:
        ids = [t.id for t in self.song.tracks]
        if track_id in ids:
            self.select_track(ids.index(track_id))

    def _navigate(self, key: str) -> None:
        if key in ("left", "right"):
            n = len(self.song.sections)
            if n:
                i = self.selected_section_index()
                self.select_section(max(0, min(n - 1, (i if i >= 0 else -1) + (1 if key == "right" else -1))))
        elif key in ("up", "down"):
            n = len(self.song.tracks)
            if n:
                i = self.selected_track_index()
                self.select_track(max(0, min(n - 1, (i if i >= 0 else -1) + (1 if key == "down" else -1))))
        elif key == "rename" and self.selected_section_index() >= 0:
            self.start_rename(self.selected_section_index())

    # --- edits -----------------------------------------------------------------------------------
    def _call(self, title: str, fn: Callable[[], object]) -> bool:
        try:
            fn()
            return True
        except MelodexError as e:
            self.on_error(title, e)
            return False

    def _toggle(self, track_id: str, what: str, on: bool) -> None:
        if not self._call(f"Cannot change the track", lambda: self.session.update_track(track_id, **{what: on})):
            self.refresh()

    def set_mute(self, index: int, mute: bool) -> None:
        """Mute or unmute track ``index`` (one undoable change), as its M button does."""
        self._toggle(self.song.tracks[index].id, "mute", mute)

    def set_solo(self, index: int, solo: bool) -> None:
        self._toggle(self.song.tracks[index].id, "solo", solo)

    def rename_section(self, index: int, label: str) -> None:
        """Rename section ``index`` to ``label`` (stripped; empty or unchanged labels are ignored)."""
        label = label.strip()
        if 0 <= index < len(self.song.sections) and label and label != self.song.sections[index].label:
            self._call("Cannot rename the section", lambda: self.session.rename_section(self.song.sections[index].id,
                                                                                         label))

    def resize_section(self, index: int, bars: int) -> None:
        """Make section ``index`` ``bars`` bars long; later sections move (one undoable change)."""
        if 0 <= index < len(self.song.sections):
            self._call("Cannot resize the section", lambda: resize_section(self.session, index, bars))

    def move_section(self, index: int, to_index: int) -> None:
        """Move section ``index`` before section ``to_index`` (``len(sections)``: to the end), one undoable change;
        the moved section stays selected."""
        if 0 <= index < len(self.song.sections):
            sid = self.song.sections[index].id
            if self._call("Cannot move the section", lambda: move_section(self.session, index, to_index)):
                ids = [s.id for s in self.song.sections]
                self.select_section(ids.index(sid) if sid in ids else -1)

    def start_rename(self, index: int) -> None:
        """An editor over the section's block; Enter renames, Escape or leaving cancels."""
        if not (0 <= index < len(self.song.sections)):
            return
        self.select_section(index)
        r = self.canvas.section_rect(index).toRect()
        editor = QLineEdit(self.canvas.viewport())
        editor.setObjectName("sectionRenameEdit")
        editor.setText(self.song.sections[index].label)
        editor.selectAll()
        editor.setGeometry(max(0, r.x()), RULER_H + 2, max(120, min(r.width(), 260)), SECTION_H - 4)
        sid = self.song.sections[index].id
        done = [False]

        def finish(accept: bool) -> None:
            if done[0]:
                return
            done[0] = True
            text = editor.text()
            editor.deleteLater()
            self._editor = None
            ids = [s.id for s in self.song.sections]
            if accept and sid in ids:
                self.rename_section(ids.index(sid), text)
            self.canvas.setFocus()

        editor.returnPressed.connect(lambda: finish(True))
        editor.editingFinished.connect(lambda: finish(False))
        editor.installEventFilter(self)
        self._editor = editor
        editor.show()
        editor.setFocus()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt): Escape cancels the rename editor
        from PySide6.QtCore import QEvent

        if obj is self._editor and event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self._editor.setText(self.song.sections[self.selected_section_index()].label
                                 if self.selected_section_index() >= 0 else "")
            self._editor.clearFocus()
            return True
        return super().eventFilter(obj, event)

    # --- view ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw from the session's song (after any change); a selection whose section or track is gone clears."""
        c = self.canvas
        if c.song is not self.song:
            c.set_song(self.song)
        if c.selected_section not in {s.id for s in self.song.sections}:
            c.selected_section = None
        if c.selected_track not in {t.id for t in self.song.tracks}:
            c.selected_track = None
        c.invalidate()
        self._show_headers()

    def _show_headers(self) -> None:
        c = self.canvas
        self.headers.show_tracks(self.song.tracks, c.selected_track, c.lane_h, c.verticalScrollBar().value())

    def set_busy(self, section_id: str | None = None, track_id: str | None = None, text: str = "",
                 active: bool = True) -> None:
        """Show (or with ``active=False`` hide) a job's progress over the section/track it works on."""
        self.canvas.set_busy({"section": section_id, "track": track_id, "text": text} if active else {})

    def zoom_in(self) -> None:
        self.canvas.zoom(1.25)

    def zoom_out(self) -> None:
        self.canvas.zoom(0.8)

    def zoom_to_fit(self) -> None:
        """Fit the whole song into the visible width, and the tracks into the height (lanes 56 to 120 px)."""
        end = max(self.song.end_tick, self.song.bar_to_tick(4))
        width = max(100, self.canvas.viewport().width() - 40)
        c = self.canvas
        c.scale.set_zoom(width * self.song.ppq / end)
        if self.song.tracks:
            from .timeline_canvas import TOP_H

            c.lane_h = max(56, min(120, (c.viewport().height() - TOP_H - 4) // len(self.song.tracks)))
            self._show_headers()
        c.update_ranges()
        c.horizontalScrollBar().setValue(0)
        c.viewport().update()

    def set_lane_height(self, px: int) -> None:
        self.canvas.set_lane_height(px)
        self._show_headers()
