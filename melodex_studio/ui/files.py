"""File actions of the main window (a mixin): new, open, open recent, save, save as, import MIDI, close with a
save prompt, drop a file on the window, and the offer to recover an autosave.

Each action is a session call; the window only asks the user (file dialogs, questions) and shows errors.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..errors import MelodexError, ProjectBusyError

PROJECT_FILTER = "Melodex projects (*.melodex)"
MIDI_FILTER = "MIDI files (*.mid *.midi)"
MAX_RECENT = 10


class FileActions:
    """Mixed into ``MainWindow`` (needs ``self.session``, ``self.show_error``, ``self.statusBar()``)."""

    recent_menu: QMenu

    # --- asking ----------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when it is fine to drop the open project: it is saved, the user saved it, or chose Discard."""
        if not self.session.dirty:
            return True
        name = self.session.path.name if self.session.path else "Untitled"
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(self, "Unsaved changes", f"Save the changes to {name} before closing it?",
                                      buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        if answer == buttons.Save:
            return self.save_project()
        return answer == buttons.Discard

    def _busy_guard(self, what: str) -> bool:
        if self.jobs.busy:
            QMessageBox.information(self, "A job is running", f"Wait for “{self.jobs.job.label if self.jobs.job else 'the job'}” "
                                    f"to finish or press Cancel, then {what}.")
            return False
        return True

    # --- actions ---------------------------------------------------------------------------------
    def new_project(self) -> None:
        if self._busy_guard("start a new project") and self.maybe_save():
            self.session.close()
            self.session.new()

    def close_project(self) -> None:
        self.new_project()

    def choose_project(self) -> None:
        if not self._busy_guard("open a project"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open Project", self._last_dir(), PROJECT_FILTER)
        if path:
            self.open_project(path)

    def open_project(self, path: str | Path, read_only: bool = False) -> bool:
        """Open ``path`` (after the save prompt); errors are dialogs and leave the open project as it was."""
        if not read_only and not self.maybe_save():
            return False
        try:
            report = self.session.open(path, read_only=read_only)
        except ProjectBusyError as e:
            if read_only:
                self.show_error("Cannot open the project", e)
                return False
            answer = QMessageBox.question(self, "Project in use", f"{e}.\n\nOpen it read-only?")
            if answer == QMessageBox.StandardButton.Yes:
                return self.open_project(path, read_only=True)
            return False
        except MelodexError as e:
            self.show_error("Cannot open the project", e)
            return False
        self._add_recent(Path(path))
        notes = list(report.missing_models)
        if notes:
            QMessageBox.warning(self, "Models missing", "This project was made with models that are not installed:\n\n"
                                + "\n".join(notes) + "\n\nIt opens and plays; regenerating uses the models you have.")
        if report.autosave is not None:
            self.offer_autosave(report.autosave)
        self.statusBar().showMessage(f"Opened {Path(path).name}" + (" (read-only)" if read_only else ""), 6000)
        return True

    def offer_autosave(self, autosave: Path) -> bool:
        """Ask whether to recover ``autosave`` (newer than the file); recover it as one undoable change."""
        answer = QMessageBox.question(
            self, "Recover unsaved work?", "An autosaved version of this project is newer than the file: the studio "
            "probably closed before it was saved.\n\nRecover the autosaved version? (You can undo this.)")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        try:
            self.session.recover(autosave)
        except MelodexError as e:
            self.show_error("Cannot recover the autosave", e)
            return False
        self.statusBar().showMessage("Recovered the autosaved version; save to keep it", 8000)
        return True

    def offer_untitled_recovery(self) -> bool:
        """At start-up: offer the newest autosave of an untitled project an earlier run left behind."""
        from ..engine.autosave import Autosaver
        from ..engine.userdata import data_dir

        found = sorted((data_dir() / "autosave").glob("untitled-*.melodex"), key=lambda p: p.stat().st_mtime)
        found = [p for p in found if self.session.id not in p.name]
        if not found or not self.offer_autosave(found[-1]):
            return False
        Autosaver.remove(found[-1])
        return True

    def save_project(self) -> bool:
        if self.session.path is None or self.session.read_only:
            return self.save_project_as()
        try:
            self.session.save()
        except MelodexError as e:
            self.show_error("Cannot save the project", e)
            return False
        self.update_actions()
        return True

    def save_project_as(self) -> bool:
        start = str(self.session.path) if self.session.path else str(Path(self._last_dir()) /
                                                                     f"{self.session.song.title or 'Untitled'}.melodex")
        path, _ = QFileDialog.getSaveFileName(self, "Save Project As", start, PROJECT_FILTER)
        if not path:
            return False
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """Save under ``path`` ('.melodex' added when missing); False and a dialog on error."""
        path = Path(path)
        if path.suffix.lower() != ".melodex":
            path = path.with_name(path.name + ".melodex")
        try:
            self.session.save_as(path)
        except MelodexError as e:
            self.show_error("Cannot save the project", e)
            return False
        self._add_recent(path)
        self.update_actions()  # the session names the new path only after its 'saved' notification
        return True

    def choose_midi(self) -> None:
        if not self._busy_guard("import a MIDI file"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Import MIDI", self._last_dir(), MIDI_FILTER)
        if path:
            self.import_midi(path)

    def import_midi(self, path: str | Path) -> bool:
        if not self.maybe_save():
            return False
        try:
            self.session.close()
            self.session.import_midi(path)
        except MelodexError as e:
            self.show_error("Cannot import the MIDI file", e)
            return False
        self.statusBar().showMessage(f"Imported {Path(path).name} as a new project", 6000)
        return True

    # --- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt)
        if any(Path(u.toLocalFile()).suffix.lower() in (".melodex", ".mid", ".midi") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt)
        for url in event.mimeData().urls():
            p = Path(url.toLocalFile())
            if p.suffix.lower() == ".melodex":
                self.open_project(p)
                return
            if p.suffix.lower() in (".mid", ".midi"):
                self.import_midi(p)
                return

    # --- recent files ----------------------------------------------------------------------------
    def _last_dir(self) -> str:
        recent = self.recent_projects()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def recent_projects(self) -> list[str]:
        value = QSettings().value("recentProjects", []) or []
        return [v for v in ([value] if isinstance(value, str) else list(value)) if v]

    def _add_recent(self, path: Path) -> None:
        p = str(Path(path).resolve())
        QSettings().setValue("recentProjects", ([p] + [r for r in self.recent_projects() if r != p])[:MAX_RECENT])
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.recent_projects()
        for r in recent:
            a = menu.addAction(Path(r).name)
            a.setToolTip(r)
            a.triggered.connect(lambda checked=False, r=r: self.open_project(r))
        if not recent:
            menu.addAction("No recent projects").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear List").triggered.connect(lambda: (QSettings().remove("recentProjects"),
                                                                    self.fill_recent_menu()))
