"""Model actions of the main window (a mixin): Generate, Regenerate Section, Regenerate Track, Cancel.

Each starts one session job through ``ui.jobs.JobRunner`` and returns at once: the window stays usable while
the job runs. Progress shows in the status bar and over the section (or clip) the job works on. When the
job ends, its proposal is applied on the GUI thread (``session.apply``: one undoable change); a cancelled job
changes nothing, a failed one shows a dialog with the problem and what to do.
"""
from __future__ import annotations

import dataclasses

from ..engine.jobs import Job, Progress
from ..errors import CancelledError, MelodexError

AUTOSAVE_AFTER_JOB_MS = 300  # the autosave copy of a job's result waits this long for the views to follow it


class JobActions:
    """Mixed into ``MainWindow`` (needs ``session``, ``jobs``, ``timeline``, ``prompt_panel``, ``status``)."""

    def generate(self) -> Job | None:
        """A new song from the prompt panel's plan and seed (rendered when the diffusion renderer is chosen)."""
        panel = self.prompt_panel
        plan, prompt, seed, render = panel.plan(), panel.prompt_text(), panel.next_seed(), panel.render_audio()
        self._apply_render_options()
        return self._start("Generate", lambda progress: self.session.generate(
            prompt or None, plan=plan, seed=seed, render=render, progress=progress), {})

    def regenerate_section(self) -> Job | None:
        """A new take of the selected section (all its tracks)."""
        i = self.timeline.selected_section_index()
        if i < 0:
            self.statusBar().showMessage("Select a section on the timeline first", 5000)
            return None
        sec = self.session.song.sections[i]
        return self._regenerate(sec.id, None)

    def regenerate_track(self) -> Job | None:
        """A new take of the selected track in the selected section."""
        i, t = self.timeline.selected_section_index(), self.timeline.selected_track_index()
        if i < 0 or t < 0:
            self.statusBar().showMessage("Select a clip (a section and a track) on the timeline first", 5000)
            return None
        song = self.session.song
        return self._regenerate(song.sections[i].id, song.tracks[t].id)

    def vary_section(self) -> Job | None:
        """New render takes of the selected section (only the selected track's when one is selected), resumed
        from the recorded step under Advanced with a new seed."""
        i, t = self.timeline.selected_section_index(), self.timeline.selected_track_index()
        if i < 0:
            self.statusBar().showMessage("Select a section on the timeline first", 5000)
            return None
        song, panel = self.session.song, self.prompt_panel
        sec = song.sections[i].id
        tracks = [song.tracks[t].id] if t >= 0 else None
        return self.start_vary(sec, int(panel.vary_step.value()), panel.next_seed(), tracks)

    def start_vary(self, section_id: str, step: int, seed: int | None, tracks: list[str] | None = None,
                   variation: float = 1.0) -> Job | None:
        """A Vary job (``session.vary``) as the window runs jobs: progress over the section, applied when done."""
        return self._start("Vary", lambda progress: self.session.vary(section_id, step, seed=seed, tracks=tracks,
                                                                      variation=variation, progress=progress),
                           {"section": section_id, "track": tracks[0] if tracks else None})

    def can_vary(self) -> bool:
        """True when the selected section has a diffusion render take to vary."""
        i = self.timeline.selected_section_index()
        if i < 0:
            return False
        try:
            return any(t.kind == "render" for t in self.session.takes(section=self.session.song.sections[i].id))
        except MelodexError:
            return False

    def _regenerate(self, section_id: str, track_id: str | None) -> Job | None:
        panel = self.prompt_panel
        seed, render, prompt = panel.next_seed(), panel.render_audio(), panel.prompt_text() or None
        self._apply_render_options()
        from .section_overrides import start_regenerate  # with the section's own energy, genre, mood, instruments

        return self._start("Regenerate", lambda progress: start_regenerate(
            self.session, section_id, track_id, seed, prompt, render, progress),
            {"section": section_id, "track": track_id})

    def choose_export_midi(self) -> None:
        self._choose_export("Export MIDI", "MIDI files (*.mid)", ".mid", midi=True)

    def choose_export_wav(self) -> None:
        self._choose_export("Export Mix", "WAV files (*.wav)", ".wav")

    def choose_export_section_wav(self) -> None:
        i = self.timeline.selected_section_index()
        if i >= 0:
            self._choose_export("Export Section", "WAV files (*.wav)", ".wav", section=i)

    def choose_export_section_midi(self) -> None:
        i = self.timeline.selected_section_index()
        if i >= 0:
            self._choose_export("Export Section as MIDI", "MIDI files (*.mid)", ".mid", midi=True, section=i)

    def _choose_export(self, title: str, filter_: str, suffix: str, midi: bool = False, section: int | None = None):
        from pathlib import Path

        from PySide6.QtWidgets import QFileDialog

        song = self.session.song
        name = song.title or "Untitled"
        if section is not None:
            name += f" - {song.sections[section].label}"
        folder = self.session.path.parent if self.session.path else Path.home()
        path, _ = QFileDialog.getSaveFileName(self, title, str(folder / (name + suffix)), filter_)
        if path:
            self.export_to(path if path.lower().endswith(suffix) else path + suffix, midi=midi, section_index=section)

    def export_to(self, path, midi: bool = False, section_index: int | None = None) -> Job | None:
        """A job writing ``path``: the song as MIDI (``midi``) or the mix, or one section's mix, as audio, with
        the chosen renderer. The project does not change."""
        song = self.session.song
        sec = song.sections[section_index].id if section_index is not None else None
        renderer = "diffusion" if self.prompt_panel.render_audio() else "soundfont"
        target = {"midi": str(path)} if midi else {"wav": str(path)}
        return self._start("Export", lambda progress: self.session.export(
            progress=progress, renderer=renderer, section=sec, project_name=song.title, **target),
            {"section": sec, "export": str(path)})

    def _apply_render_options(self) -> None:
        panel = self.prompt_panel
        self.session.diffusion = dataclasses.replace(self.session.diffusion, steps=int(panel.steps.value()),
                                                     guidance=float(panel.guidance.value()))

    def _start(self, what: str, starter, context: dict) -> Job | None:
        from . import gc_policy

        gc_policy.job_started(self.session)  # the collector skips what exists now (document, history, models): its
        try:                                 # full passes over them held the GIL 130-350 ms (ui/gc_policy.py)
            return self.jobs.start(starter, context)
        except MelodexError as e:
            gc_policy.job_ended()
            self.show_error(f"Cannot start: {what}", e)
            return None

    def _autosave_after_job(self) -> None:
        """The autosave copy after an applied job (as ``session.apply`` would write it), unless the window closed."""
        if not self.isVisible():
            return
        failed = self.session.autosave_error  # the copy before this one, written on a thread, could not be written
        try:
            self.session.autosave_error = None
            self.session.autosave(force=True)  # on a thread (session.autosave_in_background)
        except (MelodexError, OSError) as e:  # the change stands; the status bar says why there is no autosave
            failed = self.session.autosave_error = str(e)
        if failed:
            self.status.showMessage(f"Autosave failed ({failed}); save the project to keep your changes", 15000)

    def cancel_job(self) -> None:
        """Ask the running job to stop; the document stays as it was."""
        if self.jobs.job is not None:
            self.jobs.cancel()
            self.status.job_label.setText("Cancelling…")

    def wait_for_jobs(self, timeout_s: float = 60.0) -> bool:
        """Process events until no job runs (its result applied and the views followed it); False when
        ``timeout_s`` passed first."""
        done = self.jobs.wait(timeout_s)
        self.follow_up.run_all()
        return done

    @property
    def busy(self) -> bool:
        """True while a job runs (until its result is applied)."""
        return self.jobs.busy

    # --- signals of the job runner (GUI thread) ----------------------------------------------------
    def _job_started(self, job: Job) -> None:
        self.status.job_started(job.label)
        ctx = self.jobs.context
        self.timeline.set_busy(ctx.get("section"), ctx.get("track"), f"{job.label}…")
        self.update_actions()

    def _job_progress(self, job: Job, p: Progress) -> None:
        text = self.status.job_progress(job.label, p)
        ctx = self.jobs.context
        self.timeline.set_busy(ctx.get("section"), ctx.get("track"), text)

    def _job_ended(self, job: Job) -> None:
        self.timeline.set_busy(active=False)
        message = ""
        if job.status == "done" and job.kind == "export":
            message = f"Exported {self.jobs.last_context.get('export', '')} in {job.seconds:.1f} s"
        elif job.status == "done":
            try:
                self.applying_job = True  # the window's views refresh in the next turn of the event loop
                try:
                    info = self.session.apply(job.result, autosave=False)
                finally:
                    self.applying_job = False
                from PySide6.QtCore import QTimer

                # the autosave copy after the views have followed the result (their repaint is the GUI thread's
                # longest piece of work; the copy's writer thread competing with it for the GIL and a core made it
                # ~15 ms longer), in its own piece of work
                QTimer.singleShot(AUTOSAVE_AFTER_JOB_MS, self, self._autosave_after_job)
                message = f"{info.label}: done in {job.seconds:.1f} s"
                notes = list(getattr(job.result, "notes", []) or [])
                if notes:
                    message += " (" + "; ".join(notes) + ")"
            except MelodexError as e:
                self.show_error(f"Cannot apply: {job.label}", e)
        elif job.status == "cancelled" or isinstance(job.error, CancelledError):
            message = f"{job.label} cancelled; nothing was changed"
        else:
            err = job.error if isinstance(job.error, MelodexError) else MelodexError(
                f"{job.label} failed unexpectedly ({type(job.error).__name__}: {job.error}); nothing was changed")
            self.show_error(f"{job.label} failed", err)
            message = f"{job.label} failed; nothing was changed"
        self.status.job_ended(message)
        from . import gc_policy

        gc_policy.job_ended()  # what the job left behind is collected, the rest stays frozen (ui/gc_policy.py)
        self.update_actions()
