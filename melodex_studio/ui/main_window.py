"""The main window: thin. It shows the open project of a ``ProjectSession`` (the one engine API the CLI
also uses): its sections and tracks, and the File and Edit actions (open, save, undo, redo).

The full arrangement GUI (timeline, piano roll, waveform, inspector) grows here as views that
subscribe to the session's change notifications; the window only wires them together.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QLineEdit, QMainWindow, QMessageBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from ..engine.session import ProjectSession
from ..errors import MelodexError, ProjectBusyError
from ..song import Song


class MainWindow(QMainWindow):
    def __init__(self, song: Song | None = None, session: ProjectSession | None = None):
        super().__init__()
        self.setWindowTitle("Melodex Studio")
        self.resize(1100, 700)
        self.session = session or ProjectSession()
        if song is not None:
            self.session.new(song)
        self._unsubscribe = lambda: None
        self.session.subscribe(self._on_change)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        self.prompt = QLineEdit(central)
        self.prompt.setPlaceholderText('Describe a song: "dreamy lofi beat, 82 bpm, F major, intro 4, verse 8, chorus 8"')
        layout.addWidget(self.prompt)
        self.summary = QLabel(central)
        layout.addWidget(self.summary)
        self.outline = QTreeWidget(central)
        self.outline.setHeaderLabels(["Item", "Details"])
        layout.addWidget(self.outline, 1)
        self.setCentralWidget(central)

        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open Project…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._choose_project)
        file_menu.addAction(open_action)
        save_action = QAction("&Save", self, shortcut=QKeySequence.StandardKey.Save)
        save_action.triggered.connect(self.save_project)
        file_menu.addAction(save_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = QAction("&Undo", self, shortcut=QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.session.undo)
        self.redo_action = QAction("&Redo", self, shortcut=QKeySequence.StandardKey.Redo)
        self.redo_action.triggered.connect(self.session.redo)
        edit_menu.addActions([self.undo_action, self.redo_action])
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.statusBar().showMessage("Ready")
        self._watch_song()

    @property
    def song(self) -> Song:
        return self.session.song

    def set_song(self, song: Song) -> None:
        """Show ``song`` as a new untitled project."""
        self.session.new(song)

    def _watch_song(self) -> None:
        self._unsubscribe()
        self._unsubscribe = self.song.subscribe(lambda event, payload: self._refresh())
        self._refresh()

    def _on_change(self, info) -> None:
        if info.document:
            self._watch_song()
        else:
            self._refresh()

    def _update_actions(self) -> None:
        h = self.session.history
        self.undo_action.setEnabled(h.can_undo())
        self.undo_action.setText(f"&Undo {h.undo_label()}" if h.can_undo() else "&Undo")
        self.redo_action.setEnabled(h.can_redo())
        self.redo_action.setText(f"&Redo {h.redo_label()}" if h.can_redo() else "&Redo")
        name = self.session.path.name if self.session.path else "Untitled"
        self.setWindowTitle(f"{name}{' *' if self.session.dirty else ''} — Melodex Studio")

    def _refresh(self) -> None:
        self._update_actions()
        s = self.song
        meter = s.meter_map.changes[0]
        self.summary.setText(
            f"<b>{s.title}</b> — {s.tempo_map.changes[0].bpm:g} BPM, {meter.numerator}/{meter.denominator}, "
            f"{s.key.name}, {s.length_bars} bars, {s.duration_seconds:.1f} s"
        )
        self.outline.clear()
        sections = QTreeWidgetItem(self.outline, ["Sections", str(len(s.sections))])
        for sec in s.sections:
            QTreeWidgetItem(sections, [sec.label, f"bars {sec.start_bar + 1}–{sec.end_bar} ({sec.length_bars} bars)"])
        tracks = QTreeWidgetItem(self.outline, ["Tracks", str(len(s.tracks))])
        for t in s.tracks:
            kind = "drums" if t.is_drum else f"program {t.program}"
            QTreeWidgetItem(tracks, [t.name, f"{t.role}, {kind}, {len(t.notes)} notes"])
        self.outline.expandAll()

    def _choose_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", "", "Melodex projects (*.melodex)")
        if path:
            self.open_project(path)

    def open_project(self, path: str, read_only: bool = False) -> None:
        try:
            report = self.session.open(path, read_only=read_only)
        except ProjectBusyError as e:
            if read_only:
                QMessageBox.critical(self, "Cannot open project", str(e))
                return
            answer = QMessageBox.question(self, "Project in use", f"{e}.\n\nOpen it read-only?")
            if answer == QMessageBox.StandardButton.Yes:
                self.open_project(path, read_only=True)
            return
        except MelodexError as e:
            QMessageBox.critical(self, "Cannot open project", str(e))
            return
        notes = report.missing_models + (["an autosaved version newer than the file exists"] if report.autosave else [])
        self.statusBar().showMessage(f"Opened {path}" + (" (read-only)" if read_only else "")
                                     + ("; " + "; ".join(notes) if notes else ""))

    def save_project(self) -> None:
        try:
            if self.session.path is None or self.session.read_only:
                path, _ = QFileDialog.getSaveFileName(self, "Save Project", "", "Melodex projects (*.melodex)")
                if not path:
                    return
                self.session.save_as(path if path.endswith(".melodex") else path + ".melodex")
            else:
                self.session.save()
        except MelodexError as e:
            QMessageBox.critical(self, "Cannot save project", str(e))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.session.close()
        super().closeEvent(event)
