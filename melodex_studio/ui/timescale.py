"""Musical time on screen: ticks <-> pixels at a zoom, bar and beat grids from the meter map, chord symbols.

Units: ticks (``song.timing.PPQ`` per quarter note), bars (0-based), pixels (device-independent).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..song import Song
from ..song.model import PITCH_NAMES_FLAT, PITCH_NAMES_SHARP, Chord
from ..song.timing import PPQ

MIN_PX_PER_QUARTER = 1.5
MAX_PX_PER_QUARTER = 240.0
_FLAT_KEYS = {5, 10, 3, 8, 1, 6}  # F Bb Eb Ab Db Gb major (tonic pitch classes) spell with flats

_QUALITY = {"maj": "", "min": "m", "m": "m", "7": "7", "maj7": "maj7", "min7": "m7", "m7": "m7", "dim": "°",
            "dim7": "°7", "hdim7": "ø7", "m7b5": "ø7", "aug": "+", "sus2": "sus2", "sus4": "sus4", "6": "6",
            "min6": "m6", "9": "9", "add9": "add9", "maj9": "maj9", "min9": "m9", "5": "5"}


@dataclass
class TimeScale:
    """Horizontal zoom: ``px_per_quarter`` pixels per quarter note, clamped to a useful range."""

    px_per_quarter: float = 22.0

    def set_zoom(self, px_per_quarter: float) -> None:
        self.px_per_quarter = max(MIN_PX_PER_QUARTER, min(MAX_PX_PER_QUARTER, float(px_per_quarter)))

    def x(self, tick: float) -> float:
        """Pixels from the song start to ``tick``."""
        return tick * self.px_per_quarter / PPQ

    def tick(self, x: float) -> float:
        """Tick at ``x`` pixels from the song start (not snapped)."""
        return x * PPQ / self.px_per_quarter


def beat_ticks(song: Song, bar: int) -> int:
    """Ticks per beat (the meter's denominator note) in ``bar``."""
    return PPQ * 4 // song.meter_map.meter_at_bar(bar).denominator


def bar_at_tick(song: Song, tick: float) -> int:
    """The 0-based bar containing ``tick`` (ticks before 0 are bar 0)."""
    return song.meter_map.tick_to_bar(max(0, int(tick)))[0]


def nearest_bar(song: Song, tick: float) -> int:
    """The bar line nearest to ``tick`` (for drags that snap to bars)."""
    bar, off = song.meter_map.tick_to_bar(max(0, int(tick)))
    length = song.bar_to_tick(bar + 1) - song.bar_to_tick(bar)
    return bar + (1 if off * 2 >= length else 0)


def label_step(px_per_bar: float, min_px: float = 34.0) -> int:
    """Label every Nth bar (1, 2, 4, 8 ...) so that labels are at least ``min_px`` apart."""
    step = 1
    while step * px_per_bar < min_px and step < 4096:
        step *= 2
    return step


def chord_symbol(chord: Chord, key_tonic: int = 0, key_mode: str = "major") -> str:
    """'Am7', 'F', 'C/E', 'Bb' (flats in flat keys)."""
    flats = (key_tonic if key_mode == "major" else (key_tonic + 3) % 12) in _FLAT_KEYS
    names = PITCH_NAMES_FLAT if flats else PITCH_NAMES_SHARP
    text = names[chord.root % 12] + _QUALITY.get(chord.quality, chord.quality)
    if chord.bass is not None and chord.bass % 12 != chord.root % 12:
        text += "/" + names[chord.bass % 12]
    return text


def notes_between(starts: list[int], start_tick: int, end_tick: int) -> tuple[int, int]:
    """Index range [i, j) of the sorted note ``starts`` that lie in [start_tick, end_tick)."""
    return bisect.bisect_left(starts, start_tick), bisect.bisect_left(starts, end_tick)


def clip_take_name(song: Song, section_id: str, track_id: str) -> str:
    """'take 3' when a generated take of the section plays on this track, else ''."""
    take_id = song.active_takes.get(f"{section_id}/{track_id}") or song.active_takes.get(f"{section_id}/*")
    if not take_id:
        return ""
    ids = [t.id for t in song.takes if t.section_id == section_id and t.track_id in (None, track_id)
           and t.params.get("kind") != "diffusion_render"]
    return f"take {ids.index(take_id) + 1}" if take_id in ids else ""
