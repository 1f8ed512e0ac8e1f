"""Benchmark: the waveform view (offscreen Qt, this machine's CPU) on a 10-minute stereo 44.1 kHz mix.

* building the peak pyramid of the mix (once per new audio);
* a redraw (peaks of the visible range at one column per pixel, the curves, then a synchronous repaint of the
  view) with the whole song in view, zoomed in to about 10 s, one scroll step, and with a stem band under the
  mix; target 50 ms (median).

Median of 5 (and the max). Rewrites the "Waveform view" section of RESULTS.md. Run:
``.venv/bin/python benchmarks/bench_waveform.py [--print-only]``
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from benchmarks.results import write_section

RUNS = 5
MARK = "<!-- waveform -->"
SR = 44100
MINUTES = 10


def _song():
    from melodex_studio.song import Section, Song, Track

    song = Song(title="Bench")
    song.add_track(Track("lead", "melody", 0))
    labels = ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"]
    bars_total = MINUTES * 60 // 2  # 120 BPM, 4/4: 2 s a bar
    per = bars_total // len(labels)
    for i, label in enumerate(labels):
        song.add_section(Section(label, i * per, per if i < len(labels) - 1 else bars_total - i * per))
    return song


def _audio(frames: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    env = (0.3 + 0.7 * np.abs(np.sin(np.linspace(0, 60 * np.pi, frames, dtype=np.float32))))[:, None]
    return (rng.standard_normal((frames, 2), dtype=np.float32) * 0.2 * env).astype(np.float32)


def _time(fn, runs: int = RUNS) -> tuple[float, float]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def main() -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from melodex_studio.ui.peaks import PeakPyramid
    from melodex_studio.ui.theme import apply_theme
    from melodex_studio.ui.waveform import WaveformView

    apply_theme(app)
    song = _song()
    mix = _audio(MINUTES * 60 * SR)
    stem = mix * 0.5
    tid = song.tracks[0].id
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    build = _time(lambda: PeakPyramid(mix), 3)
    view = WaveformView()
    view.resize(1100, 150)
    view.show()
    view.set_song(song)
    view.set_view(0.0, float(song.end_tick))
    t_plot = time.perf_counter()
    view.set_audio(mix[: SR * 10], SR, {})  # the first audio imports pyqtgraph and makes the plot
    t_plot = time.perf_counter() - t_plot
    t_build0 = time.perf_counter()
    view.set_audio(mix, SR, {tid: stem})
    blocked = time.perf_counter() - t_build0  # the GUI thread's share: the pyramid is made on a worker thread
    while view._pyramids.get("mix", (None,))[0] is not mix or view._redraw_timer.isActive():
        app.processEvents()
        time.sleep(0.001)
    first = time.perf_counter() - t_build0
    view.set_track(tid)
    while view.band_data("stem") is None or view._redraw_timer.isActive():
        app.processEvents()
        time.sleep(0.001)
    end = float(song.end_tick)

    def redraw(t0: float, t1: float) -> None:
        view.set_view(t0, t1)
        view.redraw()
        view._plot.viewport().repaint()

    rows = []
    view.set_track(None)
    whole = _time(lambda: redraw(0.0, end - 1e-3 * (time.perf_counter() % 1)))
    rows.append(("whole song in view (10 min), mix only", whole))
    view.set_track(tid)
    both = _time(lambda: redraw(0.0, end - 1e-3 * (time.perf_counter() % 1)))
    rows.append(("whole song in view, mix + selected stem", both))
    ten_s = song.ppq * 2 * 10  # 10 s at 120 BPM
    start = [end / 2]
    zoomed = _time(lambda: redraw(start[0], start[0] + ten_s) or start.__setitem__(0, start[0] + 1))
    rows.append(("zoomed in (10 s in view), mix + stem", zoomed))
    pos = [end / 3]

    def scroll() -> None:
        pos[0] += ten_s / 20
        redraw(pos[0], pos[0] + ten_s * 6)

    rows.append(("scroll step (1 minute in view), mix + stem", _time(scroll)))
    view.close()

    lines = ["## Waveform view", "",
             (f"`.venv/bin/python benchmarks/bench_waveform.py` (offscreen Qt platform, software painting; "
             f"{platform.machine()}, {os.cpu_count()} CPUs shared with three other engineers' test runs, load "
             f"average {load:.1f}). A {MINUTES}-minute stereo {SR / 1000:g} kHz mix (and a stem of the same "
             f"length), view 1100 x 150 px. Median and max of {RUNS} (after one warm-up)."), "",
             "| measure | median | max | target |", "|---|---|---|---|",
             (f"| peak pyramid of the mix (once per new audio; 16 to 65,536 frames a bin) | {build[0] * 1000:.0f} ms "
             f"| {build[1] * 1000:.0f} ms | - |"),
             (f"| `set_audio` on the GUI thread (the pyramid is made on a worker thread) | {blocked * 1000:.1f} ms | - | "
             f"50 ms |"),
             f"| new audio -> the mix drawn | {first * 1000:.0f} ms | - | - |",
             f"| the first audio of the window (imports pyqtgraph, makes the plot) | {t_plot * 1000:.0f} ms | - | - |"]
    for name, (med, mx) in rows:
        lines.append(f"| redraw + repaint: {name} | {med * 1000:.1f} ms | {mx * 1000:.1f} ms | 50 ms |")
    print("\n".join(lines))
    if "--print-only" not in sys.argv:
        write_section(MARK, lines)


if __name__ == "__main__":
    main()
