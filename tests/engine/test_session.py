"""ProjectSession: random sequences of real operations (tiny models, real forward passes) against a reference
of the states they must produce; undo, redo, save and reopen; the lock and the on-disk change check."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from melodex_studio.engine.render_takes import current_take, is_render_take
from melodex_studio.errors import JobBusyError, ModelError, NotFoundError, ProjectBusyError
from melodex_studio.song import Note
from tests.engine.session_helpers import make_session, snapshot, tiny_plan, write_tiny_models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return write_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MELODEX_DATA_DIR", str(tmp_path / "data"))


class SessionMachine(RuleBasedStateMachine):
    """The reference: the list of states (Song JSON, tensors, stems) the applied changes produced. Undo must
    give the previous one, redo the next one, a new change truncates the redo part; a saved and reopened copy
    must equal the live session."""

    models: dict = {}
    folder = None
    ran: Counter = Counter()  # operations run over all examples

    @initialize(seed=st.integers(0, 2**20), render=st.booleans())
    def start(self, seed, render):
        self.session = make_session(self.models)
        self.states = [snapshot(self.session)]
        self.index = 0
        self.saves = 0
        self.session.run(self.session.generate(plan=tiny_plan(), seed=seed, render=render))
        self._applied()

    def _applied(self):
        del self.states[self.index + 1:]
        self.states.append(snapshot(self.session))
        self.index += 1

    def _has_song(self):
        return bool(self.session.song.sections)

    @precondition(_has_song)
    @rule(section=st.integers(0, 1), track=st.sampled_from([None, 0, 1]), seed=st.integers(0, 2**31 - 1),
          render=st.booleans())
    def regenerate(self, section, track, seed, render):
        self.ran['regenerate'] += 1
        self.session.run(self.session.regenerate(section, track, seed=seed, render=render))
        self._applied()

    @precondition(_has_song)
    @rule(section=st.sampled_from([None, 0, 1]), stale=st.booleans())
    def render(self, section, stale):
        self.ran['render'] += 1
        p = self.session.run(self.session.render(section, stale_only=stale))
        if p.empty:  # nothing was stale: still one (empty) change in the history
            pass
        self._applied()

    def _renderable(self):
        song = self.session.song
        return bool(song.sections) and all(current_take(song, s, t.id) is not None for s in song.sections for t in song.tracks)

    @precondition(_renderable)
    @rule(section=st.integers(0, 1), step=st.sampled_from([0, 1]), seed=st.integers(0, 2**31 - 1),
          variation=st.sampled_from([1.0, 0.5]))
    def vary(self, section, step, seed, variation):
        self.ran['vary'] += 1
        try:
            self.session.run(self.session.vary(section, step, seed=seed, variation=variation))
        except ModelError as e:  # a step the take did not record: refused, and nothing changed (invariant)
            assert "recorded" in str(e)
            self.ran["vary refused"] += 1
            return
        self._applied()

    @precondition(_has_song)
    @rule(track=st.integers(0, 1), pitch=st.integers(40, 80), start=st.integers(0, 7), remove=st.booleans())
    def edit_notes(self, track, pitch, start, remove):
        self.ran['edit_notes'] += 1
        tr = self.session.song.tracks[track]
        if remove and tr.notes:
            self.session.edit_notes(tr.id, remove=[tr.notes[pitch % len(tr.notes)]])
        else:
            self.session.edit_notes(tr.id, add=[Note(start * 240, pitch, 240, 90)])
        self._applied()

    @precondition(lambda self: bool(self.session.song.takes))
    @rule(pick=st.integers(0, 10**6), action=st.sampled_from(["use", "delete", "keep"]))
    def take(self, pick, action):
        self.ran['take'] += 1
        takes = self.session.song.takes
        take = takes[pick % len(takes)]
        {"use": self.session.use_take, "delete": self.session.delete_take, "keep": self.session.keep_take}[action](take.id)
        self._applied()

    @precondition(_has_song)
    @rule(gain=st.floats(-24, 6), mute=st.booleans())
    def mixer(self, gain, mute):
        self.ran['mixer'] += 1
        self.session.update_track(0, gain_db=round(gain, 2), mute=mute)
        self._applied()

    @precondition(lambda self: self.session.history.can_undo())
    @rule()
    def undo(self):
        self.ran['undo'] += 1
        if self.session.undo() is not None:
            self.index -= 1

    @precondition(lambda self: self.session.history.can_redo())
    @rule()
    def redo(self):
        self.ran['redo'] += 1
        if self.session.redo() is not None:
            self.index += 1

    @precondition(_has_song)
    @rule()
    def save_and_reopen(self):
        self.ran['save_and_reopen'] += 1
        from melodex_studio.engine.session import ProjectSession

        self.saves += 1
        path = self.folder / f"p{random.getrandbits(40)}.melodex"
        self.session.save_as(path)
        other = ProjectSession(autosave=False)
        other.open(path, read_only=True)
        assert snapshot(other) == snapshot(self.session)
        assert not self.session.dirty
        other.close()

    @invariant()
    def matches_the_reference(self):
        if hasattr(self, "session"):
            assert snapshot(self.session) == self.states[self.index]
            assert self.session.history.index == self.index

    def teardown(self):
        if not hasattr(self, "session"):
            return
        while self.session.undo() is not None:
            pass
        assert snapshot(self.session) == self.states[0]  # undo all: the initial state, byte for byte
        self.session.close()


@pytest.mark.slow
def test_random_operation_sequences_match_the_reference(models, tmp_path):
    from hypothesis.stateful import run_state_machine_as_test

    SessionMachine.models, SessionMachine.folder = models, tmp_path
    run_state_machine_as_test(SessionMachine, settings=settings(
        max_examples=100, stateful_step_count=10, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    ran = SessionMachine.ran
    assert min(ran[k] for k in ("regenerate", "render", "vary", "edit_notes", "take", "undo", "redo",
                                "save_and_reopen")) >= 10, ran


def test_undo_restores_song_tensors_and_stems_and_redo_reapplies(models):
    s = make_session(models)
    s.run(s.generate(plan=tiny_plan(), seed=1))
    s.run(s.render())
    before = snapshot(s)
    assert len(s.audio) == 2 and all(is_render_take(t) for t in s.song.takes)
    p = s.run(s.regenerate("chorus", seed=5, render=True))
    after = snapshot(s)
    assert after != before and p.takes[0].id in {t.id for t in s.song.takes}
    assert s.history.undo_label() == "Regenerate chorus"
    s.undo()
    assert snapshot(s) == before
    s.redo()
    assert snapshot(s) == after


def test_one_notification_per_change_naming_what_changed(models):
    s = make_session(models)
    s.run(s.generate(plan=tiny_plan(), seed=2))
    seen = []
    s.subscribe(seen.append)
    piano = s.song.track("piano")
    s.edit_notes("piano", add=[Note(0, 60, 120, 80), Note(120, 62, 120, 80)])
    s.run(s.regenerate("verse", seed=3))
    s.undo()
    assert [(i.label, i.undo) for i in seen] == [("Edit notes", False), ("Regenerate verse", False),
                                                 ("Regenerate verse", True)]
    assert seen[0].tracks == {piano.id} and seen[1].sections == {s.song.section("verse").id}


def test_second_job_is_refused_and_errors_list_the_choices(models):
    s = make_session(models)
    s.run(s.generate(plan=tiny_plan(bars=4), seed=2))
    job = s.render()
    assert s.busy
    with pytest.raises(JobBusyError, match="while .Render. is running"):
        s.regenerate("verse")
    job.wait()
    assert not s.busy
    with pytest.raises(NotFoundError, match=r"no section 'bridge'; the sections are 0: verse, 1: chorus"):
        s.regenerate("bridge")
    with pytest.raises(NotFoundError, match=r"no track 'tuba'; the tracks are 0: piano, 1: drums"):
        s.regenerate(0, track="tuba")


def test_lock_read_only_and_changed_on_disk(models, tmp_path):
    s = make_session(models)
    s.run(s.generate(plan=tiny_plan(), seed=2))
    path = s.save_as(tmp_path / "song.melodex")
    other = make_session(models)
    with pytest.raises(ProjectBusyError, match="open in another window or process"):
        other.open(path)
    other.open(path, read_only=True)
    with pytest.raises(ProjectBusyError, match="open read-only"):
        other.save()
    s.close()
    third = make_session(models)
    third.open(path)  # the lock is free again
    third.set_title("changed by the third")
    third.save()
    third.close()
    s.open(path)  # opened, then changed behind its back
    path.write_bytes(path.read_bytes())  # same bytes, new time: still the same file
    s.set_title("mine")
    s.save()
    third_bytes = path.read_bytes()
    s.close()
    s2 = make_session(models)
    s2.open(path)
    s2.set_title("mine again")
    with open(path, "r+b") as f:  # another program rewrites the file under the open session
        f.seek(0, 2)
        f.write(b"\0")
    with pytest.raises(ProjectBusyError, match="changed on disk by another program"):
        s2.save()
    assert path.read_bytes() == third_bytes + b"\0"  # nothing overwritten


def test_autosave_after_a_job_is_offered_on_open_and_removed_by_a_save(models, tmp_path):
    s = make_session(models, autosave=True)
    s.run(s.generate(plan=tiny_plan(), seed=2))
    path = s.save_as(tmp_path / "a.melodex")
    s.run(s.regenerate("chorus", seed=7))
    from melodex_studio.engine.autosave import autosave_path

    auto = autosave_path(path, s.id)
    assert auto.is_file() and s.dirty
    crashed = snapshot(s)
    s._release()  # the process "dies" without saving: the lock goes, the autosave stays
    again = make_session(models)
    report = again.open(path)
    assert report.autosave == auto
    again.recover(report.autosave)
    assert snapshot(again)[0] == crashed[0] and again.dirty
    again.save()
    assert not auto.exists()


def test_edits_autosave_at_most_once_per_interval(models, tmp_path):
    from melodex_studio.engine.autosave import autosave_path

    s = make_session(models, autosave=True, autosave_interval_s=3600)
    s.run(s.generate(plan=tiny_plan(), seed=2))  # a job: autosaved at once
    auto = autosave_path(None, s.id)
    first = auto.stat().st_mtime_ns
    s.set_title("an edit")  # an edit within the interval: not written again
    assert auto.stat().st_mtime_ns == first
    s._autosave.interval_s = 0
    s.set_title("another edit")
    assert auto.stat().st_mtime_ns > first
    from melodex_studio.io.project import read_project

    assert read_project(auto).song.title == "another edit"
    s.close()
    assert not auto.exists()  # closing (the user's choice) drops the copy



def test_a_background_autosave_writes_the_state_of_its_call_and_a_save_never_leaves_one_behind(models, tmp_path):
    from melodex_studio.engine.autosave import autosave_path
    from melodex_studio.io.project import read_project

    s = make_session(models, autosave=True)
    s.autosave_in_background = True  # as the window does
    s.run(s.generate(plan=tiny_plan(), seed=2))
    path = s.save_as(tmp_path / "b.melodex")
    s.set_title("written")
    auto = s.autosave(force=True)
    assert auto == autosave_path(path, s.id)
    s.set_title("after the call")  # the document moves on while the copy is written
    assert s.wait_for_autosave(30) and s.autosave_error is None
    assert read_project(auto).song.title == "written"
    s.set_title("again")
    s.autosave(force=True)
    s.save()  # waits for the copy being written, then drops it
    assert not auto.exists() and read_project(path).song.title == "again"
    s.close()

def test_vary_with_another_guidance_records_it_and_changes_the_render(models):
    import dataclasses

    s = make_session(models)
    s.diffusion = dataclasses.replace(s.diffusion, steps=8)  # records steps 2, 4, 6; guidance acts mid-run
    s.run(s.generate(plan=tiny_plan(), seed=2, render=True))
    same = s.run(s.vary("verse", 2, seed=5, tracks=["piano"])).takes[0]
    a = s.tensors[f"render/{same.id}/latent"]
    s.undo()
    other = s.run(s.vary("verse", 2, seed=5, tracks=["piano"], guidance=6.0)).takes[0]
    b = s.tensors[f"render/{other.id}/latent"]
    assert other.params["guidance"] == 6.0 and same.params["guidance"] != 6.0
    assert other.params["state"]["settings"]["guidance"] == 6.0  # what the sampler ran with
    assert same.params["state"]["settings"]["guidance"] == s.diffusion.guidance
    assert a.shape == b.shape  # (random tiny weights ignore the conditions, so the latents may be equal)
    s.undo()
    s.redo()
    assert (s.tensors[f"render/{other.id}/latent"] == b).all()


def test_bad_seeds_pipes_and_ill_fitting_takes_are_clear_errors(models, tmp_path):
    import os

    import numpy as np

    from melodex_studio.errors import PromptError, ProjectError

    s = make_session(models)
    with pytest.raises(PromptError, match="out of range"):
        s.run(s.generate(plan=tiny_plan(), seed=2**64))
    fifo = tmp_path / "pipe.melodex"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError, match="not a regular file"):
        s.open(fifo, read_only=True)  # refused at once, no wait for a writer
    s.run(s.generate(plan=tiny_plan(), seed=3, render=True))
    take = s.song.takes[0]
    name = f"render/{take.id}/latent"
    s.tensors[name] = np.zeros((3, s.tensors[name].shape[1] + 1), np.float32)  # a tampered latent
    with pytest.raises(ModelError, match="does not fit this codec"):
        s.run(s.vary(take.section_id, 1, seed=1, tracks=[take.track_id]))


def test_on_done_runs_when_a_job_ends_and_save_as_notifies_with_the_new_name(models, tmp_path):
    import threading

    s = make_session(models)
    ended = threading.Event()
    seen = []
    job = s.generate(plan=tiny_plan(), seed=2, on_done=lambda j: (seen.append(j.status), ended.set()))
    assert ended.wait(60) and seen == ["done"]
    s.apply(job.result)
    names = []
    s.subscribe(lambda info: names.append((info.label, s.path.name if s.path else None)))
    s.save_as(tmp_path / "named.melodex")
    assert names == [("Saved named.melodex", "named.melodex")]
