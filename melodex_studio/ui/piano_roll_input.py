"""The piano roll's mouse and keyboard input (a mixin of ``PianoRollCanvas``): draw, select (click, Shift/Ctrl
click, rubber band), move (Alt: copy), resize, velocity drags, and the keys Delete/Backspace, Q (quantise),
Up/Down (Shift: an octave), Left/Right (a snap step; Shift: a bar), Ctrl+A, Ctrl+D. A gesture previews on the canvas while it goes on and becomes ONE
``on_edit(removed, added, label)`` call when it ends (nothing when nothing changed).

Units: ticks; positions in viewport pixels.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QKeySequence

from ..song import Note
from . import roll_edits as ed
from .piano_roll_strips import velocity_of_y


@dataclass
class Drag:
    """A gesture in progress: what it started on and what it would make of the notes now (``preview``)."""

    kind: str  # 'move', 'resize', 'draw', 'velocity', 'rubber'
    x: float
    y: float
    tick: float
    row: int
    origin: list[Note] = field(default_factory=list)
    anchor: Note | None = None
    preview: list[Note] = field(default_factory=list)
    copy: bool = False
    moved: bool = False
    mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
    hide: object = None  # the canvas's mask of the notes the preview replaces (made when first painted)
    heard: int = -1  # the pitch auditioned last during a move


class RollInput:
    """Mixed into ``PianoRollCanvas`` (its state: song, notes, selected, drag, snap, tool, rows, a, b, ...)."""

    # --- mouse ---------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if self.song is None or self.section_id is None:
            return
        pos, mods = event.position(), event.modifiers()
        self._mouse = pos
        self.setFocus()
        hit, edge = self.note_at(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if hit is not None:
                self.selected = self.selected - {hit}
                self._commit([hit], [], "Delete note")
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        row = self.row_at(pos.y())
        tick = self.tick_at(pos.x())
        extend = bool(mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier))
        if hit is not None:
            if extend and hit in self.selected:
                self.selected = self.selected - {hit}
                self.repaint_all()
                return
            if extend:
                self.selected = self.selected | {hit}
            elif hit not in self.selected:
                self.selected = {hit}
            self.on_audition(hit)
            kind = "resize" if edge else "move"
            copy = bool(mods & Qt.KeyboardModifier.AltModifier)
            self.drag = Drag(kind, pos.x(), pos.y(), tick, row, sorted(self.selected), hit, [], copy, False, mods,
                             heard=hit.pitch)
            self.repaint_all()
            return
        if self.tool == "draw" and not extend and 0 <= row < len(self.rows):
            start = max(self.a, ed.snap_floor(self.song, self.snap, tick))
            if start >= self.b:
                return
            n = Note(start, self.rows[row], min(self.new_length(start), self.b - start), 100)
            self.on_audition(n)
            self.drag = Drag("draw", pos.x(), pos.y(), tick, row, [], n, [n], False, False, mods)
            self.repaint_all()
            return
        if not extend:
            self.selected = set()
        self.drag = Drag("rubber", pos.x(), pos.y(), tick, row, [], None, [], False, False, mods)
        self._rubber_base = set(self.selected)
        self.repaint_all()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        self._mouse = pos
        d = self.drag
        if d is None:
            hit, edge = self.note_at(pos)
            shape = (Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.SizeAllCursor if hit is not None
                     else Qt.CursorShape.CrossCursor if self.tool == "draw" else Qt.CursorShape.ArrowCursor)
            self.viewport().setCursor(shape)
            return
        if not d.moved and abs(pos.x() - d.x) + abs(pos.y() - d.y) < 3:
            return
        d.moved = True
        song, tick, row = self.song, self.tick_at(pos.x()), self.row_at(pos.y())
        if d.kind == "move":
            dt = self._snapped_delta(d.anchor.start_tick, tick - d.tick)
            if self.is_drum:
                d.preview = ed.moved(d.origin, dt, -(row - d.row), self.a, self.b, rows=self.rows)
            else:
                d.preview = ed.moved(d.origin, dt, -(row - d.row), self.a, self.b)
            moved_anchor = d.preview[d.origin.index(d.anchor)]
            if moved_anchor.pitch != d.heard:  # a note dragged to another key plays there
                d.heard = moved_anchor.pitch
                self.on_audition(moved_anchor)
        elif d.kind == "resize":
            end = ed.snap_round(song, self.snap, tick) if self.snap != "off" else int(tick)
            dlen = end - d.anchor.end_tick
            d.preview = ed.resized(d.origin, dlen, self.step(d.anchor.start_tick), self.b)
        elif d.kind == "draw":
            n = d.anchor
            if not self.is_drum:
                end = ed.snap_round(song, self.snap, tick) if self.snap != "off" else int(tick)
                dur = max(self.step(n.start_tick), end - n.start_tick)
                d.preview = [Note(n.start_tick, n.pitch, max(1, min(dur, self.b - n.start_tick)), n.velocity)]
        elif d.kind == "rubber":
            self._rubber_select(QRectF(QPointF(d.x, d.y), pos).normalized(), d.mods)
        self.repaint_all()

    def _snapped_delta(self, start: int, raw: float) -> int:
        """A move of ``raw`` ticks for a note at ``start``, so that it lands on the grid (kept as is: 'off')."""
        if self.snap == "off":
            return round(raw)
        return ed.snap_round(self.song, self.snap, start + raw) - start

    def _rubber_select(self, rect: QRectF, mods) -> None:
        t0, t1 = self.tick_at(rect.left()), self.tick_at(rect.right())
        hits = set()
        i = bisect.bisect_left(self.start_list, t0 - self.max_dur)
        j = bisect.bisect_right(self.start_list, t1)
        for n in self.notes[i:j]:
            if self.note_rect(n).intersects(rect):
                hits.add(n)
        base = self._rubber_base
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.selected = base ^ hits
        else:
            self.selected = base | hits

    def mouseReleaseEvent(self, event) -> None:
        self.finish_drag()

    def finish_drag(self) -> None:
        """End the drag in progress: its edit becomes one change (nothing when nothing moved)."""
        d, self.drag = self.drag, None
        if d is None:
            return
        if d.kind == "draw":
            n = d.preview[0]
            if d.moved:
                self.length = n.duration_ticks
            self.selected = {n}
            self._commit([], [n], "Add note")
        elif d.kind == "rubber":
            pass
        elif d.kind in ("move", "resize") and not d.moved:
            if not (d.mods & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier)):
                self.selected = {d.anchor}
                if not self.is_drum:
                    self.length = d.anchor.duration_ticks
        elif d.kind in ("move", "resize", "velocity") and d.preview and d.preview != d.origin:
            many = len(d.origin) > 1
            label = {"move": "Copy notes" if d.copy else "Move notes", "resize": "Resize notes",
                     "velocity": "Change velocity"}[d.kind]
            if not many:
                label = label.replace("notes", "note")
            if d.kind == "resize" and not many:
                self.length = d.preview[0].duration_ticks
            self.selected = set(d.preview) | (set(d.origin) if d.copy else set())
            self._commit([] if d.copy else d.origin, d.preview, label)
        self.repaint_all()

    def velocity_press(self, x: float, y: float) -> None:
        """A press in the velocity lane at (``x`` in grid pixels, ``y``): the nearest note's bar (and the other
        selected notes with it when it is selected) takes the velocity of ``y``."""
        if self.song is None or self.section_id is None:
            return
        i, j = self.visible_range()
        best, dist = None, (9.0, True)
        for n in self.notes[i:j]:  # the nearest bar; of bars at one place (a chord) a selected one
            key = (abs(self.x_of(n.start_tick) - x), n not in self.selected)
            if key < dist:
                best, dist = n, key
        if best is None:
            return
        targets = sorted(self.selected) if best in self.selected else [best]
        if best not in self.selected:
            self.selected = {best}
        v = velocity_of_y(y)
        self.drag = Drag("velocity", x, y, 0, 0, targets, best, ed.with_velocity(targets, v), moved=True)
        self.repaint_all()

    def velocity_move(self, y: float) -> None:
        d = self.drag
        if d is not None and d.kind == "velocity":
            d.preview = ed.with_velocity(d.origin, velocity_of_y(y))
            self.repaint_all()

    def _commit(self, remove: list[Note], add: list[Note], label: str) -> None:
        if sorted(remove) == sorted(add):
            return
        self.on_edit(list(remove), list(add), label)

    # --- keyboard ------------------------------------------------------------------------------------
    _KEYS = frozenset({Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Q,
                       Qt.Key.Key_Left, Qt.Key.Key_Right})

    def event(self, event) -> bool:
        """Keys the roll handles win over the window's shortcuts while it has the focus (Ctrl+D duplicates the
        notes here, not the section)."""
        if event.type() == QEvent.Type.ShortcutOverride and self.section_id is not None and self._handles(event):
            event.accept()
            return True
        return super().event(event)

    def _handles(self, event) -> bool:
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        ctrl = Qt.KeyboardModifier.ControlModifier
        if event.key() in (Qt.Key.Key_A, Qt.Key.Key_D) and mods == ctrl:
            return True
        return event.key() in self._KEYS and mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)

    def keyPressEvent(self, event) -> None:
        if self.song is None or self.section_id is None or not self._handles(event):
            return super().keyPressEvent(event)
        key, shift = event.key(), bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if event.matches(QKeySequence.StandardKey.SelectAll) or (key == Qt.Key.Key_A and not shift):
            self.select_all()
        elif key == Qt.Key.Key_D:
            self.duplicate()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_Q:
            self.quantise()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.transpose((1 if key == Qt.Key.Key_Up else -1) * (12 if shift and not self.is_drum else 1))
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.nudge(-1 if key == Qt.Key.Key_Left else 1, bar=shift)

    def nudge(self, direction: int, bar: bool = False) -> None:
        """Selected notes one snap step (``bar``: one bar) earlier or later, inside the section."""
        notes = sorted(self.selected)
        if not notes:
            self.on_message("Select notes to move first")
            return
        first = notes[0].start_tick
        step = ed.step_at(self.song, "bar" if bar or self.snap == "off" else self.snap, first)
        new = ed.moved(notes, direction * step, 0, self.a, self.b, rows=self.rows if self.is_drum else None)
        if new == notes:
            self.on_message("The notes cannot go further in this section")
            return
        self.selected = set(new)
        self._commit(notes, new, "Move notes" if len(notes) > 1 else "Move note")

    def select_all(self) -> None:
        self.selected = set(self.notes)
        self.repaint_all()

    def delete_selected(self) -> None:
        gone = sorted(self.selected)
        if not gone:
            self.on_message("Select notes to delete first")
            return
        self.selected = set()
        self._commit(gone, [], "Delete notes" if len(gone) > 1 else "Delete note")

    def quantise(self) -> None:
        """The selected notes (all when none is selected) onto the snap grid: starts, and lengths when
        ``quantise_lengths``."""
        notes = sorted(self.selected) or list(self.notes)
        if self.snap == "off":
            self.on_message("Choose a snap value to quantise to")
            return
        new = ed.quantised(self.song, self.snap, notes, self.quantise_lengths and not self.is_drum, self.a, self.b)
        changed = [(o, n) for o, n in zip(notes, new) if o != n]
        if not changed:
            self.on_message("The notes are on the grid already")
            return
        if self.selected:
            self.selected = (self.selected - {o for o, _ in changed}) | {n for _, n in changed}
        self._commit([o for o, _ in changed], [n for _, n in changed], "Quantise notes")

    def transpose(self, semitones: int) -> None:
        """Selected notes up or down (drums: to the next kit row)."""
        notes = sorted(self.selected)
        if not notes:
            self.on_message("Select notes to transpose first")
            return
        new = ed.moved(notes, 0, semitones, rows=self.rows if self.is_drum else None)
        if new == notes:
            self.on_message("The notes cannot go further")
            return
        self.selected = set(new)
        what = "octave" if abs(semitones) == 12 else "semitone"
        article = "an" if what == "octave" else "a"
        self._commit(notes, new, f"Transpose {'up' if semitones > 0 else 'down'} {article} {what}")

    def duplicate(self) -> None:
        notes = sorted(self.selected)
        if not notes:
            self.on_message("Select notes to duplicate first")
            return
        new = ed.duplicated(self.song, self.snap if self.snap != "off" else "1/16", notes, self.b)
        if not new:
            self.on_message("No room after the selection in this section")
            return
        self.selected = set(new)
        self._commit([], new, "Duplicate notes")

    # --- zoom and scroll ------------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        mods = event.modifiers()
        dy = event.angleDelta().y() or event.angleDelta().x()
        pos = self.viewport().mapFromGlobal(event.globalPosition().toPoint())
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.zoom_h(1.15 ** (dy / 120), pos.x())
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self.zoom_v(1.12 ** (dy / 120), pos.y())
        elif mods & Qt.KeyboardModifier.AltModifier:
            h = self.horizontalScrollBar()
            h.setValue(h.value() - dy)
        else:
            super().wheelEvent(event)
