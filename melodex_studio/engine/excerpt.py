"""One section of a song (or one clip: a section of one track) as a song of its own, starting at bar 1.

What a section's MIDI export and a dragged-out clip write: the notes that start in the section (cut at its
end), the controller lanes, lyrics and chords inside it, all shifted to tick 0; the tempo, meter and key
that hold at the section's first tick, plus the changes inside it. Takes, plan and generation stay behind.
Units: ticks. Qt-free and model-free (no torch, no renderer).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..song import Section, Song
from ..song.model import KeyChange
from ..song.timing import MeterChange, MeterMap, TempoChange, TempoMap


def _cut(start: int, end: int, offset: int):
    """Events starting in [start, end), moved by -offset."""
    return lambda events: [replace(e, start_tick=e.start_tick - offset) for e in events if start <= e.start_tick < end]


def section_song(song: Song, section: Section | str | int, track_ids: Sequence[str] | None = None) -> Song:
    """``section`` (a Section, id, label or index) of ``song`` as a new song whose bar 0 is the section's first
    bar; ``track_ids`` (ids or names): only those tracks (None: all). The source song does not change."""
    sec = section if isinstance(section, Section) else song.section(section)
    a, b = song.section_ticks(sec)
    keep = None if track_ids is None else {song.track(t).id for t in track_ids}
    out = Song(title=f"{song.title} - {sec.label}", key=song.key_at(a), sample_rate=song.sample_rate)
    out.tempo_map = TempoMap([TempoChange(0, song.tempo_map.bpm_at(a))]
                             + [TempoChange(c.tick - a, c.bpm) for c in song.tempo_map.changes if a < c.tick < b])
    first = song.meter_map.meter_at_bar(sec.start_bar)
    out.meter_map = MeterMap([MeterChange(0, first.numerator, first.denominator)]
                             + [MeterChange(m.bar - sec.start_bar, m.numerator, m.denominator)
                                for m in song.meter_map.changes if sec.start_bar < m.bar < sec.end_bar])
    out.key_changes = tuple(KeyChange(k.start_tick - a, k.key) for k in song.key_changes if a < k.start_tick < b)
    moved = _cut(a, b, a)
    for t in song.tracks:
        if keep is not None and t.id not in keep:
            continue
        notes = [replace(n, start_tick=n.start_tick - a, duration_ticks=max(1, min(n.duration_ticks, b - n.start_tick)))
                 for n in t.notes if a <= n.start_tick < b]
        out.tracks.append(replace(t, notes=notes, controls=tuple(moved(t.controls)), lyrics=tuple(moved(t.lyrics))))
    out.chords = [replace(c, start_tick=c.start_tick - a, duration_ticks=max(1, min(c.duration_ticks, b - c.start_tick)))
                  for c in song.chords if a <= c.start_tick < b]
    out.sections = [Section(sec.label, 0, sec.length_bars, overrides=dict(sec.overrides), id=sec.id)]
    return out
