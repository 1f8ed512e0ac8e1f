"""Stale clips: a clip whose notes changed since its diffusion render, and only clips that had one."""
from __future__ import annotations

from melodex_studio.engine.render_takes import RENDER_KIND
from melodex_studio.engine.staleness import is_stale, render_request, stale_clips
from melodex_studio.song import Note, Section, Song, Take, Track


def song_with_renders() -> tuple[Song, list[Section], list[Track]]:
    """Two sections, three tracks; every clip of the first two tracks has a render take of its notes now."""
    song = Song()
    secs = [song.add_section(Section("verse", 0, 1)), song.add_section(Section("chorus", 1, 1))]
    tracks = [song.add_track(Track(name)) for name in ("piano", "bass", "lead")]
    for tr in tracks:
        song.add_notes(tr.id, [Note(0, 60, 240), Note(1920, 62, 240)])
    for sec in secs:
        a, b = song.section_ticks(sec)
        for tr in tracks[:2]:
            song.add_take(Take(sec.id, tr.id, {tr.id: tr.notes_in(a, b)}, params={"kind": RENDER_KIND}),
                          activate=False)
    return song, secs, tracks


def test_an_edit_makes_only_its_rendered_clip_stale_and_undoing_it_fresh_again():
    song, (verse, chorus), (piano, _, lead) = song_with_renders()
    assert stale_clips(song) == set()
    song.add_notes(piano.id, [Note(2400, 67, 120)])  # in the chorus
    song.add_notes(lead.id, [Note(2400, 67, 120)])  # never rendered: not stale
    assert stale_clips(song) == {(chorus.id, piano.id)}
    assert is_stale(song, chorus, piano.id) and not is_stale(song, verse, piano.id)
    assert not is_stale(song, chorus.id, lead.id)
    song.remove_notes(piano.id, [Note(2400, 67, 120)])
    assert stale_clips(song) == set()


def test_render_request_names_one_section_when_it_can():
    song, (verse, chorus), (piano, bass, _) = song_with_renders()
    assert render_request(song, {(chorus.id, bass.id), (chorus.id, piano.id)}) == (chorus.id, [piano.id, bass.id])
    assert render_request(song, {(verse.id, bass.id), (chorus.id, piano.id)}) == (None, [piano.id, bass.id])
