"""``ProjectSession``: the open project as one object, and the one API both front ends call.

It holds the song, the project tensors, the audio cache, the file path (locked while open), the dirty flag,
the undo history and the model choices. Every user action is one method:

* files: ``new``, ``open``, ``save``, ``save_as``, ``close``, ``import_midi``, ``recover`` (autosave);
* model work, as jobs (``engine.jobs``; one at a time, progress and cancel): ``generate``, ``regenerate``,
  ``render``, ``vary``, ``export``. A job computes a ``Proposal`` on copies; ``apply`` makes it one undoable
  change (``run`` = start, wait, apply, for the command line);
* takes: ``takes``, ``use_take``, ``delete_take``, ``keep_take``;
* edits (each one undoable change): notes, tracks, mixer values, sections, title, tempo, key, meter, plan;
* ``undo``, ``redo``; ``subscribe`` for one ``ChangeInfo`` per applied change.

Saving refuses to overwrite a file that changed on disk since it was read (another program wrote it), and
while the session holds the project no other session can open it for writing (``io.lock``).
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import JobBusyError, MelodexError, ProjectBusyError, ProjectError
from ..responsive import fast_switching
from ..song import Key, Note, Section, Song, Track
from . import operations as ops
from .autosave import Autosaver, autosave_path, newer_autosave
from .diffusion_render import DiffusionOptions
from .history import Change, ChangeInfo, Document, UndoHistory
from .jobs import Job, JobContext, ProgressCallback, run_in_background
from .lookup import find_section, find_take, find_track
from .proposals import Proposal, apply_proposal, stem_name

Listener = Callable[[ChangeInfo], None]


@dataclass
class OpenReport:
    """What a front end should tell the user after ``open``: models that made the project and are missing,
    and a newer autosave copy (offer ``recover``)."""

    missing_models: list[str] = field(default_factory=list)
    autosave: Path | None = None
    read_only: bool = False
    notes: list[str] = field(default_factory=list)  # what the loader left out (e.g. an out-of-date stem)


@dataclass(frozen=True)
class TakeInfo:
    """A take as the user sees it: what made it and whether it plays now."""

    id: str
    section: str
    track: str  # track name, or "all" for a whole-section structure take
    kind: str  # "structure" or "render"
    op: str  # generate / regenerate / render / vary
    seed: int | None
    created: str
    active: bool
    kept: bool
    details: dict

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class ProjectSession:
    """See the module docstring. Not thread-safe: call it from one thread (the GUI thread); jobs run on
    their own worker thread and touch only copies."""

    def __init__(self, device: str = "auto", structure_model: str | None = None,
                 diffusion: DiffusionOptions | None = None, autosave: bool = True, autosave_interval_s: float = 60.0):
        self.device = device
        self.structure_model = structure_model
        self.diffusion = diffusion or DiffusionOptions()
        self.doc = Document(Song())
        self.history = UndoHistory()
        self.path: Path | None = None
        self.read_only = False
        self.id = uuid.uuid4().hex[:12]
        self._lock = None
        self._signature = None
        self._listeners: list[Listener] = []
        self._job: Job | None = None
        self._job_lock = threading.Lock()
        self._autosave = Autosaver(autosave_interval_s) if autosave else None
        self._stem_memo: dict[str, Any] = {}
        self.autosave_error: str | None = None
        # the window writes autosave copies on a thread (a snapshot of the document; a save or close waits for it)
        self.autosave_in_background = False
        self._autosave_writer: threading.Thread | None = None

    # --- state -----------------------------------------------------------------------------------
    @property
    def song(self) -> Song:
        return self.doc.song

    @property
    def tensors(self) -> dict:
        return self.doc.tensors

    @property
    def audio(self) -> dict:
        return self.doc.audio

    @property
    def dirty(self) -> bool:
        return not self.history.is_clean

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """``listener(ChangeInfo)`` after every applied change, undo and redo; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, info: ChangeInfo) -> None:
        for cb in list(self._listeners):
            cb(info)

    # --- files -----------------------------------------------------------------------------------
    def new(self, song: Song | None = None) -> None:
        """An empty (or the given) untitled project; the undo history starts afresh."""
        self._check_idle("start a new project")
        self._release()
        self.doc = Document(song or Song())
        self.path, self.read_only, self._signature = None, False, None
        self.history.clear()
        self._notify(ChangeInfo("New project", "document", document=True))

    def open(self, path: str | Path, read_only: bool = False) -> OpenReport:
        """Open the project at ``path``: locked for writing unless ``read_only`` (ProjectBusyError when another
        session holds it). Nothing on disk changes. The report names missing models and a newer autosave."""
        from ..io.lock import FileSignature, ProjectLock
        from ..io.project import read_project

        self._check_idle("open a project")
        path = Path(path)
        if not path.exists():
            raise ProjectError(f"the project {path} does not exist")
        if path.is_dir():
            raise ProjectError(f"{path} is a folder, not a .melodex project")
        lock = None if read_only else ProjectLock(path.resolve())
        try:
            proj = read_project(path)  # refuses pipes and devices before anything else reads them
            signature = FileSignature.of(path)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self._release()
        self._lock, self._signature = lock, signature
        self.doc = Document(proj.song, dict(proj.tensors),
                            dict(proj.audio.stems()) if hasattr(proj.audio, "stems") else dict(proj.audio))
        self.path, self.read_only = path, read_only
        self.history.clear()
        self._notify(ChangeInfo(f"Open {path.name}", "document", document=True))
        from .models import missing_models

        try:
            missing = missing_models(self.song)
        except MelodexError as e:
            missing = [str(e)]
        return OpenReport(missing, newer_autosave(path), read_only, list(getattr(proj, "notes", [])))

    def save(self) -> Path:
        """Save to the project's file (atomically). ProjectBusyError when the file changed on disk since it was
        read or last saved; ProjectError for a read-only or untitled project (use ``save_as``)."""
        if self.path is None:
            raise ProjectError("this project has no file yet; save it under a name")
        if self.read_only:
            raise ProjectBusyError(f"{self.path.name} is open read-only; save it under another name")
        if self._signature is not None and not self._signature.same_file(self.path):
            raise ProjectBusyError(f"{self.path.name} was changed on disk by another program since it was opened; "
                                   f"nothing was overwritten. Save this version under another name")
        return self._write(self.path)

    def save_as(self, path: str | Path) -> Path:
        """Save under a new name, which becomes the project's file (locked from now on)."""
        from ..io.lock import ProjectLock

        path = Path(path)
        if path.suffix.lower() != ".melodex":
            raise ProjectError(f"the project name {path.name!r} should end in .melodex")
        same = self.path is not None and path.resolve() == self.path.resolve()
        if same and not self.read_only:
            return self.save()
        lock = ProjectLock(path.resolve())
        try:
            self._write(path, notify=False)
        except BaseException:
            lock.release()
            raise
        old = self.path
        self._release()
        self._lock, self.path, self.read_only = lock, path, False
        self._drop_autosave(autosave_path(old, self.id))
        self._notify(ChangeInfo(f"Saved {path.name}", "save"))
        return path

    def _write(self, path: Path, notify: bool = True) -> Path:
        from ..io.lock import FileSignature
        from ..io.project import save_project

        old_autosave = autosave_path(self.path, self.id)
        save_project(path, self.song, self.tensors, self.audio)
        self._signature = FileSignature.of(path)
        self.history.mark_clean()
        self._drop_autosave(old_autosave)
        self._drop_autosave(autosave_path(path, self.id))
        if notify:
            self._notify(ChangeInfo(f"Saved {path.name}", "save"))
        return path

    def close(self) -> None:
        """Cancel a running job, release the lock and drop the autosave copy (the user chose to close)."""
        if self._job is not None and not self._job.done():
            self._job.cancel()
            self._job.join()
        self._drop_autosave(autosave_path(self.path, self.id))
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def recover(self, autosave: Path) -> None:
        """Replace the open project's content by its autosave copy, as one undoable change (unsaved)."""
        from ..io.project import read_project

        proj = read_project(autosave)
        self.apply(Proposal("document", "Recover autosaved changes", song=proj.song, tensors=dict(proj.tensors),
                            stems=dict(proj.audio.stems())))

    def import_midi(self, path: str | Path) -> None:
        """A new untitled project from a Standard MIDI File (its title from the file)."""
        from ..io.midi import import_midi

        self.new(import_midi(path))

    def autosave(self, force: bool = False) -> Path | None:
        """Write the autosave copy when there are unsaved changes and it is due (or ``force``). With
        ``autosave_in_background`` it is written on a thread from a snapshot of the document (what is written is
        the state at this call); ``autosave_error`` then says after the fact why a copy could not be written."""
        if self._autosave is None or not self.dirty or not (force or self._autosave.due()):
            return None
        target = autosave_path(self.path, self.id)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not self.autosave_in_background:
            from ..io.project import save_project

            save_project(target, self.song, self.tensors, self.audio)
            self._autosave.wrote()
            return target
        self._autosave.wrote()
        song, tensors, audio = self.song.copy(), dict(self.tensors), dict(self.audio)
        self.wait_for_autosave()  # one copy at a time, in order

        def write() -> None:
            me = threading.current_thread()
            run_in_background()  # nice +5, as a job: the window and the audio callback win the CPU
            fast_switching(me, True)  # the writer runs Python (the document to JSON and back): other threads (the
            try:                      # GUI's, the audio callback) get the GIL back within 0.5 ms, not 5
                from ..io.project import save_project  # the first import (soundfile, ...) is off the caller's thread

                save_project(target, song, tensors, audio)
            except (MelodexError, OSError) as e:
                self.autosave_error = str(e)
            finally:
                fast_switching(me, False)

        self._autosave_writer = threading.Thread(target=write, name="melodex-autosave", daemon=True)
        self._autosave_writer.start()
        return target

    def wait_for_autosave(self, timeout_s: float | None = None) -> bool:
        """Wait until an autosave copy being written on a thread is on disk; False when ``timeout_s`` passed first."""
        writer = self._autosave_writer
        if writer is not None:
            writer.join(timeout_s)
            if writer.is_alive():
                return False
            self._autosave_writer = None
        return True

    def _drop_autosave(self, path: Path) -> None:
        """Remove an autosave copy, after the one being written (a save or close must not leave one behind)."""
        self.wait_for_autosave()
        Autosaver.remove(path)

    # --- jobs ------------------------------------------------------------------------------------
    def _check_idle(self, what: str) -> None:
        if self._job is not None and not self._job.done():
            raise JobBusyError(f"cannot {what} while “{self._job.label}” is running; wait for it or cancel it")

    @property
    def job(self) -> Job | None:
        """The running job, if any."""
        return self._job if self._job is not None and not self._job.done() else None

    @property
    def busy(self) -> bool:
        """True while a job runs (a second one would be refused)."""
        return self.job is not None

    def start(self, kind: str, label: str, compute: Callable[[JobContext], Proposal],
              progress: ProgressCallback | None = None, on_done: Callable[[Job], None] | None = None) -> Job:
        """Run ``compute`` as a job on a worker thread (JobBusyError while another job runs)."""
        with self._job_lock:
            self._check_idle(label.lower())
            self._job = Job(kind, label, compute, progress, self.device, on_done)
            return self._job.start()

    def run(self, job: Job) -> Proposal:
        """Wait for ``job`` and apply its proposal (the command line's synchronous use)."""
        proposal = job.wait()
        self.apply(proposal)
        return proposal

    def apply(self, proposal: Proposal, autosave: bool = True) -> ChangeInfo:
        """Make ``proposal`` one undoable change (nothing changes when it cannot be applied). ``autosave=False``: the
        caller writes the autosave copy itself (``autosave(force=True)``; the window does it in a later turn of its
        event loop, so applying and writing are two shorter pieces of work on its thread)."""
        info = ChangeInfo(proposal.label, proposal.kind, frozenset(proposal.sections), frozenset(proposal.tracks),
                          frozenset(t.id for t in proposal.takes), document=proposal.song is not None)
        self._change(info, lambda song: apply_proposal(song, self.tensors, self.audio, proposal), after_job=True,
                     save=autosave)
        return info

    def _change(self, info: ChangeInfo, mutate: Callable[[Song], Any], after_job: bool = False,
                save: bool = True) -> Any:
        """Run ``mutate`` on the live document and record it as one change; on error restore and re-raise.
        Then autosave: always after a job, else when the last autosave is older than the interval."""
        before, tensors, audio = self.song.copy(), dict(self.tensors), dict(self.audio)
        try:
            result = mutate(self.song)
        except BaseException as e:
            self.song.assign(before)
            self.tensors.clear(), self.tensors.update(tensors)
            self.audio.clear(), self.audio.update(audio)
            if isinstance(e, (KeyError, ValueError)):
                raise ProjectError(f"cannot {info.label.lower()}: {e.args[0] if e.args else e}") from None
            raise
        self.history.push(Change.between(info, before, self.doc, tensors, audio))
        self._notify(info)
        if not save:
            return result
        try:
            self.autosave(force=after_job)
            self.autosave_error = None
        except (MelodexError, OSError) as e:  # the change stands; the front end says why there is no autosave
            self.autosave_error = str(e)
        return result

    def _snapshot(self) -> tuple[Song, dict, dict]:
        """Copies for a job: the song, the tensor table and the audio cache (the job reads the cached stems it
        patches, ``engine.partial_decode``; their arrays are read-only)."""
        return self.song.copy(), dict(self.tensors), dict(self.audio)

    def generate(self, prompt: str | None = None, plan=None, seed: int | None = None, render: bool = False,
                 progress: ProgressCallback | None = None, on_done: Callable[[Job], None] | None = None) -> Job:
        """A job writing a new song from ``prompt`` (or a ``StylePlan``); ``render``: diffusion-render it too.
        Applying it replaces the document (undoable)."""
        from ..prompt.parse import parse_prompt

        plan = plan if plan is not None else parse_prompt(prompt or "")
        opts = self.diffusion if render else None
        return self.start("generate", "Generate", lambda ctx: ops.generate(ctx, plan, prompt, seed, self.structure_model,
                                                                           opts), progress, on_done)

    def regenerate(self, section, track=None, seed: int | None = None, prompt: str | None = None,
                   from_bar: int | None = None, render: bool = False, progress: ProgressCallback | None = None,
                   on_done: Callable[[Job], None] | None = None) -> Job:
        """A job writing a new structure take of ``section`` (or of one ``track`` of it, or its bars from
        ``from_bar``), styled by ``prompt``'s genre and mood words; ``render``: diffusion-render it too."""
        sec = find_section(self.song, section)
        tr = find_track(self.song, track).id if track is not None else None
        overrides = None
        if prompt:
            from ..prompt.parse import parse_prompt

            p = parse_prompt(prompt)
            overrides = {k: getattr(p, k) for k in ("genre", "mood") if k in p.stated or getattr(p, k)}
        song, tensors, names = self._snapshot()
        opts = self.diffusion if render else None
        return self.start("regenerate", f"Regenerate {sec.label}", lambda ctx: ops.regenerate(
            ctx, song, tensors, names, sec.id, tr, seed, overrides, from_bar, self.structure_model, opts), progress, on_done)

    def render(self, section=None, tracks: Sequence[str] | None = None, stale_only: bool = False,
               options: DiffusionOptions | None = None, progress: ProgressCallback | None = None,
               on_done: Callable[[Job], None] | None = None) -> Job:
        """A job rendering (diffusion) the song, a section, some tracks, or only the stale clips, as takes."""
        sec = find_section(self.song, section).id if section is not None else None
        tids = [find_track(self.song, t).id for t in tracks] if tracks else None
        song, tensors, names = self._snapshot()
        return self.start("render", "Render", lambda ctx: ops.render(
            ctx, song, tensors, names, sec, tids, stale_only, options or self.diffusion), progress, on_done)

    def vary(self, section, step: int, seed: int | None = None, tracks: Sequence[str] | None = None,
             variation: float = 1.0, take: str | None = None, options: DiffusionOptions | None = None,
             progress: ProgressCallback | None = None, guidance: float | None = None,
             on_done: Callable[[Job], None] | None = None) -> Job:
        """A job varying the section's render from recorded sampler ``step`` with noise ``seed``: ``variation``
        is the share of the remaining noise that is new, ``guidance`` (None: the take's) the guidance of the
        remaining steps; the section's style is its overrides (``edit``) as the render reads them."""
        sec = find_section(self.song, section).id
        tids = [find_track(self.song, t).id for t in tracks] if tracks else None
        take_id = find_take(self.song, take).id if take else None
        song, tensors, names = self._snapshot()
        return self.start("vary", "Vary", lambda ctx: ops.vary(
            ctx, song, tensors, names, sec, step, seed, tids, variation, take_id, options or self.diffusion, guidance),
            progress, on_done)

    def export(self, progress: ProgressCallback | None = None, rendered=None,
               on_done: Callable[[Job], None] | None = None, **kwargs) -> Job:
        """A job exporting MIDI / mix / stems (``engine.export.export_project`` arguments). The project's
        current diffusion stems are used when every track has one; nothing in the project changes."""
        from .export import export_project

        song, tensors, _ = self._snapshot()
        audio = dict(self.audio)
        return self.start("export", "Export", lambda ctx: export_project(ctx, song, tensors, audio, rendered=rendered,
                                                                         diffusion=self.diffusion, **kwargs), progress,
                          on_done)

    # --- takes -----------------------------------------------------------------------------------
    def takes(self, section=None, track=None) -> list[TakeInfo]:
        """The takes of ``section`` and/or ``track`` (all when None), oldest first, with what made them."""
        from .render_takes import current_take, is_render_take

        song = self.song
        sec = find_section(song, section) if section is not None else None
        tr = find_track(song, track) if track is not None else None
        active = set(song.active_takes.values())
        out = []
        for t in song.takes:
            if sec is not None and t.section_id != sec.id:
                continue
            if tr is not None and t.track_id not in (tr.id, None):
                continue
            render = is_render_take(t)
            s = song.section(t.section_id)
            if render:
                cur = current_take(song, s, t.track_id)
                plays = cur is not None and cur.id == t.id
            else:
                plays = t.id in active
            keep = {k: t.params[k] for k in ("steps", "strength", "variation", "from_step", "parent", "guidance",
                                             "from_bar", "overrides", "models", "structure_model") if k in t.params}
            out.append(TakeInfo(t.id, s.label, song.track(t.track_id).name if t.track_id else "all",
                                "render" if render else "structure", t.params.get("op", "generate"), t.seed, t.created,
                                plays, bool(t.params.get("kept")), keep))
        return out

    def use_take(self, take_id: str) -> ChangeInfo:
        """Make a take the one that plays: a structure take's notes replace the section's; a render take
        becomes the section's render (its notes come back if they were edited since). The track's stem is
        taken from the cache, or decoded from the takes' latents (no sampling)."""
        from .render_takes import chosen_key, is_render_take

        take = find_take(self.song, take_id)
        info = ChangeInfo(f"Use take {take.id}", "takes", frozenset({take.section_id}),
                          frozenset(take.notes), frozenset({take.id}))

        def switch(song: Song) -> None:
            from .partial_decode import takes_by_section

            before = {tid: takes_by_section(song, tid) for tid in take.notes}  # what the cached stems were made of
            if is_render_take(take):
                song.active_takes[chosen_key(take.section_id, take.track_id)] = take.id
                start, end = song.section_ticks(song.section(take.section_id))
                if song.track(take.track_id).notes_in(start, end) != take.notes[take.track_id]:
                    song.replace_notes(take.track_id, start, end, take.notes[take.track_id])
            else:
                song.activate_take(take.id)
            self._refresh_stems(song, list(take.notes), before)

        return self._change(info, switch)

    def _refresh_stems(self, song: Song, track_ids: Iterable[str], before: dict | None = None) -> None:
        """Put the current stem of each track into the audio cache: from the cache, this session's memo of
        earlier stems, or decoded from the takes when every section has one (else the track has none); with
        ``before`` (``partial_decode.takes_by_section`` of the song the held stems were made from), only the
        sections whose take changed are decoded and spliced into the held stem."""
        from .jobs import CancelToken

        held = {**self._stem_memo, **self.audio}
        for tid in track_ids:
            name = stem_name(song, tid)
            for n in [n for n in self.audio if n.split(".", 1)[0] == tid and n != name]:
                self._stem_memo[n] = self.audio.pop(n)
            if name is None or name in self.audio:
                continue
            if name in self._stem_memo:
                self.audio[name] = self._stem_memo[name]
                continue
            stems, _ = ops.decode_current(JobContext(CancelToken(), device=self.device), song, self.tensors, [tid],
                                          held, self.diffusion, before)
            self.audio.update(stems)
        while len(self._stem_memo) > 32:
            self._stem_memo.pop(next(iter(self._stem_memo)))

    def delete_take(self, take_id: str) -> ChangeInfo:
        """Delete a take and its tensors (undo brings both back). The notes of the section stay as they are."""
        take = find_take(self.song, take_id)

        def delete(song: Song) -> None:
            song.delete_take(take.id)
            for name in take.tensors:
                self.tensors.pop(name, None)
            self._refresh_stems(song, [take.track_id] if take.track_id else [t.id for t in song.tracks])

        return self._change(ChangeInfo(f"Delete take {take.id}", "takes", frozenset({take.section_id}),
                                       frozenset(), frozenset({take.id})), delete)

    def keep_take(self, take_id: str, keep: bool = True) -> ChangeInfo:
        """Mark a take as kept (a favourite that clean-ups leave alone), or unmark it."""
        take = find_take(self.song, take_id)

        def mark(song: Song) -> None:
            t = song.take(take.id)
            t.params = {**t.params, "kept": bool(keep)}
            song.notify("takes", t)

        return self._change(ChangeInfo(("Keep" if keep else "Unkeep") + f" take {take.id}", "takes",
                                       frozenset({take.section_id}), frozenset(), frozenset({take.id})), mark)

    # --- document edits (each one undoable change) -----------------------------------------------------
    def edit(self, label: str, mutate: Callable[[Song], Any], sections: Iterable[str] = (),
             tracks: Iterable[str] = ()) -> Any:
        """Any edit of the song as one undoable change (the named edits below use this)."""
        return self._change(ChangeInfo(label, "edit", frozenset(sections), frozenset(tracks)), mutate)

    def edit_notes(self, track, remove: Iterable[Note] = (), add: Iterable[Note] = (), label: str = "Edit notes") -> None:
        """Remove and add notes of one track (a move or resize is a remove plus an add)."""
        tr = find_track(self.song, track)
        remove, add = list(remove), list(add)

        def change(song: Song) -> None:
            song.remove_notes(tr.id, remove)
            song.add_notes(tr.id, add)

        self.edit(label, change, tracks={tr.id})

    def update_track(self, track, **changes: Any) -> None:
        """Name, role, program, gain_db, pan, mute, solo of a track."""
        tr = find_track(self.song, track)
        self.edit(f"Change {tr.name}", lambda song: song.update_track(tr.id, **changes), tracks={tr.id})

    def add_track(self, name: str, role: str = "melody", program: int = 0, is_drum: bool = False) -> Track:
        track = Track(name, role, program, is_drum)
        return self.edit(f"Add track {name}", lambda song: song.add_track(track), tracks={track.id})

    def remove_track(self, track) -> None:
        tr = find_track(self.song, track)
        self.edit(f"Delete track {tr.name}", lambda song: song.remove_track(tr.id), tracks={tr.id})

    def rename_section(self, section, label: str) -> None:
        sec = find_section(self.song, section)

        def rename(song: Song) -> None:
            song.section(sec.id).label = label
            song.notify("sections", song.sections)

        self.edit(f"Rename {sec.label} to {label}", rename, sections={sec.id})

    def add_section(self, label: str, start_bar: int, length_bars: int, index: int | None = None) -> Section:
        section = Section(label, start_bar, length_bars)
        return self.edit(f"Add section {label}", lambda song: song.add_section(section, index), sections={section.id})

    def remove_section(self, section) -> None:
        sec = find_section(self.song, section)
        self.edit(f"Delete section {sec.label}", lambda song: song.remove_section(sec.id), sections={sec.id})

    def set_title(self, title: str) -> None:
        def retitle(song: Song) -> None:
            song.title = title
            song.notify("meta", song)

        self.edit("Change title", retitle)

    def set_key(self, key: Key | str) -> None:
        key = Key.parse(key) if isinstance(key, str) else key
        self.edit(f"Key {key.name}", lambda song: song.set_key(key))

    def set_tempo(self, bpm: float) -> None:
        from ..song.timing import TempoMap

        self.edit(f"Tempo {bpm:g} BPM", lambda song: song.set_tempo_map(TempoMap(bpm=float(bpm))))

    def set_plan_field(self, name: str, value: Any) -> None:
        """One field of the song's plan (genre, mood, energy, ...): what the next regeneration follows."""
        def change(song: Song) -> None:
            song.plan = {**song.plan, name: value}
            song.notify("meta", song)

        self.edit(f"Plan: {name}", change)

    # --- undo ------------------------------------------------------------------------------------
    def undo(self) -> ChangeInfo | None:
        if not self.history.can_undo():
            return None
        change = self.history.undo(self.doc)
        info = ChangeInfo(change.info.label, change.info.kind, change.info.sections, change.info.tracks,
                          change.info.takes, change.info.document, undo=True)
        self._notify(info)
        return info

    def redo(self) -> ChangeInfo | None:
        if not self.history.can_redo():
            return None
        change = self.history.redo(self.doc)
        self._notify(change.info)
        return change.info
