"""The main window: thin. It lays out the views over one ``ProjectSession`` and wires them together.

Layout: the transport bar on top (objectName ``transportBar``), the arrangement timeline in the centre
(``timeline``), docks for the prompt panel (left), the inspector and the undo history (right) and the
waveform view (under the timeline, ``waveformView``), the status bar (device, models, job progress). Dock
placement is kept in QSettings. Actions are declared in ``ui/actions.py``; file actions live in
``ui/files.py`` and model jobs in ``ui/job_actions.py`` (mixins); automation names in ``ui/README.md``.
"""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication, QComboBox, QDockWidget, QLabel, QMainWindow, QMenu, QMessageBox, QSizePolicy, QToolBar, QWidget,
)

from ..engine.history import ChangeInfo
from ..engine.session import ProjectSession
from ..errors import JobBusyError, MelodexError, ModelError, ProjectError
from ..song import Song
from .actions import build_actions
from .dialogs import show_about, show_shortcuts
from .edits import duplicate_sections, insert_section
from .files import FileActions
from .history_view import HistoryView
from .icons import icon
from .inspector import Inspector
from .job_actions import JobActions
from .jobs import JobRunner
from .piano_roll import PianoRoll
from .follow_up import FollowUp
from .mixer_view import MixerView
from .prompt_panel import PromptPanel
from .status import StudioStatusBar
from .theme import Theme, apply_theme
from .timeline import Timeline
from .transport import TransportActions, position_text
from .waveform import WaveformView


_HINTS = [  # what to do, by error type (the engine's message says what went wrong)
    (JobBusyError, "Wait for the running job to finish, or press Cancel."),
    (ProjectError, "Nothing was changed. Check the file, or open its .bak copy next to it."),
    (ModelError, "Check the models in Help ▸ About, or choose the SoundFont preview under Advanced."),
]


class MainWindow(FileActions, JobActions, TransportActions, QMainWindow):
    def __init__(self, song: Song | None = None, session: ProjectSession | None = None):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon("app"))
        self.resize(1440, 900)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.session = session or ProjectSession()
        self.session.autosave_in_background = True  # the copy is written on a thread, not on this one
        if song is not None:
            self.session.new(song)
        self.jobs = JobRunner(self)
        self._unsubscribe_song = lambda: None
        self._fit_on_refresh = False  # a generated song: fit it into view in the next refresh
        self.follow_up = FollowUp(("views", "mixer", "panel"), self)  # the views follow a job's result in steps

        self.timeline = Timeline(self.session, self, on_error=self.show_error)
        self.setCentralWidget(self.timeline)
        self.prompt_panel = PromptPanel(self)
        self.inspector = Inspector(self.session, self.show_error, self)
        self.history_view = HistoryView(self.session, self)
        self.waveform = WaveformView(self)
        self.prompt_dock = self._dock("Prompt", "promptDock", self.prompt_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_dock = self._dock("History", "historyDock", self.history_view,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.waveform_dock = self._dock("Waveform", "waveformDock", self.waveform,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.piano_roll = PianoRoll(self)
        self.piano_roll_dock = self._dock("Piano Roll", "pianoRollDock", self.piano_roll,
                                          Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.waveform_dock, self.piano_roll_dock)  # a tab: a double-click on a clip raises it
        self.waveform_dock.raise_()
        self.splitDockWidget(self.inspector_dock, self.history_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.prompt_dock, self.inspector_dock], [340, 290], Qt.Orientation.Horizontal)
        self.resizeDocks([self.waveform_dock], [130], Qt.Orientation.Vertical)
        self.resizeDocks([self.inspector_dock, self.history_dock], [480, 220], Qt.Orientation.Vertical)

        self.actions_by_id, self.menus = build_actions(self)
        self.undo_action, self.redo_action = self.actions_by_id["undo"], self.actions_by_id["redo"]
        self.recent_menu = QMenu("Open &Recent", self)
        self.menus["File"].insertMenu(self.actions_by_id["save"], self.recent_menu)
        self.fill_recent_menu()
        for dock in (self.prompt_dock, self.inspector_dock, self.history_dock, self.waveform_dock,
                     self.piano_roll_dock):
            self.menus["View"].addAction(dock.toggleViewAction())
        self.actions_by_id["light_theme"].setChecked(Theme.name == "light")
        self.transport = self._transport_bar()
        self.status = StudioStatusBar(self.session, self)
        self.setStatusBar(self.status)
        self.prompt_panel.bind(self.actions_by_id)
        self._setup_playback()  # MainWindow.playback, audio_source, transport_control (ui/transport.py)
        self.mixer_view = MixerView(self.session, self.playback, self, on_error=self.show_error)
        self.mixer_view.follow_later = lambda step: self._follow_later("mixer", step)
        self.mixer_dock = self._dock("Mixer", "mixerDock", self.mixer_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.waveform_dock, self.mixer_dock)
        self.waveform_dock.raise_()
        self.mixer_dock.visibilityChanged.connect(self.mixer_view.set_tab_shown)
        self.mixer_dock.visibilityChanged.connect(lambda on: on and self.resizeDocks(
            [self.mixer_dock], [max(self.mixer_dock.height(), 250)], Qt.Orientation.Vertical))
        self.menus["View"].addAction(self.mixer_dock.toggleViewAction())
        self.prompt_panel.attach(self.session, self.timeline)

        self.session.subscribe(self._on_change)
        self.jobs.started.connect(self._job_started)
        self.jobs.progress.connect(self._job_progress)
        self.jobs.ended.connect(self._job_ended)
        self.timeline.selectionChanged.connect(self._selection_changed)
        self.timeline.contextMenuRequested.connect(self._section_menu)
        self.timeline.canvas.playheadMoved.connect(self.set_playhead)
        self.timeline.canvas.clipDoubleClicked.connect(self.open_piano_roll)
        self.waveform.attach(self.session, self.timeline, self.jobs)
        self._refresh_timer = QTimer(self, singleShot=True, interval=0)
        self._refresh_timer.timeout.connect(self._refresh)
        self._restore_layout()
        self._watch_song()
        self.status.showMessage("Describe a song in the prompt and press Generate", 10000)

    # --- layout --------------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _transport_bar(self) -> QToolBar:
        bar = QToolBar("Transport", self)
        bar.setObjectName("transportBar")
        bar.setMovable(False)
        bar.setIconSize(bar.iconSize().scaled(20, 20, Qt.AspectRatioMode.KeepAspectRatio))
        a = self.actions_by_id
        for ids in (("new", "open", "save"), ("undo", "redo"), ("rewind", "play", "stop", "loop")):
            bar.addActions([a[i] for i in ids])
            bar.addSeparator()
        for i, name in (("play", "playButton"), ("stop", "stopButton"), ("loop", "loopButton")):
            bar.widgetForAction(a[i]).setObjectName(name)
        self.position_label = QLabel("1:1   0:00.0", objectName="positionLabel")
        self.position_label.setToolTip("Playhead position: bar:beat and minutes:seconds")
        self.position_label.setMinimumWidth(self.position_label.fontMetrics().horizontalAdvance("000:0   00:00.0") + 12)
        bar.addWidget(self.position_label)
        self.song_info = QLabel(objectName="transportInfo")
        self.song_info.setToolTip("Tempo, meter, key and length of the song")
        bar.addWidget(self.song_info)
        self.snap_choice = QComboBox(objectName="snapChoice")
        self.snap_choice.addItems(["Snap: Bar", "Snap: Beat", "Snap: Off"])
        self.snap_choice.setToolTip("Where clicks on the bars ruler put the playhead")
        self.snap_choice.currentIndexChanged.connect(
            lambda i: setattr(self.timeline.canvas, "snap", ("bar", "beat", "off")[i]))
        bar.addWidget(self.snap_choice)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addActions([a["generate"], a["regenerate_section"], a["cancel"]])
        bar.addSeparator()
        bar.addActions([a["zoom_out"], a["zoom_in"]])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        return bar

    def _restore_layout(self) -> None:
        s = QSettings()
        geometry, state = s.value("window/geometry"), s.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        s = QSettings()
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())

    # --- the document --------------------------------------------------------------------------------
    @property
    def song(self) -> Song:
        return self.session.song

    def set_song(self, song: Song) -> None:
        """Show ``song`` as a new untitled project."""
        self.session.new(song)

    def _watch_song(self, refresh: bool = True) -> None:
        """Follow edits made on the song directly (not through the session) too: those notifications arrive in
        the middle of a change, many per change, so they only schedule one refresh for the next event loop turn."""
        self._unsubscribe_song()
        self._unsubscribe_song = self.song.subscribe(
            lambda event, payload: self._follow_later("views", self._refresh) or self._refresh_timer.start())
        self._refresh() if refresh else self.follow_up.add("views", self._refresh)

    def _on_change(self, info: ChangeInfo) -> None:
        later = getattr(self, "applying_job", False)  # a job's result: the views follow in later turns, in steps
        if info.document:
            self._watch_song(refresh=not later)
            if info.kind == "generate":  # the song in view in its first paint, the plan's tables filled after it
                self._fit_on_refresh = True
                self.follow_up.add("panel", lambda: self.prompt_panel.show_song(self.song))
            elif info.label.startswith("Open"):
                self._show_generated()
        elif later:
            self.follow_up.add("views", self._refresh)
        else:
            self._refresh()

    def _follow_later(self, name: str, step) -> bool:
        """While a job's result is applied, ``step`` runs in a later turn of the event loop (``ui/follow_up.py``);
        False when no result is being applied (the caller runs it now)."""
        if not getattr(self, "applying_job", False):
            return False
        self.follow_up.add(name, step)
        return True

    def _show_generated(self) -> None:
        self.prompt_panel.show_song(self.song)
        self.timeline.zoom_to_fit()

    def _refresh(self) -> None:
        self._refresh_timer.stop()
        self.follow_up.discard("views")
        self.timeline.refresh()
        if self._fit_on_refresh:
            self._fit_on_refresh = False
            self.timeline.zoom_to_fit()
        self.inspector.refresh()
        self.history_view.refresh()
        s = self.song
        meter = s.meter_map.changes[0]
        secs = s.duration_seconds
        self.song_info.setText(f"{s.tempo_map.changes[0].bpm:g} BPM   {meter.numerator}/{meter.denominator}   "
                               f"{s.key.name}   {s.length_bars} bars   {int(secs // 60)}:{int(secs % 60):02d}")
        if self.session.autosave_error:
            self.status.showMessage(f"Autosave failed ({self.session.autosave_error}); save the project to keep "
                                    "your changes", 15000)
        self.update_actions()

    def update_actions(self) -> None:
        h, a, busy = self.session.history, self.actions_by_id, self.jobs.busy
        a["undo"].setEnabled(h.can_undo() and not busy)
        a["undo"].setText(f"&Undo {h.undo_label()}" if h.can_undo() else "&Undo")
        a["redo"].setEnabled(h.can_redo() and not busy)
        a["redo"].setText(f"&Redo {h.redo_label()}" if h.can_redo() else "&Redo")
        has_section = self.timeline.selected_section_index() >= 0
        a["generate"].setEnabled(not busy)
        a["regenerate_section"].setEnabled(not busy and has_section)
        a["regenerate_track"].setEnabled(not busy and has_section and self.timeline.selected_track_index() >= 0)
        a["vary_section"].setEnabled(not busy and has_section and self.can_vary())
        a["cancel"].setEnabled(busy)
        for i in ("rename_section", "delete_section", "insert_section", "duplicate_section", "export_section_wav",
                  "export_section_midi"):
            a[i].setEnabled(has_section and not busy)
        for i in ("new", "open", "import_midi", "close_project", "export_dialog", "export_midi", "export_wav"):
            a[i].setEnabled(not busy)
        name = self.session.path.name if self.session.path else "Untitled"
        ro = " [read-only]" if self.session.read_only else ""
        self.setWindowTitle(f"{name}{' *' if self.session.dirty else ''}{ro} — Melodex Studio")

    def _selection_changed(self) -> None:
        t = self.timeline
        i, j = t.selected_section_index(), t.selected_track_index()
        self.inspector.show_selection(self.song.sections[i].id if i >= 0 else None,
                                      self.song.tracks[j].id if j >= 0 else None)
        self.prompt_panel.show_section(i if self.prompt_panel.form.rowCount() == len(self.song.sections) else -1)
        if self.actions_by_id["loop"].isChecked():
            self.toggle_loop(True)
        self.update_actions()

    def _section_menu(self, pos) -> None:
        menu = QMenu(self)
        a = self.actions_by_id
        menu.addActions([a["regenerate_section"], a["regenerate_track"], a["vary_section"]])
        menu.addSeparator()
        menu.addActions([a["rename_section"], a["duplicate_section"], a["insert_section"], a["loop"]])
        menu.addSeparator()
        menu.addActions([a["export_section_midi"], a["export_section_wav"]])
        menu.addSeparator()
        menu.addAction(a["delete_section"])
        menu.popup(pos)
        self._last_menu = menu

    # --- edit actions --------------------------------------------------------------------------------
    def show_error(self, title: str, error: Exception) -> None:
        """A dialog with the problem (the error's message) and what to do; never a traceback."""
        hint = next((h for cls, h in _HINTS if isinstance(error, cls)), "")
        text = str(error)
        text = text[:1].upper() + text[1:]
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        if hint:
            box.setInformativeText(hint)
        box.exec()

    def _session_call(self, title: str, fn) -> None:
        try:
            fn()
        except MelodexError as e:
            self.show_error(title, e)

    def undo(self) -> None:
        if not self.jobs.busy:
            self._session_call("Cannot undo", self.session.undo)

    def redo(self) -> None:
        if not self.jobs.busy:
            self._session_call("Cannot redo", self.session.redo)

    def rename_selected_section(self) -> None:
        self.timeline.start_rename(self.timeline.selected_section_index())

    def delete_selected_section(self) -> None:
        """Delete every selected section (one undoable change)."""
        if self.timeline.selected_section_indices():
            self.timeline.delete_sections(self.timeline.selected_section_indices())

    def insert_section_after(self) -> None:
        """An empty section as long as the selected one right after it; its name editor opens."""
        i = self.timeline.selected_section_index()
        if i >= 0:
            bars = self.song.sections[i].length_bars
            self._session_call("Cannot insert a section", lambda: insert_section(self.session, i + 1, "section", bars))
            self.timeline.start_rename(i + 1)

    def duplicate_selected_section(self) -> None:
        """Copy every selected section right after itself (one undoable change); the copies are selected."""
        indices = self.timeline.selected_section_indices()
        if indices:
            copies: list[int] = []
            self._session_call("Cannot duplicate the section",
                               lambda: copies.extend(duplicate_sections(self.session, indices)))
            self.timeline.select_sections(copies)

    # --- transport and view --------------------------------------------------------------------------
    def set_playhead(self, tick: int) -> None:
        self.timeline.canvas.set_playhead(tick)
        self.position_label.setText(position_text(self.song, tick))

    def toggle_loop(self, on: bool) -> None:
        i = self.timeline.selected_section_index()
        s = self.song.sections[i] if i >= 0 else None
        self.timeline.canvas.loop_bars = (s.start_bar, s.end_bar) if on and s is not None else None
        self.timeline.canvas.viewport().update()
        self.transport_control.sync_loop()

    def zoom_in(self) -> None:
        self.timeline.zoom_in()

    def zoom_out(self) -> None:
        self.timeline.zoom_out()

    def zoom_fit(self) -> None:
        self.timeline.zoom_to_fit()

    def open_piano_roll(self, section_index: int | None = None, track_index: int | None = None) -> None:
        """Show the piano roll dock with the notes of track ``track_index`` in section ``section_index`` (0-based;
        None: the selected clip)."""
        t = self.timeline
        i = t.selected_section_index() if section_index is None else section_index
        j = t.selected_track_index() if track_index is None else track_index
        if not (0 <= i < len(self.song.sections) and 0 <= j < len(self.song.tracks)):
            self.statusBar().showMessage("Select a clip (a section and a track) on the timeline first", 5000)
            return
        dock = self.piano_roll_dock
        dock.show()
        dock.raise_()
        self.resizeDocks([dock], [max(dock.height(), 380, int(self.height() * 0.45))], Qt.Orientation.Vertical)
        self.piano_roll.open_clip(i, j)

    def set_light_theme(self, on: bool) -> None:
        theme = "light" if on else "dark"
        QSettings().setValue("theme", theme)
        apply_theme(QApplication.instance(), theme)
        for spec_id, action in self.actions_by_id.items():
            from .actions import ACTIONS

            spec = next((s for s in ACTIONS if s is not None and s.id == spec_id), None)
            if spec is not None and spec.icon:
                action.setIcon(icon(spec.icon))
        self.timeline.refresh()

    def show_shortcuts(self) -> None:
        show_shortcuts(self)

    def show_export_dialog(self) -> None:
        from .export_dialog import show_export_dialog

        show_export_dialog(self)

    def show_about(self) -> None:
        show_about(self, self.session)

    # --- closing -------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt)
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.transport_control.close()
        self.mixer_view.close_view()
        if self.jobs.job is not None:
            self.jobs.cancel()
        self.session.close()
        self.jobs.wait(10)
        from .gc_policy import release

        release()  # what jobs left frozen (ui/gc_policy.py) is the collector's again, the closed window with it
        super().closeEvent(event)

