"""Benchmark: the piano roll's repaint (offscreen Qt, software painting, this machine's CPU).

A 64-bar section whose piano track holds 5,000 notes (chords and runs over four octaves, every note a real
``Note`` in the song). Each measure is a change followed by the event loop's repaint of the whole roll (grid, bar
ruler with chords, keys, velocity lane: ``repaint_all`` + ``processEvents``):

* at a working zoom (about 4 bars in view) after a selection change: the grid pixmap is reused; target 16 ms;
* the same after a scroll step (the grid is drawn again);
* with the whole 64-bar clip in view (every one of the 5,000 notes visible, the worst case);
* an edit: the clip's notes read again from the song (``reload``) + repaint.

Median of 9 runs after a warm-up: wall time, and CPU time of the process (the machine is shared). Rewrites the
"Piano roll" section of RESULTS.md. Run:
``.venv/bin/python benchmarks/bench_piano_roll.py [--print-only]``
"""
from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.results import write_section

RUNS = 9
MARK = "<!-- piano-roll -->"
NOTES = 5000
BARS = 64


def song_with_notes():
    from melodex_studio.song import Chord, Note, Section, Song, Track

    rng = random.Random(3)
    song = Song("bench")
    song.add_section(Section("verse", 0, BARS))
    song.add_track(Track("piano", "chords", 0))
    ppq, bar = song.ppq, song.bar_to_tick(1)
    notes, t = [], 0
    step = bar * BARS // (NOTES // 4)  # a 4-note chord every step
    while len(notes) < NOTES:
        root = rng.randrange(40, 76)
        for k, iv in enumerate((0, 4, 7, 12)):
            if len(notes) < NOTES:
                notes.append(Note(t + k * 7, root + iv, rng.choice((ppq // 4, ppq // 2, ppq)), rng.randrange(40, 127)))
        t += step
    song.add_notes(song.tracks[0].id, notes)
    song.set_chords([Chord(b * bar, bar, (b * 5) % 12, "maj" if b % 2 else "min") for b in range(BARS)])
    return song


def timed(fn, runs: int = RUNS) -> tuple[float, float, float]:
    """(median wall ms, max wall ms, median CPU ms of this process): on a machine shared with other jobs the
    CPU time is what the repaint costs, the wall time what it waited too."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times) * 1000, max(times) * 1000, statistics.median(cpu) * 1000


def main(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from melodex_studio.ui.piano_roll_canvas import PianoRollCanvas
    from melodex_studio.ui.theme import apply_theme

    apply_theme(app)
    song = song_with_notes()
    n = len(song.tracks[0].notes)
    c = PianoRollCanvas()
    c.resize(1200, 520)
    c.show()
    app.processEvents()
    c.show_clip(song, song.sections[0].id, song.tracks[0].id)
    app.processEvents()

    def repaint() -> None:
        """The event loop's next frame: one paint pass over what the change made dirty (grid, strips)."""
        c.repaint_all()
        app.processEvents()

    c.zoom_h(16.0)  # about 4 bars in view
    c.verticalScrollBar().setValue(int(c.rows.index(72) * c.row_h))
    app.processEvents()
    i, j = c.visible_range()
    in_view = j - i
    notes = c.notes

    def select_and_repaint() -> None:
        c.selected = {notes[(i + j) // 2]} if c.selected != {notes[(i + j) // 2]} else set()
        repaint()

    working = timed(select_and_repaint)
    sign = [1]

    def scroll_and_repaint() -> None:
        h = c.horizontalScrollBar()
        h.setValue(h.value() + 60 * sign[0])
        sign[0] = -sign[0]
        repaint()

    scrolled = timed(scroll_and_repaint)

    def edit_and_repaint() -> None:
        c.reload()
        repaint()

    edited = timed(edit_and_repaint)
    c.fit()
    app.processEvents()
    whole = timed(select_and_repaint)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Piano roll",
        "",
        (f"`.venv/bin/python benchmarks/bench_piano_roll.py` (offscreen Qt platform, software painting; "
         f"{platform.machine()}, {os.cpu_count()} CPUs shared with three other engineers' test runs, load average "
         f"{load:.1f}). A 64-bar clip with {n:,} notes, roll 1200 x 520 px (grid, ruler with chords, keys, velocity "
         f"lane). Each measure: the change, then the event loop's repaint of the roll. Median of {RUNS} after a "
         f"warm-up; the CPU column is the process's CPU time (the work itself; the wall time adds the waits "
         f"for a CPU)."),
        "",
        "| measure | median (wall) | max (wall) | median (CPU) | target |",
        "|---|---|---|---|---|",
        (f"| repaint at a working zoom (about 4 bars, {in_view} notes near the view), grid pixmap reused | "
         f"{working[0]:.1f} ms | {working[1]:.1f} ms | {working[2]:.1f} ms | 16 ms |"),
        (f"| scroll step (60 px) + repaint (grid drawn again) | {scrolled[0]:.1f} ms | {scrolled[1]:.1f} ms | "
         f"{scrolled[2]:.1f} ms | 16 ms |"),
        (f"| an edit: the clip's notes read again + repaint | {edited[0]:.1f} ms | {edited[1]:.1f} ms | "
         f"{edited[2]:.1f} ms | 16 ms |"),
        (f"| repaint with the whole clip in view (all {n:,} notes drawn) | {whole[0]:.1f} ms | {whole[1]:.1f} ms | "
         f"{whole[2]:.1f} ms | 16 ms |"),
    ]
    print("\n".join(lines))
    if "--print-only" not in argv:
        write_section(MARK, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
