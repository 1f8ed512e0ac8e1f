"""The arrangement timeline (objectName ``timeline``): track headers on the left, the painted canvas on the right.

It owns the selection (a section, a track, or both: a clip) and turns gestures into session calls: rename a
section (double-click or F2), resize it (drag its right edge; whole bars), move it (drag it), mute and solo a track. Every call is
one undoable change of the session; the timeline redraws from the session's change notifications.

Multi-selection: Ctrl+click adds or removes a section (or a clip), Shift+click selects the range from the last
plain click (sections, or the rectangle of clips), Shift+arrows extend it. The primary selection (the last one
clicked) is what the single-selection API returns; ``selected_section_indices()`` and ``selected_clip_indices()``
give all. Delete removes the selected sections (or clears the selected clips' notes), one undoable change.
Dragging a clip, or a section by its handle, out of the window hands another application a MIDI file (Alt: a
WAV of the clip's rendered audio), written to the cache folder by ``engine.dragout``.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QWidget

from ..engine.session import ProjectSession
from ..errors import MelodexError
from .edits import clear_clips, delete_sections, move_section, resize_section
from .timeline_canvas import RULER_H, SECTION_H, ArrangementCanvas
from .track_header import SPARE_HEADERS, TrackHeaderPanel


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
        self.headers.keep_spares(SPARE_HEADERS, after_ms=1000)  # after the window is shown
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.headers)
        row.addWidget(self.canvas, 1)
        self._editor: QLineEdit | None = None
        c = self.canvas
        self._anchor: tuple[int, int] = (-1, -1)  # (section, track) of the last plain click: Shift ranges start here
        c.sectionPressed.connect(lambda i: self._click(i, None))
        c.clipPressed.connect(self._click)
        c.trackPressed.connect(lambda t: self._select(track=t))
        c.dragOutRequested.connect(self.drag_out)
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

    def selected_section_indices(self) -> list[int]:
        """Indexes of every selected section (the primary one included), in song order."""
        ids = self.canvas.selected_sections | ({self.canvas.selected_section} if self.canvas.selected_section else set())
        return [i for i, s in enumerate(self.song.sections) if s.id in ids]

    def selected_clip_indices(self) -> list[tuple[int, int]]:
        """(section, track) indexes of every selected clip (the primary one included), sorted."""
        c = self.canvas
        clips = set(c.selected_clips)
        if c.selected_section and c.selected_track:
            clips.add((c.selected_section, c.selected_track))
        si = {s.id: i for i, s in enumerate(self.song.sections)}
        ti = {t.id: i for i, t in enumerate(self.song.tracks)}
        return sorted((si[a], ti[b]) for a, b in clips if a in si and b in ti)

    def select_sections(self, indices, primary: int | None = None) -> None:
        """Select these sections (``primary``: the one the single-selection API returns; default the last)."""
        indices = [i for i in indices if 0 <= i < len(self.song.sections)]
        primary = primary if primary is not None else (indices[-1] if indices else -1)
        self._select(section=primary)
        self.canvas.selected_sections = {self.song.sections[i].id for i in indices}
        self.canvas.selected_clips = set()
        self._selection_done()

    def select_section(self, index: int) -> None:
        """Select section ``index`` (as a click on its block does; -1 clears) and scroll it into view."""
        self.canvas.selected_sections, self.canvas.selected_clips = set(), set()
        self._anchor = (index, self.selected_track_index())
        self._select(section=index)
        if 0 <= index < len(self.song.sections):
            a, b = self.song.section_ticks(self.song.sections[index])
            self.canvas.ensure_visible(a, b)

    def select_track(self, index: int) -> None:
        """Select track ``index`` (as a click on its header does; -1 clears)."""
        self.canvas.selected_clips = set()
        self._select(track=index)

    def _select(self, section: int | None = None, track: int | None = None, emit: bool = True) -> None:
        if section is not None:
            secs = self.song.sections
            self.canvas.selected_section = secs[section].id if 0 <= section < len(secs) else None
        if track is not None:
            tracks = self.song.tracks
            self.canvas.selected_track = tracks[track].id if 0 <= track < len(tracks) else None
        if emit:
            self._selection_done()

    def _selection_done(self) -> None:
        self._show_headers()
        self.canvas.viewport().update()
        self.selectionChanged.emit()

    def _click(self, section: int, track: int | None) -> None:
        """A press on a section block (``track`` None) or a clip, with the modifiers of the press."""
        mods = self.canvas.press_modifiers
        c, secs, tracks = self.canvas, self.song.sections, self.song.tracks
        if self.canvas.press_button == Qt.MouseButton.RightButton and section >= 0 and (
                secs[section].id in c.selected_sections if track is None
                else (secs[section].id, tracks[track].id) in c.selected_clips):
            self._select(section=section, track=track)  # a right click inside the selection keeps it (its menu acts on all)
            return
        if section < 0 or not mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier):
            c.selected_sections = {secs[section].id} if section >= 0 else set()
            c.selected_clips = {(secs[section].id, tracks[track].id)} if section >= 0 and track is not None else set()
            self._anchor = (section, track if track is not None else self.selected_track_index())
            self._select(section=section, track=track if track is not None else (None if section >= 0 else -1))
            return
        self._selection_in_sections()
        if mods & Qt.KeyboardModifier.ShiftModifier:
            self._extend_to(section, track)
            return
        sid = secs[section].id  # Ctrl: add or remove
        if track is None:
            if sid in c.selected_sections and len(c.selected_sections) > 1:
                c.selected_sections.discard(sid)
                c.selected_clips = {x for x in c.selected_clips if x[0] != sid}
                rest = [i for i, s in enumerate(secs) if s.id in c.selected_sections]
                self._select(section=rest[-1], emit=False)
            else:
                c.selected_sections.add(sid)
                self._select(section=section, emit=False)
        else:
            clip = (sid, tracks[track].id)
            if clip in c.selected_clips and len(c.selected_clips) > 1:
                c.selected_clips.discard(clip)
                last = max(c.selected_clips)
                self._select(section=[s.id for s in secs].index(last[0]), track=[t.id for t in tracks].index(last[1]),
                             emit=False)
            else:
                c.selected_clips.add(clip)
                self._select(section=section, track=track, emit=False)
            c.selected_sections = {a for a, _ in c.selected_clips}
        self._selection_done()

    def _selection_in_sections(self) -> None:
        """Before extending: the primary section and clip count as selected."""
        c = self.canvas
        if c.selected_section:
            c.selected_sections.add(c.selected_section)
            if c.selected_track and c.selected_clips:
                c.selected_clips.add((c.selected_section, c.selected_track))

    def _extend_to(self, section: int, track: int | None) -> None:
        """Shift: the sections from the anchor to ``section`` (with ``track``: the rectangle of clips)."""
        c, secs, tracks = self.canvas, self.song.sections, self.song.tracks
        a_sec, a_tr = self._anchor
        if a_sec < 0:
            a_sec = section
        lo, hi = sorted((a_sec, section))
        c.selected_sections = {secs[i].id for i in range(lo, hi + 1)}
        if track is not None and track >= 0:
            t_lo, t_hi = sorted((a_tr if a_tr >= 0 else track, track))
            c.selected_clips = {(secs[i].id, tracks[j].id) for i in range(lo, hi + 1) for j in range(t_lo, t_hi + 1)}
        else:
            c.selected_clips = set()
        self._select(section=section, track=track, emit=False)
        self._selection_done()

    def _press_header(self, track_id: str) -> None:
        ids = [t.id for t in self.song.tracks]
        if track_id in ids:
            self.select_track(ids.index(track_id))

    def _navigate(self, key: str) -> None:
        if key.startswith("shift-"):
            self._extend_by(key[6:])
        elif key == "delete":
            self.delete_selection()
        elif key in ("left", "right"):
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

    def _extend_by(self, direction: str) -> None:
        """Shift+arrow: move the far end of the range one section (left/right) or track (up/down)."""
        i, t = self.selected_section_index(), self.selected_track_index()
        if i < 0:
            if self.song.sections:
                self.select_section(0)
            return
        if self._anchor[0] < 0:
            self._anchor = (i, t)
        if direction in ("left", "right"):
            i = max(0, min(len(self.song.sections) - 1, i + (1 if direction == "right" else -1)))
        elif t >= 0:
            t = max(0, min(len(self.song.tracks) - 1, t + (1 if direction == "down" else -1)))
        self._extend_to(i, t if t >= 0 and (self.canvas.selected_clips or direction in ("up", "down")) else None)
        a, b = self.song.section_ticks(self.song.sections[i])
        self.canvas.ensure_visible(a, b)

    # --- edits -----------------------------------------------------------------------------------
    def delete_selection(self) -> None:
        """The Delete key: clear the notes of the selected clips when clips are selected, else delete the
        selected sections (one undoable change either way)."""
        clips = self.selected_clip_indices() if self.canvas.selected_clips else []
        if clips:
            self._call("Cannot clear the clips", lambda: clear_clips(self.session, clips))
        elif self.selected_section_indices():
            self.delete_sections(self.selected_section_indices())

    def delete_sections(self, indices) -> None:
        """Delete these sections (their notes stay where they are) as one undoable change."""
        if self._call("Cannot delete the sections", lambda: delete_sections(self.session, list(indices))):
            self.select_section(-1)

    def _call(self, title: str, fn: Callable[[], object]) -> bool:
        try:
            fn()
            return True
        except MelodexError as e:
            self.on_error(title, e)
            return False

    def _toggle(self, track_id: str, what: str, on: bool) -> None:
        if not self._call("Cannot change the track", lambda: self.session.update_track(track_id, **{what: on})):
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

    # --- drag out ----------------------------------------------------------------------------------
    def drag_mime(self, section: int, track: int = -1, wav: bool = False):
        """QMimeData with a file URL (and the path as text) to a file another application can take: the
        section (``track`` -1) or the clip as MIDI, or with ``wav`` the clip's rendered audio as WAV when it
        has some (else MIDI). None (after an error dialog) when the file cannot be written."""
        from PySide6.QtCore import QMimeData, QUrl

        from ..engine.dragout import clip_midi, clip_wav

        song = self.song
        if not 0 <= section < len(song.sections):
            return None
        sid = song.sections[section].id
        tid = song.tracks[track].id if 0 <= track < len(song.tracks) else None
        try:
            path = clip_wav(song, self.session.audio, sid, tid) if wav and tid else None
            path = path or clip_midi(song, sid, tid)
        except (MelodexError, OSError) as e:
            self.on_error("Cannot drag it out", e)
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        mime.setText(str(path))
        return mime

    def drag_out(self, section: int, track: int = -1, wav: bool = False):
        """Start a drag of the section (``track`` -1) or the clip as a file (see ``drag_mime``); returns the
        drop action once the drag ends."""
        from PySide6.QtGui import QDrag

        mime = self.drag_mime(section, track, wav)
        if mime is None:
            return Qt.DropAction.IgnoreAction
        drag = QDrag(self.canvas)
        drag.setMimeData(mime)
        self.last_drag = drag
        return drag.exec(Qt.DropAction.CopyAction)

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
        sids, tids = {s.id for s in self.song.sections}, {t.id for t in self.song.tracks}
        c.selected_sections &= sids
        c.selected_clips = {x for x in c.selected_clips if x[0] in sids and x[1] in tids}
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
