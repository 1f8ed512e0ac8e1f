"""Notes of a track lane drawn as one image: the clips' mini piano roll (drums as hits), rasterised with numpy.

Painting tens of thousands of note rectangles one QPainter call at a time costs ~1 µs of Python each and
cannot hold 60 frames a second. Instead each track keeps its notes as arrays (``TrackNotes``: ticks, pitches,
the end of each note cut at its section's end, drum rows), and a lane's visible notes become one ARGB image:
every rectangle adds +1 at its left and -1 at its right edge on each of its rows, a cumulative sum along x gives
the coverage,
covered pixels take the track's colour. Cost: O(notes in view + pixels of the lane), all in numpy.

Units: ticks for time; pixels (device pixels inside ``lane_image``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QColor, QImage

from ..song import Song, Track


@dataclass
class TrackNotes:
    """One track's notes as sorted arrays (by start tick)."""

    starts: np.ndarray  # (N,) int64 start ticks
    ends: np.ndarray  # (N,) int64 end ticks, cut at the end of the section the note starts in
    pitches: np.ndarray  # (N,) int64
    velocities: np.ndarray  # (N,) int64
    rows: np.ndarray  # (N,) drum row of each note (0 = lowest drum pitch in use); pitched tracks: unused
    n_rows: int
    lo: int
    hi: int
    is_drum: bool

    @classmethod
    def of(cls, song: Song, track: Track) -> TrackNotes:
        notes = track.notes  # the song keeps them sorted by start tick
        n = len(notes)
        starts = np.fromiter((x.start_tick for x in notes), np.int64, n)
        ends = np.fromiter((x.start_tick + x.duration_ticks for x in notes), np.int64, n)
        pitches = np.fromiter((x.pitch for x in notes), np.int64, n)
        vel = np.fromiter((x.velocity for x in notes), np.int64, n)
        if n and np.any(np.diff(starts) < 0):
            order = np.argsort(starts, kind="stable")
            starts, ends, pitches, vel = starts[order], ends[order], pitches[order], vel[order]
        bounds = sorted(song.section_ticks(s) for s in song.sections)
        if bounds and n:
            sec_starts = np.array([a for a, _ in bounds], np.int64)
            sec_ends = np.array([b for _, b in bounds], np.int64)
            k = np.searchsorted(sec_starts, starts, side="right") - 1
            inside = (k >= 0) & (starts < sec_ends[np.clip(k, 0, None)])
            ends = np.where(inside, np.minimum(ends, sec_ends[np.clip(k, 0, None)]), ends)
        used = np.unique(pitches) if n else np.zeros(0, np.int64)
        rows = np.searchsorted(used, pitches) if n else np.zeros(0, np.int64)
        lo, hi = (int(pitches.min()), int(pitches.max())) if n else (60, 60)
        return cls(starts, ends, pitches, vel, rows, max(1, len(used)), lo, hi, track.is_drum)


def _argb(color: QColor) -> np.uint32:
    c = QColor(color)
    return np.uint32((c.alpha() << 24) | (c.red() << 16) | (c.green() << 8) | c.blue())


def lane_image(notes: TrackNotes, t0: float, t1: float, px_per_tick: float, x_offset: float, width: int,
               height: int, color: QColor, dpr: float = 1.0) -> QImage | None:
    """The notes starting in [t0, t1] as an image ``width`` x ``height`` logical pixels (drawn at the lane's
    note area), x of tick t = t * px_per_tick - x_offset. None when no note is in view."""
    i, j = np.searchsorted(notes.starts, [int(t0), int(t1) + 1])
    if i >= j or width <= 0 or height < 3:
        return None
    W, H = max(1, int(round(width * dpr))), max(1, int(round(height * dpr)))
    k = px_per_tick * dpr
    xs = notes.starts[i:j] * k - x_offset * dpr
    if notes.is_drum:
        row_h = H / notes.n_rows
        hh = np.maximum(1.5 * dpr, row_h * (0.45 + 0.5 * notes.velocities[i:j] / 127.0))
        top = (notes.n_rows - 1 - notes.rows[i:j]) * row_h + (row_h - hh) / 2
        xe = xs + max(1.0, min(2.0, px_per_tick * 60)) * dpr  # half a 16th, 1 to 2 px: hits stay apart
    else:
        span = max(12, notes.hi - notes.lo + 1)
        mid = (notes.lo + notes.hi) / 2
        row_h = H / span
        hh = np.full(j - i, max(1.5 * dpr, min(4.0 * dpr, row_h)))
        top = (span / 2 - (notes.pitches[i:j] - mid) - 0.5) * row_h
        xe = notes.ends[i:j] * k - x_offset * dpr - 0.5 * dpr
        xe = np.maximum(xe, xs + 1.5 * dpr)
    x0 = np.clip(np.floor(xs), 0, W).astype(np.int64)
    x1 = np.clip(np.ceil(xe), 0, W).astype(np.int64)
    y0 = np.clip(np.floor(top), 0, H).astype(np.int64)
    y1 = np.clip(np.ceil(top + hh), 0, H).astype(np.int64)
    keep = (x1 > x0) & (y1 > y0)
    if not keep.any():
        return None
    x0, x1, y0, y1 = x0[keep], x1[keep], y0[keep], y1[keep]
    # each rectangle: +1 at x0 and -1 at x1 on every row it covers; one cumulative sum along x gives coverage
    heights = y1 - y0
    rows = np.repeat(y0, heights) + (np.arange(heights.sum()) - np.repeat(np.cumsum(heights) - heights, heights))
    stride = W + 1
    base = rows * stride
    diff = np.zeros(H * stride, np.int32)  # add.at: cheaper than bincount's full-size int64 counts
    np.add.at(diff, base + np.repeat(x0, heights), 1)
    np.subtract.at(diff, base + np.repeat(x1, heights), 1)
    cover = diff.reshape(H, stride).cumsum(axis=1, dtype=np.int32)[:, :W] > 0
    pixels = np.zeros((H, W), np.uint32)
    pixels[cover] = _argb(color)
    image = QImage(pixels.data, W, H, 4 * W, QImage.Format.Format_ARGB32_Premultiplied).copy()
    image.setDevicePixelRatio(dpr)
    return image
