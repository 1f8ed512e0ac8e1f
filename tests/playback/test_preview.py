"""The stems playback plays (engine.preview): SoundFont previews equal to the export renderer's stems, rendered
again only for changed tracks; a track's current diffusion stem from the audio cache when there is one; one
auditioned note."""
from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np
import pytest

from melodex_studio.engine.preview import (
    PreviewStems,
    _shared_dir,
    pad_stems,
    preview_key,
    render_note,
)
from melodex_studio.engine.proposals import stem_name
from melodex_studio.engine.render_takes import RENDER_KIND
from melodex_studio.engine.rendering import soundfont_renderer
from melodex_studio.song import Note, Section, Song, Take, Track


def _song() -> Song:
    song = Song(title="preview")
    song.add_section(Section("a", 0, 2))
    song.add_section(Section("b", 2, 2))
    song.add_track(Track("piano", "chords", 0, notes=[Note(i * 480, 60 + i % 5, 400, 90) for i in range(16)]))
    song.add_track(Track("bass", "bass", 33, notes=[Note(i * 960, 36, 800, 100) for i in range(8)]))
    song.add_track(Track("drums", "drums", 0, True, notes=[Note(i * 240, 36 + (i % 2) * 2, 100, 110) for i in range(32)]))
    return song


def test_previews_are_the_export_renderers_stems_and_only_changed_tracks_render_again():
    song = _song()
    preview = PreviewStems()  # in the child process
    files_before = set(Path(_shared_dir()).glob("melodex-preview-*.npy"))  # other processes' files
    stems, changed = preview.update(song, {}, song.sample_rate)
    assert changed == {t.id for t in song.tracks} and preview.rendered == 3
    full = soundfont_renderer().render(song).stems
    padded = pad_stems(stems)
    for t in song.tracks:
        assert np.array_equal(padded[t.id], full[t.id]) and not stems[t.id].flags.writeable
        # read into this process's memory, not mapped from the child's file (freeing a mapped tmpfs file's
        # pages fell to whichever thread dropped the array, the GUI thread among them), and the file is gone
        base = stems[t.id]
        while base is not None:
            assert not isinstance(base, (np.memmap, mmap.mmap))
            base = base.base if isinstance(base, np.ndarray) else None
    assert set(Path(_shared_dir()).glob("melodex-preview-*.npy")) <= files_before
    bass = song.tracks[1]
    song.update_track(bass.id, gain_db=-12.0, pan=0.5, mute=True)  # mixer values: no render
    assert preview.update(song, {}, song.sample_rate)[1] == set()
    song.add_notes(bass.id, [Note(100, 40, 200, 90)])
    again, changed = preview.update(song, {}, song.sample_rate)
    assert changed == {bass.id} and preview.rendered == 4
    assert all(again[t.id] is stems[t.id] for t in song.tracks if t.id != bass.id)
    assert np.array_equal(pad_stems(again)[bass.id], soundfont_renderer().render(song).stems[bass.id])


def test_the_key_follows_what_the_preview_depends_on():
    song = _song()
    piano = song.tracks[0]
    key = preview_key(song, piano, 44100)
    assert preview_key(song, piano, 48000) != key
    song.update_track(piano.id, program=5)
    assert preview_key(song, piano, 44100) != key
    song.update_track(piano.id, program=0, gain_db=-3.0)  # no volume lanes: the gain is the mixer's
    assert preview_key(song, piano, 44100) == key


def test_a_current_diffusion_stem_plays_instead_of_the_preview():
    song = _song()
    piano = song.tracks[0]
    for sec in song.sections:
        start, end = song.section_ticks(sec)
        song.add_take(Take(sec.id, piano.id, {piano.id: piano.notes_in(start, end)}, params={"kind": RENDER_KIND}),
                      activate=False)
    name = stem_name(song, piano.id)
    assert name is not None
    stem = np.full((song.tick_to_sample(song.end_tick), 2), 0.125, np.float32)
    preview = PreviewStems(isolate=False)
    stems, _ = preview.update(song, {name: stem}, song.sample_rate)
    assert np.array_equal(stems[piano.id], stem) and preview.rendered == 2  # the other two tracks
    resampled, changed = preview.update(song, {name: stem}, 48000)  # another playback rate: resampled
    assert len(resampled[piano.id]) == pytest.approx(len(stem) * 48000 / 44100, abs=2)
    assert changed == {t.id for t in song.tracks}
    song.add_notes(piano.id, [Note(0, 72, 100, 90)])  # edited since the render: the preview again
    stems, changed = preview.update(song, {name: stem}, 48000)
    assert changed == {piano.id} and not np.allclose(stems[piano.id][:1000], 0.125)


def test_render_note():
    note = render_note(0, 60, 100, False, 44100)
    assert note.shape[1] == 2 and np.abs(note).max() > 0.01 and not note.flags.writeable
    assert render_note(0, 60, 100, False, 44100) is note  # cached
    assert np.abs(render_note(0, 38, 100, True, 48000)).max() > 0.01
    with pytest.raises(ValueError, match="cannot audition"):
        render_note(0, 128, 100)


def test_switching_back_plays_the_stem_kept_from_before_without_rendering():
    song = _song()
    preview = PreviewStems(isolate=False)
    first, _ = preview.update(song, {}, song.sample_rate)
    piano = song.tracks[0]
    old_notes = list(piano.notes)
    song.replace_notes(piano.id, 0, song.end_tick, [Note(0, 50, 960, 90)])  # another take's notes
    preview.update(song, {}, song.sample_rate)
    assert preview.rendered == 4
    song.replace_notes(piano.id, 0, song.end_tick, old_notes)  # back to the first take
    back, changed = preview.update(song, {}, song.sample_rate)
    assert changed == {piano.id} and back[piano.id] is first[piano.id] and preview.rendered == 4


def test_takes_that_do_not_play_are_rendered_ahead_and_play_at_once():
    song = _song()
    sec, piano = song.sections[0], song.tracks[0]
    start = song.section_ticks(sec)[0]
    take = Take(sec.id, piano.id, {piano.id: [Note(start, 67, 480, 90)]})
    song.add_take(take, activate=False)
    preview = PreviewStems(isolate=False)
    preview.update(song, {}, song.sample_rate)
    assert preview.prefetch(song, song.sample_rate) == 1 and preview.rendered == 4
    assert preview.prefetch(song, song.sample_rate) == 0  # already kept
    song.activate_take(take.id)  # what session.use_take does to the notes
    stems, changed = preview.update(song, {}, song.sample_rate)
    assert changed == {piano.id} and preview.rendered == 4  # no render: the kept one plays
    assert np.array_equal(pad_stems(stems)[piano.id], soundfont_renderer().render(song).stems[piano.id])


def test_a_small_note_edit_is_heard_first_from_a_quick_stem_then_from_the_full_render():
    song = _song()
    preview = PreviewStems(isolate=False)
    preview.update(song, {}, song.sample_rate, quick=True)
    piano = song.tracks[0]
    assert preview.provisional == set() and preview.rendered == 3  # nothing to start from: full renders
    song.add_notes(piano.id, [Note(960, 79, 480, 100)])
    quick, changed = preview.update(song, {}, song.sample_rate, quick=True)
    assert changed == {piano.id} and preview.provisional == {piano.id} and preview.quick_rendered == 1
    exact = soundfont_renderer().render(song).stems[piano.id]
    q = np.zeros_like(exact)
    q[:min(len(exact), len(quick[piano.id]))] = quick[piano.id][:len(exact)]
    assert np.abs(q - exact).max() < 0.01 * np.abs(exact).max()  # the voices add up (up to the synth's blocks)
    full, changed = preview.update(song, {}, song.sample_rate)
    assert changed == {piano.id} and preview.provisional == set()
    assert np.array_equal(pad_stems({**full, "x": exact})[piano.id], exact)
    song.update_track(piano.id, program=5)  # not a note edit: no quick stem
    preview.update(song, {}, song.sample_rate, quick=True)
    assert preview.provisional == set() and preview.quick_rendered == 1


def test_a_cancelled_update_keeps_the_stems_the_tracks_had():
    song = _song()
    preview = PreviewStems(isolate=False)
    first, _ = preview.update(song, {}, song.sample_rate)
    song.add_notes(song.tracks[0].id, [Note(960, 79, 480, 100)])
    stems, changed = preview.update(song, {}, song.sample_rate, cancel=lambda: True)
    assert changed == set() and all(stems[k] is first[k] for k in first)


def test_a_take_switch_is_heard_at_once_from_pieces_rendered_ahead_then_exactly(monkeypatch):
    from melodex_studio.engine import preview as preview_module

    monkeypatch.setattr(preview_module, "QUICK_NOTES", 4)  # this small song's switch counts as a big edit
    monkeypatch.setattr(preview_module, "QUICK_SHARE", 0.1)
    song = _song()
    sec, piano = song.sections[1], song.tracks[0]
    start, end = song.section_ticks(sec)
    notes = piano.notes_in(start, end)
    takes = [Take(sec.id, piano.id, {piano.id: [Note(n.start_tick, n.pitch + k, n.duration_ticks, n.velocity)
                                                 for n in notes]}) for k in (2, 4, 5)]
    for take in takes:
        song.add_take(take, activate=False)
    preview = PreviewStems(isolate=False)
    preview.update(song, {}, song.sample_rate, quick=True)
    assert preview.prefetch(song, song.sample_rate, limit=1) == 1  # the newest take's whole preview
    assert preview.pieces_rendered == 4  # the section's notes now, and each take's, rendered alone
    rendered = preview.rendered
    song.activate_take(takes[0].id)  # the oldest: no whole preview kept; all 8 of the section's notes change
    assert 2 * len(notes) > max(4, 0.1 * len(piano.notes))  # too many to render quickly after the switch
    quick, changed = preview.update(song, {}, song.sample_rate, quick=True)
    assert changed == {piano.id} and preview.provisional == {piano.id}
    assert preview.rendered == rendered and preview.pieces_rendered == 4  # nothing rendered: the pieces were there
    exact = soundfont_renderer().render(song).stems[piano.id]
    q = np.zeros_like(exact)
    q[:min(len(exact), len(quick[piano.id]))] = quick[piano.id][:len(exact)]
    assert np.abs(q - exact).max() < 0.01 * np.abs(exact).max()  # the voices add up
    head = song.tempo_map.tick_to_sample(start, song.sample_rate) - 1
    assert np.array_equal(quick[piano.id][:head], exact[:head])  # before the section: the old stem untouched
    full, _ = preview.update(song, {}, song.sample_rate)  # then the exact one
    assert preview.provisional == set() and np.array_equal(pad_stems({**full, "x": exact})[piano.id], exact)


def test_stem_files_of_a_studio_process_that_ended_are_removed(tmp_path):
    import subprocess
    import sys

    from melodex_studio.engine.preview import FILE_PREFIX, remove_stale_files

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(ended.stdout)  # a process that has ended: its id is free (or reused by a live one: kept then)
    left = tmp_path / f"{FILE_PREFIX}{dead}-abc.npy"
    mine = tmp_path / f"{FILE_PREFIX}{os.getpid()}-def.npy"  # this process is alive: its file is in use
    other = tmp_path / "other.npy"
    for p in (left, mine, other):
        np.save(p, np.zeros(4, np.float32))
    removed = remove_stale_files(str(tmp_path))
    assert mine.exists() and other.exists()
    assert removed == [left.name] and not left.exists() or _alive_pid(dead)


def _alive_pid(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
