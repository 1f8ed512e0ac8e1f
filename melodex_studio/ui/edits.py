"""Arrangement edits the session has no named method for yet, built on ``session.edit`` (one undoable change).

Deleting several sections, duplicating several and clearing several clips are one change each (the
timeline's multi-selection). Resizing, inserting or duplicating a section moves everything after it (later sections, notes, chords, takes,
tempo and meter changes) by the bars added or removed, and drops the notes that fall off a shortened section.
This is document logic that belongs in ``engine/session.py`` (``resize_section``, ``insert_section``,
``duplicate_section``); it lives here until it moves.
"""
from __future__ import annotations

from dataclasses import replace

from ..engine.session import ProjectSession
from ..song import Section, Song
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


def _move_from(song: Song, at_bar: int, delta_bars: int, keep: str | None = None) -> None:
    """Move everything from bar ``at_bar`` on by ``delta_bars`` (negative: the bars before ``at_bar`` are removed,
    with the notes and chords in them): notes, take notes, chords, sections other than ``keep``, meter and tempo
    changes. Bar lengths come from the meter at ``at_bar - 1``."""
    old_end = song.bar_to_tick(at_bar)
    new_end = old_end + delta_bars * song.meter_map.meter_at_bar(max(0, at_bar - 1)).ticks_per_bar
    delta = new_end - old_end
    for t in song.tracks:
        t.notes = _shift_notes(t.notes, old_end, new_end)
    for take in song.takes:
        take.notes = {k: _shift_notes(v, old_end, new_end) for k, v in take.notes.items()}
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
        if other.id != keep and other.start_bar >= at_bar:
            other.start_bar += delta_bars
    song.meter_map = MeterMap([MeterChange(m.bar + delta_bars if m.bar >= at_bar else m.bar, m.numerator,
                                           m.denominator) for m in song.meter_map.changes])
    song.tempo_map = TempoMap([TempoChange(c.tick + delta if c.tick >= old_end else c.tick, c.bpm)
                               for c in song.tempo_map.changes if c.tick == 0 or not (new_end <= c.tick < old_end)])


def resize_section_in(song: Song, section_id: str, bars: int) -> None:
    """Make the section ``bars`` long, moving what follows it (see module docstring)."""
    s = song.section(section_id)
    if bars == s.length_bars:
        return
    _move_from(song, s.end_bar, bars - s.length_bars, keep=s.id)
    s.length_bars = bars
    song.notify("reset", song)


def insert_section_in(song: Song, index: int, label: str, bars: int, copy_of: str | None = None) -> Section:
    """A new section of ``bars`` bars at position ``index`` of ``song.sections`` (it starts where the section
    now at ``index`` starts, or after the last one); what follows moves. ``copy_of``: a section id whose notes
    and chords are copied into the new one (a duplicate)."""
    ordered = song.sections
    at_bar = ordered[index].start_bar if index < len(ordered) else song.length_bars
    source = song.section(copy_of) if copy_of else None
    src_start = song.bar_to_tick(source.start_bar) if source else 0
    src_end = song.bar_to_tick(source.end_bar) if source else 0
    copied = {t.id: [n for n in t.notes if src_start <= n.start_tick < src_end] for t in song.tracks} if source else {}
    chords = [c for c in song.chords if src_start <= c.start_tick < src_end] if source else []
    _move_from(song, at_bar, bars)
    if source is not None and source.start_bar >= at_bar:  # the source moved too
        src_start += song.bar_to_tick(at_bar + bars) - song.bar_to_tick(at_bar)
    offset = song.bar_to_tick(at_bar) - src_start
    for tid, notes in copied.items():
        track = song.track(tid)
        track.notes = sorted(track.notes + [replace(n, start_tick=n.start_tick + offset) for n in notes])
    if chords:
        song.chords = sorted(song.chords + [replace(c, start_tick=c.start_tick + offset) for c in chords],
                             key=lambda c: c.start_tick)
    section = Section(label, at_bar, bars, overrides=dict(source.overrides) if source else {})
    song.sections.insert(index, section)
    song.notify("reset", song)
    return section


def resize_section(session: ProjectSession, index: int, bars: int) -> None:
    """Resize section ``index`` to ``bars`` bars as one undoable change named 'Resize Verse to 6 bars'."""
    sec = session.song.sections[index]
    bars = max(1, int(bars))
    session.edit(f"Resize {sec.label} to {bars} bars", lambda song: resize_section_in(song, sec.id, bars),
                 sections={sec.id})


def insert_section(session: ProjectSession, index: int, label: str, bars: int) -> None:
    """An empty section inserted at ``index`` (one undoable change 'Insert Bridge')."""
    session.edit(f"Insert {label}", lambda song: insert_section_in(song, index, label, max(1, int(bars))))


def duplicate_section(session: ProjectSession, index: int) -> None:
    """A copy of section ``index`` (notes and chords) right after it (one undoable change 'Duplicate Chorus')."""
    sec = session.song.sections[index]
    session.edit(f"Duplicate {sec.label}", lambda song: insert_section_in(song, index + 1, sec.label, sec.length_bars,
                                                                         copy_of=sec.id))


def move_section_in(song: Song, section_id: str, to_index: int) -> None:
    """Move a section (its notes, chords and takes) to position ``to_index`` of the section order (counted
    before the move: ``to_index`` = the index of the section it will precede, ``len(sections)`` = the end).
    The sections in between close the gap or make room. Tempo and meter changes stay where they are."""
    s = song.section(section_id)
    i = song.sections.index(s)
    if to_index in (i, i + 1):
        return
    a, b = song.section_ticks(s)
    length = s.length_bars
    notes = {t.id: [n for n in t.notes if a <= n.start_tick < b] for t in song.tracks}
    chords = [c for c in song.chords if a <= c.start_tick < b]
    own = {tk.id: tk.notes for tk in song.takes if tk.section_id == s.id}
    _move_from(song, s.end_bar, -length, keep=s.id)  # closes the gap; drops what was in it
    others = [x for x in song.sections if x.id != s.id]
    j = to_index if to_index < i else to_index - 1
    at_bar = others[j].start_bar if j < len(others) else max((x.end_bar for x in others), default=0)
    _move_from(song, at_bar, length, keep=s.id)
    s.start_bar = at_bar
    offset = song.bar_to_tick(at_bar) - a
    for tid, ns in notes.items():
        track = song.track(tid)
        track.notes = sorted(track.notes + [replace(n, start_tick=n.start_tick + offset) for n in ns])
    song.chords = sorted(song.chords + [replace(c, start_tick=c.start_tick + offset) for c in chords],
                         key=lambda c: c.start_tick)
    for tk in song.takes:
        if tk.id in own:
            tk.notes = {k: [replace(n, start_tick=n.start_tick + offset) for n in v] for k, v in own[tk.id].items()}
    song.sections.remove(s)
    song.sections.insert(j, s)
    song.notify("reset", song)


def move_section(session: ProjectSession, index: int, to_index: int) -> None:
    """Move section ``index`` before section ``to_index`` (or to the end) as one undoable change 'Move Verse'."""
    sec = session.song.sections[index]
    session.edit(f"Move {sec.label}", lambda song: move_section_in(song, sec.id, to_index), sections={sec.id})


def delete_sections(session: ProjectSession, indices: list[int]) -> None:
    """Delete the sections at ``indices`` (their notes stay) as one undoable change 'Delete 2 sections'."""
    secs = [session.song.sections[i] for i in sorted(set(indices))]
    if not secs:
        return
    label = f"Delete {secs[0].label}" if len(secs) == 1 else f"Delete {len(secs)} sections"

    def delete(song: Song) -> None:
        for s in secs:
            song.remove_section(s.id)

    session.edit(label, delete, sections={s.id for s in secs})


def duplicate_sections(session: ProjectSession, indices: list[int]) -> list[int]:
    """A copy of each section at ``indices`` right after it, as one undoable change; returns the copies' indexes."""
    order = sorted(set(indices))
    if not order:
        return []
    secs = [session.song.sections[i] for i in order]
    label = f"Duplicate {secs[0].label}" if len(secs) == 1 else f"Duplicate {len(secs)} sections"

    def duplicate(song: Song) -> None:
        for i, s in sorted(zip(order, secs), key=lambda x: -x[0]):  # from the end: earlier indexes stay valid
            insert_section_in(song, i + 1, s.label, s.length_bars, copy_of=s.id)

    session.edit(label, duplicate, sections={s.id for s in secs})
    return [i + 1 + k for k, i in enumerate(order)]


def clear_clips(session: ProjectSession, clips: list[tuple[int, int]]) -> None:
    """Remove the notes of each (section, track) clip as one undoable change 'Clear 2 clips'."""
    song = session.song
    spans = [(song.tracks[t].id, *song.section_ticks(song.sections[s])) for s, t in sorted(set(clips))]
    if not spans:
        return

    def clear(song: Song) -> None:
        for tid, a, b in spans:
            song.replace_notes(tid, a, b, [])

    session.edit("Clear clip" if len(spans) == 1 else f"Clear {len(spans)} clips", clear,
                 sections={song.sections[s].id for s, _ in clips}, tracks={tid for tid, _, _ in spans})
