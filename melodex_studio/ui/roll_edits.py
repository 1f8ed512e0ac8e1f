"""The piano roll's note edits as plain functions: the snap grid of the meter map and what a move, resize,
quantise, transpose or velocity change makes of a list of notes. Qt-free; the canvas turns gestures into these
and hands (removed, added) to ``session.edit_notes`` as one change.

Units: ticks (``song.ppq`` per quarter note); pitches 0..127.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..song import Note, Song

SNAPS = ("bar", "beat", "1/8", "1/16", "1/8T", "1/16T", "off")
SNAP_LABELS = ("Bar", "Beat", "1/8", "1/16", "1/8 triplet", "1/16 triplet", "Off")


def snap_step(song: Song, snap: str, bar: int) -> int:
    """Grid step in ticks at ``bar`` for ``snap`` ('bar': the bar's length, 'beat': the meter's beat, '1/8T':
    an eighth-note triplet, 'off': one tick)."""
    ppq = song.ppq
    if snap == "bar":
        return song.bar_to_tick(bar + 1) - song.bar_to_tick(bar)
    if snap == "beat":
        return ppq * 4 // song.meter_map.meter_at_bar(bar).denominator
    return {"1/8": ppq // 2, "1/16": ppq // 4, "1/8T": ppq // 3, "1/16T": ppq // 6}.get(snap, 1)


def step_at(song: Song, snap: str, tick: float) -> int:
    return snap_step(song, snap, song.meter_map.tick_to_bar(max(0, int(tick)))[0])


def snap_floor(song: Song, snap: str, tick: float) -> int:
    """The grid line at or before ``tick`` (counted from the start of its bar)."""
    tick = max(0, int(tick))
    bar, off = song.meter_map.tick_to_bar(tick)
    st = snap_step(song, snap, bar)
    return song.bar_to_tick(bar) + (off // st) * st


def snap_round(song: Song, snap: str, tick: float) -> int:
    """The grid line nearest to ``tick`` (a bar line when that is nearer than the bar's last step)."""
    tick = max(0, round(tick))
    bar, off = song.meter_map.tick_to_bar(tick)
    st = snap_step(song, snap, bar)
    start, end = song.bar_to_tick(bar), song.bar_to_tick(bar + 1)
    return min(end, start + round(off / st) * st)


def moved(notes: Sequence[Note], dt: int, dpitch: int = 0, lo_tick: int = 0, hi_tick: int | None = None,
          rows: Sequence[int] | None = None) -> list[Note]:
    """``notes`` moved by ``dt`` ticks and ``dpitch`` semitones (or, with drum ``rows`` = the grid's pitches top to
    bottom, by ``-dpitch`` rows), both clamped so that every start stays in [lo_tick, hi_tick) and every pitch in
    0..127 (or on the grid); the shape of the group is kept."""
    if not notes:
        return []
    first, last = min(n.start_tick for n in notes), max(n.start_tick for n in notes)
    dt = max(dt, lo_tick - first)
    if hi_tick is not None:
        dt = min(dt, hi_tick - 1 - last)
    if rows is not None:
        index = {p: i for i, p in enumerate(rows)}
        at = [index.get(n.pitch) for n in notes]
        known = [i for i in at if i is not None]
        drow = -dpitch
        if known:
            drow = max(-min(known), min(len(rows) - 1 - max(known), drow))
        return [replace(n, start_tick=n.start_tick + dt,
                        pitch=rows[i + drow] if i is not None else n.pitch) for n, i in zip(notes, at)]
    lo, hi = min(n.pitch for n in notes), max(n.pitch for n in notes)
    dpitch = max(-lo, min(127 - hi, dpitch))
    return [replace(n, start_tick=n.start_tick + dt, pitch=n.pitch + dpitch) for n in notes]


def resized(notes: Sequence[Note], dlen: int, min_len: int, max_end: int | None = None) -> list[Note]:
    """``notes`` lengthened by ``dlen`` ticks (shortened when negative), each at least ``min_len`` long and, when
    ``max_end`` is given, ending no later than ``max_end`` or its old end, whichever is later."""
    out = []
    for n in notes:
        d = max(min_len, n.duration_ticks + dlen)
        if max_end is not None:
            d = min(d, max(max_end, n.end_tick) - n.start_tick)
        out.append(replace(n, duration_ticks=max(1, d)))
    return out


def quantised(song: Song, snap: str, notes: Sequence[Note], lengths: bool = False, lo_tick: int = 0,
              hi_tick: int | None = None) -> list[Note]:
    """``notes`` with their starts on the nearest grid line (kept in [lo_tick, hi_tick)); ``lengths``: their ends
    too (at least one grid step long)."""
    out = []
    for n in notes:
        start = max(lo_tick, snap_round(song, snap, n.start_tick))
        if hi_tick is not None and start >= hi_tick:
            start = snap_floor(song, snap, hi_tick - 1)
        dur = n.duration_ticks
        if lengths:
            dur = max(step_at(song, snap, start), snap_round(song, snap, start + dur) - start)
        out.append(replace(n, start_tick=start, duration_ticks=dur))
    return out


def with_velocity(notes: Sequence[Note], velocity: int) -> list[Note]:
    v = max(1, min(127, int(velocity)))
    return [replace(n, velocity=v) for n in notes]


def duplicated(song: Song, snap: str, notes: Sequence[Note], hi_tick: int | None = None) -> list[Note]:
    """Copies of ``notes`` right after them: shifted by their span rounded up to the grid step (a bar's worth
    when snapping to bars), dropping copies that would start at or after ``hi_tick``."""
    if not notes:
        return []
    first = min(n.start_tick for n in notes)
    end = max(n.end_tick for n in notes)
    st = step_at(song, snap, first)
    span = max(st, -(-(end - first) // st) * st)
    out = [replace(n, start_tick=n.start_tick + span) for n in notes]
    return [n for n in out if hi_tick is None or n.start_tick < hi_tick]
