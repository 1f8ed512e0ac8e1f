"""Peak pyramids of audio for drawing waveforms (numpy only, no Qt).

A waveform is drawn as one vertical line per pixel column, from the lowest to the highest sample under it.
Scanning every sample of a 10-minute mix for each redraw is too slow, so ``PeakPyramid`` precomputes the
min and max of fixed-size bins at several sizes (16, 64, 256, ... frames, each level 4x the one below); a
query groups a whole number (at most 16) of one level's bins per pixel column, from the level that comes
closest to one column per pixel. The columns' sample edges are returned with the peaks, so a column's min/max is exactly the
min/max of the audio between its edges (both channels together).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE_BIN = 16  # frames per bin of the finest precomputed level
FACTOR = 4  # each level's bins hold FACTOR bins of the level below
MIN_BINS = 256  # levels stop when they would have fewer bins than this
MAX_GROUP = 16  # a column groups at most this many bins of a level (so its width is within 1/16 of a pixel's)


@dataclass(frozen=True)
class Peaks:
    """The peaks of one query: column ``i`` covers frames ``edges[i]`` to ``edges[i + 1]`` (exclusive) and its
    audio lies between ``mins[i]`` and ``maxs[i]``."""

    edges: np.ndarray  # (n + 1,) int64 frame indices
    mins: np.ndarray  # (n,) float32
    maxs: np.ndarray  # (n,) float32
    bin_frames: int  # frames per column

    @property
    def centers(self) -> np.ndarray:
        """Frame at the middle of each column (float64)."""
        return (self.edges[:-1] + self.edges[1:]) * 0.5


def _mono_minmax(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        return a, a
    return a.min(axis=1), a.max(axis=1)


def _reduce(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """min of ``lo`` and max of ``hi`` over consecutive groups of ``size`` (the last group may be short)."""
    n = len(lo)
    full = n // size
    mins = lo[: full * size].reshape(full, size).min(axis=1)
    maxs = hi[: full * size].reshape(full, size).max(axis=1)
    if n > full * size:
        mins = np.append(mins, lo[full * size:].min())
        maxs = np.append(maxs, hi[full * size:].max())
    return mins.astype(np.float32, copy=False), maxs.astype(np.float32, copy=False)


class PeakPyramid:
    """Min/max levels of ``audio`` ((frames,) or (frames, channels)); ``query`` returns per-column peaks."""

    def __init__(self, audio: np.ndarray):
        a = np.asarray(audio, dtype=np.float32)
        self.audio = a
        self.frames = int(a.shape[0])
        self.levels: list[tuple[int, np.ndarray, np.ndarray]] = []  # (bin frames, mins, maxs), finest first
        if self.frames == 0:
            return
        # the finest level straight from the audio, chunked so the temporaries stay small
        chunk = BASE_BIN * 65536
        parts = []
        for s in range(0, self.frames, chunk):
            block = a[s: s + chunk]
            if block.ndim == 2:
                n = (len(block) // BASE_BIN) * BASE_BIN
                body = block[:n].reshape(-1, BASE_BIN * block.shape[1])
                lo, hi = body.min(axis=1), body.max(axis=1)
                if n < len(block):
                    lo, hi = np.append(lo, block[n:].min()), np.append(hi, block[n:].max())
            else:
                lo, hi = _reduce(block, block, BASE_BIN)
            parts.append((lo, hi))
        lo = np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False)
        hi = np.concatenate([p[1] for p in parts]).astype(np.float32, copy=False)
        size = BASE_BIN
        self.levels.append((size, lo, hi))
        while len(lo) >= MIN_BINS * FACTOR:
            lo, hi = _reduce(lo, hi, FACTOR)
            size *= FACTOR
            self.levels.append((size, lo, hi))

    def query(self, start: int, end: int, columns: int) -> Peaks:
        """Peaks of frames [start, end) in about ``columns`` columns (never more than one column per frame).

        Columns are whole multiples of a level's bins, aligned to the bins, so the first column may begin
        before ``start`` and the last end after ``end`` (by less than a column)."""
        start, end = max(0, int(start)), min(self.frames, int(end))
        if end <= start or columns <= 0:
            empty = np.zeros(0, np.float32)
            return Peaks(np.array([start], np.int64), empty, empty, 1)
        spp = (end - start) / columns  # frames per pixel column
        # the level whose whole bins come closest to a column (at most MAX_GROUP of them per column)
        size, lo, hi, group = 1, None, None, max(1, int(spp))
        for s, l_, h_ in self.levels:
            g = int(spp // s)
            if 1 <= g <= MAX_GROUP and (s * g >= size * group or group > MAX_GROUP):
                size, lo, hi, group = s, l_, h_, g
        col = size * group
        b0 = start // col
        b1 = -(-end // col)
        if lo is None:  # finer than the finest level: straight from the audio
            a0, a1 = b0 * col, min(self.frames, b1 * col)
            lo, hi = _mono_minmax(self.audio[a0:a1])
            mins, maxs = _reduce(lo, hi, col)
        else:
            i0, i1 = b0 * group, min(len(lo), b1 * group)
            mins, maxs = _reduce(lo[i0:i1], hi[i0:i1], group)
        edges = np.minimum(np.arange(b0, b0 + len(mins) + 1, dtype=np.int64) * col, self.frames)
        return Peaks(edges, mins, maxs, col)
