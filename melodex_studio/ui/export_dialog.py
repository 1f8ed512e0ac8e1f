"""File ▸ Export… (objectName ``exportDialog``): MIDI, the mix and the stems in one go, with a live list of the
files it will write.

The choices are ``engine.rendering.export_all``'s: MIDI type 1 or 0; the mix as WAV or FLAC at a sample rate,
bit depth and dither; one file per audible track into a stems folder, named ``<prefix>_<NN>_<track>``; the
streaming preset (-14 LUFS, -1 dBTP) on the mix and the stems; the whole song or the selected section only.
Export runs as a window job (``session.export``): a progress bar and Cancel while it runs; nothing is written
unless every file is (the engine stages them), so a cancel leaves no partial files. Errors are dialogs.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

RATES = (44100, 48000, 96000)


def default_name(title: str) -> str:
    """A file name from the song's title: a generated song's title is its prompt, so a long one is cut at its
    first comma (or word) within 40 characters."""
    title = " ".join((title or "").split()) or "Untitled"
    if len(title) <= 40:
        return title
    head = title.split(",")[0].strip()
    return head if 0 < len(head) <= 40 else title[:40].rsplit(" ", 1)[0]
BITS = ((16, "16-bit"), (24, "24-bit"), (32, "32-bit float"))


class ExportDialog(QDialog):
    """``host`` is the main window (``session``, ``jobs``, ``timeline``, ``prompt_panel``, ``_start``).
    ``planned()`` lists the paths the current choices write; ``start()`` begins the export job."""

    finished_export = Signal(object)  # the Job, when it ends (done, cancelled or failed)

    def __init__(self, host, section_index: int | None = None):
        super().__init__(host)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.host = host
        self.job = None
        self.report = None
        session = host.session
        song = session.song
        name = session.path.stem if session.path else default_name(song.title)
        folder = session.path.parent if session.path else Path.home()

        self.setMinimumWidth(560)
        col = QVBoxLayout(self)
        where = QFormLayout()
        row = QHBoxLayout()
        self.folder = QLineEdit(str(folder), objectName="exportFolder")
        self.folder.setToolTip("The folder the files are written into")
        browse = QToolButton(objectName="exportBrowse", text="…")
        browse.setToolTip("Choose the folder")
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        where.addRow("Folder", row)
        self.name = QLineEdit(name, objectName="exportName")
        self.name.setToolTip("The name of the MIDI and mix files (and the stems' prefix unless you change it)")
        where.addRow("Name", self.name)
        self.scope = QComboBox(objectName="exportScope")
        self.scope.addItem("Whole song", None)
        for i, s in enumerate(song.sections):
            self.scope.addItem(f"Section {i + 1}: {s.label} (bars {s.start_bar + 1}–{s.end_bar})", i)
        self.scope.setToolTip("Export the whole song, or one section only (its audio and MIDI from its start)")
        if section_index is not None and 0 <= section_index < len(song.sections):
            self.scope.setCurrentIndex(section_index + 1)
        where.addRow("What", self.scope)
        self.renderer = QComboBox(objectName="exportRenderer")
        self.renderer.addItems(["SoundFont preview", "Diffusion renderer (the project's takes)"])
        self.renderer.setToolTip("Which renderer makes the audio: the project's diffusion stems are used as they are "
                                 "when every track has one (whole song); else the chosen renderer renders")
        self.renderer.setCurrentIndex(1 if host.prompt_panel.render_audio() else 0)
        where.addRow("Audio from", self.renderer)
        col.addLayout(where)

        midi = QGroupBox("MIDI")
        mf = QFormLayout(midi)
        self.midi = QCheckBox("Standard MIDI File", objectName="exportMidi", checked=True)
        self.midi.setToolTip("Write the arrangement as a .mid file")
        self.midi_type = QComboBox(objectName="exportMidiType")
        self.midi_type.addItems(["Type 1 (a track per instrument)", "Type 0 (one track)"])
        self.midi_type.setToolTip("Type 1 keeps the instruments on their own tracks; type 0 for old devices")
        mf.addRow(self.midi)
        mf.addRow("File type", self.midi_type)
        col.addWidget(midi)

        audio = QGroupBox("Audio")
        af = QFormLayout(audio)
        self.mix = QCheckBox("The mix", objectName="exportMix", checked=True)
        self.mix.setToolTip("Write the mix of every audible track as one file")
        self.fmt = QComboBox(objectName="exportFormat")
        self.fmt.addItems(["WAV", "FLAC"])
        self.fmt.setToolTip("WAV (16, 24 or 32-bit float) or FLAC (lossless, 16 or 24-bit)")
        self.rate = QComboBox(objectName="exportRate")
        for r in RATES:
            self.rate.addItem(f"{r / 1000:g} kHz", r)
        self.rate.setCurrentIndex(RATES.index(song.sample_rate) if song.sample_rate in RATES else 0)
        self.rate.setToolTip("Sample rate of the files (resampled from the project's rate when it differs)")
        self.bits = QComboBox(objectName="exportBits")
        for b, text in BITS:
            self.bits.addItem(text, b)
        self.bits.setCurrentIndex(1)
        self.bits.setToolTip("Bit depth: 24-bit for mixing and mastering, 16-bit for CDs, 32-bit float for headroom")
        self.dither = QCheckBox("Dither (TPDF)", objectName="exportDither", checked=True)
        self.dither.setToolTip("Add a little noise when reducing to 16 or 24 bits, so quiet passages do not distort")
        self.lufs = QCheckBox("Streaming loudness (-14 LUFS, -1 dBTP peaks)", objectName="exportLufs")
        self.lufs.setToolTip("Bring the mix to the level streaming services play at; the stems get the same gain")
        self.stems = QCheckBox("Stems (a file per audible track)", objectName="exportStems")
        self.stems.setToolTip("Write each audible track as its own file; together they sum to the mix")
        self.stems_folder = QLineEdit(objectName="exportStemsFolder")
        self.stems_folder.setToolTip("The stems' folder, inside the export folder")
        self.stems_prefix = QLineEdit(objectName="exportStemsPrefix")
        self.stems_prefix.setToolTip("Stem files are named <prefix>_<NN>_<track>: NN is the track's place (01, 02 ...)")
        self.stems_prefix.setPlaceholderText("the name above")
        self.stems_folder.setPlaceholderText("<name> stems")
        af.addRow(self.mix)
        af.addRow("Format", self.fmt)
        af.addRow("Sample rate", self.rate)
        af.addRow("Bit depth", self.bits)
        af.addRow("", self.dither)
        af.addRow(self.stems)
        af.addRow("Stems folder", self.stems_folder)
        af.addRow("Stem names", self.stems_prefix)
        af.addRow(self.lufs)
        col.addWidget(audio)

        col.addWidget(QLabel("Will write:"))
        self.summary = QPlainTextEdit(objectName="exportSummary", readOnly=True)
        self.summary.setToolTip("Exactly the files the export writes (existing ones are replaced)")
        self.summary.setMinimumHeight(130)
        self.summary.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        col.addWidget(self.summary, 1)
        self.progress = QProgressBar(objectName="exportProgress", minimum=0, maximum=1000, textVisible=True)
        self.progress.setToolTip("How far the export is")
        self.progress.setVisible(False)
        col.addWidget(self.progress)
        self.status = QLabel(objectName="exportStatus", wordWrap=True)
        self.status.setProperty("role", "hint")
        col.addWidget(self.status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Close", objectName="exportCancel")
        self.cancel_button.setToolTip("Close the dialog; while exporting, stop the export (nothing is written)")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export", objectName="exportButton", default=True)
        self.export_button.setToolTip("Write the files listed above")
        self.export_button.clicked.connect(self.start)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        col.addLayout(buttons)

        for w in (self.folder, self.name, self.stems_folder, self.stems_prefix):
            w.textChanged.connect(self.update_summary)
        for w in (self.scope, self.midi_type, self.fmt, self.rate, self.bits, self.renderer):
            w.currentIndexChanged.connect(self.update_summary)
        for w in (self.midi, self.mix, self.stems, self.dither, self.lufs):
            w.toggled.connect(self.update_summary)
        host.jobs.progress.connect(self._progress)
        host.jobs.ended.connect(self._ended)
        self.update_summary()

    # --- the choices ---------------------------------------------------------------------------------
    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export into", self.folder.text())
        if path:
            self.folder.setText(path)

    def section_index(self) -> int | None:
        return self.scope.currentData()

    def _base(self) -> str:
        from ..engine.export import file_base

        name = self.name.text().strip() or "Untitled"
        i = self.section_index()
        if i is not None:
            name += f" - {self.host.session.song.sections[i].label}"
        return file_base(name)

    def kwargs(self) -> dict:
        """The ``session.export`` arguments of the current choices."""
        folder = Path(self.folder.text().strip()).expanduser()
        fmt = self.fmt.currentText().lower()
        base = self._base()
        song = self.host.session.song
        i = self.section_index()
        out = {"rate": self.rate.currentData(), "bits": self.bits.currentData(), "fmt": fmt,
               "dither": self.dither.isChecked(), "lufs": self.lufs.isChecked(),
               "midi_type": 1 if self.midi_type.currentIndex() == 0 else 0,
               "renderer": "diffusion" if self.renderer.currentIndex() == 1 else "soundfont",
               "section": song.sections[i].id if i is not None else None,
               "project_name": self.stems_prefix.text().strip() or base}
        if self.midi.isChecked():
            out["midi"] = str(folder / f"{base}.mid")
        if self.mix.isChecked():
            out["wav"] = str(folder / f"{base}.{fmt}")
        if self.stems.isChecked():
            out["stems_dir"] = str(folder / (self.stems_folder.text().strip() or f"{base} stems"))
        return out

    def planned(self) -> list[Path]:
        """Every file the export writes with the current choices, in the order it writes them."""
        from ..engine.export import planned_stem_paths

        k = self.kwargs()
        paths = [Path(k[key]) for key in ("midi", "wav") if key in k]
        if "stems_dir" in k:
            paths += planned_stem_paths(self.host.session.song, k["stems_dir"], k["project_name"], k["fmt"])
        return paths

    def update_summary(self) -> None:
        flac = self.fmt.currentText() == "FLAC"
        item = self.bits.model().item(2)
        item.setEnabled(not flac)
        if flac and self.bits.currentData() == 32:
            self.bits.setCurrentIndex(1)
        audio = self.mix.isChecked() or self.stems.isChecked()
        for w in (self.fmt, self.rate, self.bits, self.dither, self.lufs, self.renderer):
            w.setEnabled(audio and self.job is None)
        self.dither.setEnabled(audio and self.bits.currentData() != 32)
        self.stems_folder.setEnabled(self.stems.isChecked())
        self.stems_prefix.setEnabled(self.stems.isChecked())
        self.midi_type.setEnabled(self.midi.isChecked())
        paths = self.planned()
        folder = Path(self.folder.text().strip()).expanduser()
        lines = [f"In {folder}:"] + [f"  {p.relative_to(folder)}" + ("   (replaces the existing file)" if p.exists()
                                                                        else "") for p in paths]
        self.summary.setPlainText("\n".join(lines) if paths else "Nothing: choose MIDI, the mix or stems")
        self.export_button.setEnabled(bool(paths) and self.job is None and not self.host.jobs.busy)

    # --- running ---------------------------------------------------------------------------------------
    def _problem(self) -> str | None:
        folder = self.folder.text().strip()
        if not folder:
            return "Choose the folder the files go into."
        p = Path(folder).expanduser()
        if p.exists() and not p.is_dir():
            return f"{p} is a file, not a folder; choose a folder."
        if not self.planned():
            return "Nothing to export: tick MIDI, the mix or stems."
        if self.stems.isChecked() and not self.host.session.song.audible_tracks():
            return "No track is audible (all are muted), so there are no stems: unmute a track or untick Stems."
        return None

    def start(self):
        """Start the export job; returns it (None when the choices are not valid or a job runs)."""
        problem = self._problem()
        if problem:
            QMessageBox(QMessageBox.Icon.Warning, "Cannot export", problem, QMessageBox.StandardButton.Ok, self).exec()
            return None
        k = self.kwargs()
        try:
            Path(self.folder.text().strip()).expanduser().mkdir(parents=True, exist_ok=True)
        except OSError as e:
            QMessageBox(QMessageBox.Icon.Warning, "Cannot export", f"Cannot create the folder: {e.strerror or e}",
                        QMessageBox.StandardButton.Ok, self).exec()
            return None
        first = next(iter(self.planned()))
        job = self.host._start("Export", lambda progress: self.host.session.export(progress=progress, **k),
                               {"section": k["section"], "export": str(first.parent)})
        if job is None:
            return None
        self.job, self.report = job, None
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText("Exporting…")
        self.cancel_button.setText("Cancel")
        self.update_summary()
        return job

    def cancel(self) -> None:
        """While exporting: stop the export (no file is written). Else close the dialog."""
        if self.job is not None and not self.job.done():
            self.job.cancel()
            self.status.setText("Cancelling…")
        elif self.job is None:
            self.reject()

    def _progress(self, job, p) -> None:
        if job is self.job:
            self.progress.setValue(int(p.fraction * 1000))
            self.progress.setFormat(f"{p.message or p.stage} %p%")

    def _ended(self, job) -> None:
        if job is not self.job:
            self.update_summary()  # another job ended: Export may be possible now
            return
        self.job = None
        self.progress.setVisible(False)
        self.cancel_button.setText("Close")
        if job.status == "done":
            self.report = job.result.info.get("report") if job.result is not None else None
            self.status.setText(f"Exported in {job.seconds:.1f} s")
        elif job.status == "cancelled":
            self.status.setText("Export cancelled; no file was written")
        else:
            self.status.setText("Export failed; no file was written")
        self.update_summary()
        self.finished_export.emit(job)
        if job.status == "done":
            self.accept()

    def reject(self) -> None:
        if self.job is not None and not self.job.done():
            self.cancel()  # Escape / the close button stop the export first
            return
        super().reject()


def show_export_dialog(host) -> ExportDialog:
    """Open File ▸ Export… (non-modal; the selected section is offered when one is selected)."""
    old = getattr(host, "_export_dialog", None)
    if old is not None and old.job is None:  # a new one, with the song's sections as they are now
        old.deleteLater()
    elif old is not None:  # it is exporting: show it
        old.show()
        old.raise_()
        return old
    i = host.timeline.selected_section_index()
    dlg = ExportDialog(host, None)
    if i >= 0:
        dlg.scope.setItemText(i + 1, dlg.scope.itemText(i + 1) + " · selected")
    dlg.show()
    host._export_dialog = dlg
    return dlg
