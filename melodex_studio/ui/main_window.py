"""The main window: thin. It holds the current Song and shows its sections and tracks.

The full arrangement GUI (timeline, piano roll, waveform, inspector) grows here as views that
subscribe to the Song's change notifications; the window only wires them together.
"""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QLineEdit, QMainWindow, QMessageBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from ..errors import MelodexError
from ..song import Song


class MainWindow(QMainWindow):
    def __init__(self, song: Song | None = None):
        super().__init__()
        self.setWindowTitle("Melodex Studio")
        self.resize(1100, 700)
        self.song = song or Song()
        self._unsubscribe = lambda: None

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
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self.statusBar().showMessage("Ready")
        self.set_song(self.song)

    def set_song(self, song: Song) -> None:
        self._unsubscribe()
        self.song = song
        self._unsubscribe = song.subscribe(lambda event, payload: self._refresh())
        self._refresh()

    def _refresh(self) -> None:
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

    def open_project(self, path: str) -> None:
        try:
            from ..io.project import load_project
            self.set_song(load_project(path))
            self.statusBar().showMessage(f"Opened {path}")
        except MelodexError as e:
            QMessageBox.critical(self, "Cannot open project", str(e))
