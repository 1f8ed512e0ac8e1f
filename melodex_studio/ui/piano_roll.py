"""The piano roll (objectName ``pianoRoll``, in the dock ``pianoRollDock``): the notes of one clip (one track in one
section) to edit by hand. Double-click a clip on the timeline, or ``MainWindow.open_piano_roll(section, track)``.

Above the painted canvas (``ui/piano_roll_canvas.py``): the clip's name, which clips' diffusion renders are out
of date, and a tool bar: snap, the Draw and Select tools, Quantise (with lengths or not) and Render, which
re-renders the stale clips with the diffusion renderer (a job of the window's runner). Every edit is one
``session.edit_notes`` call, so one undo step; the roll redraws from the session's change notifications (undo
and redo too). Clicking or drawing a note plays it when the window can (``audition_note``).
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.history import ChangeInfo
from ..engine.jobs import Job
from ..engine.staleness import render_request, stale_clips
from ..errors import MelodexError
from ..song import Note
from .gm import program_name
from .piano_roll_canvas import PianoRollCanvas
from .roll_edits import SNAP_LABELS, SNAPS
from .theme import Theme


class PianoRoll(QWidget):
    """See the module docstring. ``window`` is the ``MainWindow`` (session, job runner, prompt panel)."""

    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("pianoRoll")
        self.main = window
        self.session = window.session
        self.section_id: str | None = None
        self.track_id: str | None = None
        self.stale: set[tuple[str, str]] = set()
        self._pending = False  # a change arrived while hidden: refresh when shown

        self.title = QLabel("No clip", objectName="pianoRollTitle")
        self.title.setToolTip("The clip being edited: track, instrument and section")
        self.title.setStyleSheet("font-weight: 600;")
        self.stale_label = QLabel(objectName="pianoRollStale")
        self.stale_label.setToolTip("Clips whose notes changed since their diffusion render (their audio is out "
                                    "of date until they are rendered again)")
        self.snap = QComboBox(objectName="pianoRollSnap")
        self.snap.addItems([f"Snap: {x}" for x in SNAP_LABELS])
        self.snap.setToolTip("The grid that drawing, moving, resizing and quantising follow")
        self.snap.currentIndexChanged.connect(self._snap_changed)
        self.draw_button = self._tool("Draw", "pianoRollDraw", "Draw: click on the grid adds a note, dragging sets "
                                      "its length (the last length used)")
        self.select_button = self._tool("Select", "pianoRollSelect", "Select: drag a rectangle around notes "
                                        "(Shift adds, Ctrl toggles); notes still move and resize")
        tools = QButtonGroup(self)
        tools.setExclusive(True)
        for b in (self.draw_button, self.select_button):
            tools.addButton(b)
        self.draw_button.setChecked(True)
        self.draw_button.toggled.connect(lambda on: self._set_tool("draw" if on else "select"))
        self.quantise_button = QToolButton(objectName="pianoRollQuantise", text="Quantise")
        self.quantise_button.setToolTip("Move the selected notes (all when none is selected) onto the snap grid (Q)")
        self.quantise_button.clicked.connect(lambda: self.canvas.quantise())
        self.lengths_check = QCheckBox("Lengths too", objectName="pianoRollQuantiseLengths")
        self.lengths_check.setToolTip("Quantise also puts the notes' ends on the grid")
        self.lengths_check.toggled.connect(lambda on: setattr(self.canvas, "quantise_lengths", on))
        self.render_button = QPushButton("Render", objectName="renderStaleButton")
        self.render_button.clicked.connect(self.render_stale)
        self.canvas = PianoRollCanvas(self)
        self.canvas.on_edit = self._edit
        self.canvas.on_audition = self._audition
        self.canvas.on_message = lambda text: self.main.statusBar().showMessage(text, 4000)

        head = QHBoxLayout()
        head.setContentsMargins(8, 4, 8, 2)
        head.setSpacing(6)
        head.addWidget(self.title, 1)
        for w in (self.snap, self.draw_button, self.select_button, self.quantise_button, self.lengths_check,
                  self.render_button):
            head.addWidget(w)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # elided, tools first
        self.stale_label.setContentsMargins(8, 0, 8, 3)
        self.stale_label.hide()
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addLayout(head)
        col.addWidget(self.stale_label)  # its own line, shown while some clip is stale
        col.addWidget(self.canvas, 1)
        self.snap.setCurrentIndex(SNAPS.index("1/16"))

        self.session.subscribe(self._on_change)
        window.jobs.started.connect(lambda *_: self.update_render_button())
        window.jobs.ended.connect(lambda *_: self.update_render_button())
        window.prompt_panel.renderer.currentIndexChanged.connect(lambda *_: self.update_render_button())
        self.refresh()

    def _tool(self, text: str, name: str, tip: str) -> QToolButton:
        b = QToolButton(objectName=name, text=text)
        b.setCheckable(True)
        b.setToolTip(tip)
        return b

    def _set_tool(self, tool: str) -> None:
        self.canvas.tool = tool

    def _snap_changed(self, i: int) -> None:
        self.canvas.snap = SNAPS[i]
        self.canvas.length = 0  # a new grid: new notes are one step long until a length is drawn
        self.canvas.repaint_all()

    # --- the clip ------------------------------------------------------------------------------------
    def open_clip(self, section_index: int, track_index: int) -> None:
        """Edit the notes of track ``track_index`` in section ``section_index`` (0-based)."""
        song = self.session.song
        self.section_id = song.sections[section_index].id
        self.track_id = song.tracks[track_index].id
        self.canvas.show_clip(song, self.section_id, self.track_id)
        self.refresh()
        self.canvas.setFocus()

    def refresh(self) -> None:
        """Read the clip and the stale clips from the session again."""
        if not self.isVisible() and self.section_id is not None:
            self._pending = True
            return
        self._pending = False
        song = self.session.song
        if self.canvas.song is not song:
            self.canvas.show_clip(song, self.section_id, self.track_id, fit=False)
        else:
            self.canvas.reload()
        self.section_id, self.track_id = self.canvas.section_id, self.canvas.track_id
        self.stale = stale_clips(song)
        if self.section_id is None:
            self._set_title("No clip: double-click a clip on the timeline")
        else:
            sec, tr = song.section(self.section_id), song.track(self.track_id)
            kind = "drum kit" if tr.is_drum else program_name(tr.program)
            self._set_title(f"{tr.name} · {kind} · {sec.label}, bars {sec.start_bar + 1}–{sec.end_bar}")
        self.stale_label.setText(self._stale_text())
        self.stale_label.setVisible(bool(self.stale))
        self.stale_label.setStyleSheet(f"color: {Theme.color('warning').name()}; font-weight: 600;")
        self.update_render_button()

    def _set_title(self, text: str) -> None:
        self.title.setProperty("full", text)
        self.title.setToolTip(f"{text}\n(the clip being edited: track, instrument, section)")
        self._elide_title()

    def _elide_title(self) -> None:
        text = self.title.property("full") or ""
        self.title.setText(self.title.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                                max(40, self.title.width())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide_title()

    def _stale_text(self) -> str:
        if not self.stale:
            return ""
        song = self.session.song
        order = {s.id: i for i, s in enumerate(song.sections)}, {t.id: i for i, t in enumerate(song.tracks)}
        clips = sorted(self.stale, key=lambda c: (order[0][c[0]], order[1][c[1]]))
        names = [f"{song.section(s).label} · {song.track(t).name}" for s, t in clips]
        mine = (self.section_id, self.track_id) in self.stale
        head = "⚠ this clip's audio is out of date" if mine else "⚠ out of date"
        return f"{head} — stale: {', '.join(names[:4])}{' …' if len(names) > 4 else ''}"

    def update_render_button(self) -> None:
        b = self.render_button
        diffusion = self.main.prompt_panel.render_audio()
        if not diffusion:
            b.setText("Preview follows edits")
            b.setEnabled(False)
            b.setToolTip("With the SoundFont preview the playback plays the notes as they are; choose the diffusion "
                         "renderer (Advanced) to render stale clips to audio")
            return
        n = len(self.stale)
        b.setText(f"Render {n} stale clip{'s' if n != 1 else ''}" if n else "Renders up to date")
        b.setEnabled(bool(n) and not self.main.jobs.busy)
        b.setToolTip("Render the clips whose notes changed since their diffusion render again (only those), as "
                     "new takes; undoable")

    def _on_change(self, info: ChangeInfo) -> None:
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending:
            self.refresh()

    # --- edits ---------------------------------------------------------------------------------------
    def _edit(self, remove: list[Note], add: list[Note], label: str) -> None:
        if self.track_id is None:
            return
        try:
            self.session.edit_notes(self.track_id, remove=remove, add=add, label=label)
        except MelodexError as e:
            self.main.show_error("Cannot edit the notes", e)
            self.canvas.reload()

    def _audition(self, note: Note) -> None:
        play = getattr(self.main, "audition_note", None)
        tr = self.canvas.track()
        if play is not None and tr is not None:
            play(tr.program, note.pitch, note.velocity, tr.is_drum)

    def render_stale(self) -> Job | None:
        """Render the stale clips again with the diffusion renderer (a job; its takes are one undoable change)."""
        song = self.session.song
        clips = stale_clips(song)
        if not clips:
            self.main.statusBar().showMessage("No clip is out of date", 4000)
            return None
        section, tracks = render_request(song, clips)
        self.main._apply_render_options()
        return self.main._start("Render", lambda progress: self.session.render(
            section, tracks, stale_only=True, progress=progress),
            {"section": section, "track": tracks[0] if len(tracks) == 1 else None})
