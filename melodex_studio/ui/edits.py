"""Arrangement edits the session has no named method for yet, built on ``session.edit`` (one undoable change).

Resizing a section moves everything after it (later sections, notes, chords, takes, tempo and meter
changes) by the bars added or removed, and drops the notes that fall off a shortened section. This is
document logic that belongs in ``engine/session.py`` (``resize_section``); it lives here until it moves.
"""
from __future__ import annotations

from dataclasses import replace

from ..engine.session import ProjectSession
from ..song import Song
from ..song.timing import MeterChange, MeterMap, TempoChange, TempoMap


def _shift_notes(notes, old_end: int, new_end: int) -> list:
    """Notes starting at or after ``old_end`` move by ``new_end - old_end`` ticks; when the span shrinks, notes
    starting in [new_end, old_end) are dropped and notes crossing ``new_end`` are cut there."""
    delta = new_end - old_end
    out = []
    for n in notes:
        if n.start_tick >= old_end:
            out.append(replace(n, start_tick=n.start_tick + delta))
        elif delta < 0 and n.start_tick >= new_end:
            continue
        elif delta < 0 and n.end_tick > new_end:
            out.append(replace(n, duration_ticks=max(1, new_end - n.start_tick)))
        else:
            out.append(n)
    return sorted(out)


def resize_section_in(song: Song, section_id: str, bars: int) -> None:
    """Make the section ``bars`` long, moving what follows it (see module docstring)."""
    s = song.section(section_id)
    old_end_bar = s.end_bar
    delta_bars = bars - s.length_bars
    if delta_bars == 0:
        return
    old_end = song.bar_to_tick(old_end_bar)
    ticks_per_bar = song.meter_map.meter_at_bar(max(0, old_end_bar - 1)).ticks_per_bar
    new_end = old_end + delta_bars * ticks_per_bar
    for t in song.tracks:
        t.notes = _shift_notes(t.notes, old_end, new_end)
    for take in song.takes:
        take.notes = {k: _shift_notes(v, old_end, new_end) for k, v in take.notes.items()}
    delta = new_end - old_end
    chords = []
    for c in song.chords:
        end = c.start_tick + c.duration_ticks
        if c.start_tick >= old_end:
            chords.append(replace(c, start_tick=c.start_tick + delta))
        elif delta < 0 and c.start_tick >= new_end:
            continue
        elif delta < 0 and end > new_end:
            chords.append(replace(c, duration_ticks=new_end - c.start_tick))
        else:
            chords.append(c)
    song.chords = chords
    for other in song.sections:
        if other.id != s.id and other.start_bar >= old_end_bar:
            other.start_bar += delta_bars
    s.length_bars = bars
    song.meter_map = MeterMap([MeterChange(m.bar + delta_bars if m.bar >= old_end_bar else m.bar, m.numerator,
                                           m.denominator) for m in song.meter_map.changes])
    song.tempo_map = TempoMap([TempoChange(c.tick + delta if c.tick >= old_end else c.tick, c.bpm)
                               for c in song.tempo_map.changes if c.tick == 0 or not (new_end <= c.tick < old_end)])
    song.notify("reset", song)


def resize_section(session: ProjectSession, index: int, bars: int) -> None:
    """Resize section ``index`` to ``bars`` bars as one undoable change named 'Resize Verse to 6 bars'."""
    sec = session.song.sections[index]
    bars = max(1, int(bars))
    session.edit(f"Resize {sec.label} to {bars} bars", lambda song: resize_section_in(song, sec.id, bars),
                 sections={sec.id})
