"""Musical time: ticks, beats, bars, seconds and samples.

All positions in the document are integer ticks at ``PPQ`` ticks per quarter note. The tempo map
and the meter map turn ticks into seconds/samples and bars. Conversions to seconds go through
``fractions.Fraction`` so that a tick position maps to an exact rational second and to an exact
sample index (rounded half to even only once, at the very end).

The cost of a tempo map stays linear in its number of changes: exact sums of many different tempos would grow
denominators without bound (100,000 changes took 19 s and 3.5 GB), so a segment's start time is kept exact while
its denominator stays at most ``TIME_GRID`` (every song with a handful of tempos) and is otherwise rounded to the
nearest 1/``TIME_GRID`` s. A map of n changes is then off by at most n / (2 * ``TIME_GRID``) s: 3e-15 s for
100,000 changes, a billionth of a sample at 384 kHz.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

PPQ = 480  # ticks per quarter note (MIDI "ticks per beat")
TIME_GRID = 2**64  # largest denominator (1/s) of a tempo segment's start time; see the module docstring


def _round_half_even(num: int, den: int) -> int:
    """num / den (den > 0) rounded to the nearest integer, ties to even (as ``round`` does)."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2):
        q += 1
    return q


def _bpm_ratio(bpm: float) -> tuple[int, int]:
    """Exact rational BPM (numerator, denominator) of a float such as 82, 82.5 or 119.88 (via its shortest repr)."""
    return Decimal(repr(float(bpm))).as_integer_ratio()


@dataclass(frozen=True)
class TempoChange:
    tick: int
    bpm: float


@dataclass(frozen=True)
class MeterChange:
    bar: int  # bar index (0-based) where this meter starts
    numerator: int
    denominator: int

    @property
    def ticks_per_bar(self) -> int:
        return ticks_per_bar(self.numerator, self.denominator)


def ticks_per_bar(numerator: int, denominator: int) -> int:
    """Length of one bar in ticks, e.g. 4/4 -> 1920, 3/4 -> 1440, 6/8 -> 1440."""
    return numerator * PPQ * 4 // denominator


class TempoMap:
    """Piecewise-constant tempo, in quarter notes per minute, indexed by tick.

    Args:
        changes: ``TempoChange`` list; the first must be at tick 0.
    """

    def __init__(self, changes: list[TempoChange] | None = None, bpm: float = 120.0):
        changes = sorted(changes or [TempoChange(0, bpm)], key=lambda c: c.tick)
        if changes[0].tick != 0:
            changes.insert(0, TempoChange(0, changes[0].bpm))
        for c in changes:
            if not (1.0 <= c.bpm <= 1000.0) or c.tick < 0:
                raise ValueError(f"tempo {c.bpm} BPM at tick {c.tick} is out of range")
        dedup: list[TempoChange] = []
        for c in changes:
            if dedup and dedup[-1].tick == c.tick:
                dedup[-1] = c
            else:
                dedup.append(c)
        self.changes: list[TempoChange] = dedup
        self._ticks = [c.tick for c in dedup]
        # exact seconds per tick of each segment (Fractions), and the start time (seconds) of each segment
        spt: dict[float, Fraction] = {}
        for c in dedup:
            if c.bpm not in spt:
                p, q = _bpm_ratio(c.bpm)
                spt[c.bpm] = Fraction(60 * q, PPQ * p)
        self._spt: list[Fraction] = [spt[c.bpm] for c in dedup]
        self._start_s: list[Fraction] = [Fraction(0)]
        num, den = 0, 1  # the running start time num/den in lowest terms (int sums: Fraction sums are slow)
        for i in range(1, len(dedup)):
            p, q, dt = self._spt[i - 1].numerator, self._spt[i - 1].denominator, self._ticks[i] - self._ticks[i - 1]
            num, den = num * q + p * dt * den, den * q
            if den > TIME_GRID:
                g = math.gcd(num, den)
                num, den = num // g, den // g
                if den > TIME_GRID:  # keeps the numbers (and the cost) bounded
                    num, den = _round_half_even(num * TIME_GRID, den), TIME_GRID
            self._start_s.append(Fraction(num, den))

    def bpm_at(self, tick: int) -> float:
        return self.changes[bisect.bisect_right(self._ticks, tick) - 1].bpm

    def tick_to_seconds_exact(self, tick: int) -> Fraction:
        """Time in seconds of ``tick`` (an int >= 0), an exact rational (see the module docstring)."""
        i = bisect.bisect_right(self._ticks, tick) - 1
        return self._start_s[i] + self._spt[i] * (tick - self._ticks[i])

    def tick_to_seconds(self, tick: int) -> float:
        return float(self.tick_to_seconds_exact(tick))

    def tick_to_sample(self, tick: int, sample_rate: int) -> int:
        """Sample index of ``tick`` at ``sample_rate`` Hz (exact rational time, rounded once)."""
        return round(self.tick_to_seconds_exact(tick) * sample_rate)

    def seconds_to_tick(self, seconds: float) -> float:
        """Inverse of ``tick_to_seconds`` (a float tick; round it where an int is needed)."""
        s = Fraction(repr(float(seconds)))
        i = bisect.bisect_right(self._start_s, s) - 1
        i = max(i, 0)
        return float(self._ticks[i] + (s - self._start_s[i]) / self._spt[i])

    def to_list(self) -> list[list[float]]:
        return [[c.tick, c.bpm] for c in self.changes]

    @classmethod
    def from_list(cls, items: list) -> "TempoMap":
        return cls([TempoChange(int(t), float(b)) for t, b in items])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TempoMap) and self.changes == other.changes

    def __repr__(self) -> str:
        return f"TempoMap({self.changes!r})"


class MeterMap:
    """Time signatures by bar. Bars are 0-based; bar ``b`` starts at ``bar_to_tick(b)``."""

    def __init__(self, changes: list[MeterChange] | None = None, numerator: int = 4, denominator: int = 4):
        changes = sorted(changes or [MeterChange(0, numerator, denominator)], key=lambda c: c.bar)
        if changes[0].bar != 0:
            changes.insert(0, MeterChange(0, changes[0].numerator, changes[0].denominator))
        for c in changes:
            if c.numerator < 1 or c.numerator > 32 or c.denominator not in (1, 2, 4, 8, 16, 32) or c.bar < 0:
                raise ValueError(f"time signature {c.numerator}/{c.denominator} at bar {c.bar} is not valid")
        dedup: list[MeterChange] = []
        for c in changes:
            if dedup and dedup[-1].bar == c.bar:
                dedup[-1] = c
            else:
                dedup.append(c)
        self.changes = dedup
        self._bars = [c.bar for c in dedup]
        self._start_tick = [0]
        for prev, cur in zip(dedup, dedup[1:]):
            self._start_tick.append(self._start_tick[-1] + (cur.bar - prev.bar) * prev.ticks_per_bar)

    def meter_at_bar(self, bar: int) -> MeterChange:
        return self.changes[bisect.bisect_right(self._bars, bar) - 1]

    def meter_at_tick(self, tick: int) -> MeterChange:
        return self.changes[bisect.bisect_right(self._start_tick, tick) - 1]

    def bar_to_tick(self, bar: int) -> int:
        i = bisect.bisect_right(self._bars, bar) - 1
        c = self.changes[i]
        return self._start_tick[i] + (bar - c.bar) * c.ticks_per_bar

    def tick_to_bar(self, tick: int) -> tuple[int, int]:
        """(bar index, tick offset inside that bar) of ``tick``."""
        i = bisect.bisect_right(self._start_tick, tick) - 1
        c = self.changes[i]
        n, off = divmod(tick - self._start_tick[i], c.ticks_per_bar)
        return c.bar + n, off

    def to_list(self) -> list[list[int]]:
        return [[c.bar, c.numerator, c.denominator] for c in self.changes]

    @classmethod
    def from_list(cls, items: list) -> "MeterMap":
        return cls([MeterChange(int(b), int(n), int(d)) for b, n, d in items])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MeterMap) and self.changes == other.changes

    def __repr__(self) -> str:
        return f"MeterMap({self.changes!r})"


def beats_to_ticks(beats: float) -> int:
    """Quarter-note beats to ticks (rounded to the nearest tick)."""
    return round(beats * PPQ)


def ticks_to_beats(ticks: int) -> Fraction:
    return Fraction(ticks, PPQ)
