"""Benchmark: real-time playback.

* callback time of the playback mixer for one 512-frame buffer with 16 stems (gain, pan, one muted, one
  panned hard): median and p99 over 4,000 callbacks (median of 5 runs); target under 2 ms;
* a simulated run in real time: a thread pulls the callback as a PortAudio device does (512 frames at 44.1 kHz,
  11.6 ms a buffer; the device holds ``QUEUE_BUFFERS`` buffers ahead, as ``OutputStream`` asks of it, and asks
  for the next one when one has played) for ``--seconds`` (60) while another thread has the previews of 60 s
  tracks rendered again, one after another (what the audio source does after edits, in its child process), or
  (``--diffusion-job``) a session's diffusion render jobs run in this process; an underrun is a buffer the
  device reached before the callback had filled it (then the device primes its queue again); also counted:
  callbacks that took longer than one buffer period (what would drop out with only two buffers), buffers
  asked for but started over one period late, and the callbacks' own CPU time;
* take-switch audible latency in the window: ``session.use_take`` (a structure take of one track of a 16-track,
  60 s song) -> the first callback buffer mixed from the new stems, while a thread pulls the callback in real
  time; median of 5; target under 100 ms: a take not played before (rendered ahead by the audio source, and
  with that turned off: rendered in the child process after the switch), and switching back and forth between
  two takes heard before (kept previews); a note added (the quick stem); a mixer edit (mute) -> the first buffer
  with the new levels.

Appends (rewrites) the "Playback" section of RESULTS.md. Run:
``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_playback.py [--seconds 60]``
"""
from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results import write_section
from melodex_studio.playback.mixer import Levels, PlaybackMixer, StemSet
from melodex_studio.playback.player import Player
from melodex_studio.playback.stream import QUEUE_BUFFERS, make_callback
from melodex_studio.song import Note, Section, Song, Track

MARK = "<!-- playback -->"
RATE, BLOCK, TRACKS = 44100, 512, 16


def _song(seconds: float = 60.0) -> Song:
    """16 tracks (GM programs across the bank, one drum kit) of 8th notes, 120 BPM, ``seconds`` long."""
    song = Song(title="playback bench", sample_rate=RATE)
    bars = int(seconds / 2)
    song.add_section(Section("a", 0, bars // 2))
    song.add_section(Section("b", bars // 2, bars - bars // 2))
    for i in range(TRACKS):
        drum = i == TRACKS - 1
        notes = [Note(k * 240, (36 + k % 8) if drum else 40 + (i * 3 + k * 5) % 36, 220, 70 + k % 40)
                 for k in range(bars * 8)]
        song.add_track(Track(f"t{i}", "drums" if drum else "chords", (i * 8) % 128, drum,
                             gain_db=-6.0 + (i % 5), pan=((i % 7) - 3) / 3.0, mute=i == 3, notes=notes))
    return song


def _stems(frames: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {f"t{i}": (rng.standard_normal((frames, 2)) * 0.05).astype(np.float32) for i in range(TRACKS)}


def bench_callback(runs: int = 5, calls: int = 4000) -> tuple[float, float]:
    song = _song(5)
    stems = {t.id: a for t, a in zip(song.tracks, _stems(60 * RATE).values())}
    mixer = PlaybackMixer(RATE)
    mixer.set_stems(StemSet.of(stems, [t.id for t in song.tracks]))
    mixer.set_levels(Levels.of(song))
    callback = make_callback(mixer.render)
    out = np.zeros((BLOCK, 2), np.float32)
    medians, p99s, cpu_medians, cpu_p99s = [], [], [], []
    for _ in range(runs):
        mixer.play(0)
        times, cpu = [], []
        for _ in range(calls):
            t0, c0 = time.perf_counter(), time.thread_time()
            callback(out, BLOCK, None, None)
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        medians.append(statistics.median(times) * 1000)
        p99s.append(float(np.percentile(times, 99)) * 1000)
        cpu_medians.append(statistics.median(cpu) * 1000)
        cpu_p99s.append(float(np.percentile(cpu, 99)) * 1000)
    return (statistics.median(medians), statistics.median(p99s), statistics.median(cpu_medians),
            statistics.median(cpu_p99s))


def _diffusion_job(stop: threading.Event, renders: list[int], warm: threading.Event) -> None:
    """Diffusion render jobs (shipped models, this process: a session job's worker thread), one after another."""
    from melodex_studio.engine.diffusion_render import DiffusionOptions
    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.song import Note, Section, Track

    song = Song(title="job")
    song.add_section(Section("a", 0, 4))
    song.add_section(Section("b", 4, 4))
    song.add_track(Track("piano", "chords", 0, notes=[Note(i * 480, 60 + i % 7, 400, 90) for i in range(32)]))
    song.add_track(Track("bass", "bass", 33, notes=[Note(i * 960, 36 + i % 5, 800, 100) for i in range(16)]))
    s = ProjectSession(device="cpu", diffusion=DiffusionOptions(steps=8, device="cpu"), autosave=False)
    s.new(song)
    s.run(s.render())  # warm: torch imported and the models loaded, as in a window that has rendered once
    warm.set()
    while not stop.is_set():
        gc.freeze()  # as the window does when it starts a job (ui/job_actions.py)
        job = s.render()
        while not job.done() and not stop.is_set():
            time.sleep(0.05)
        if stop.is_set():
            job.cancel()
        try:
            s.apply(job.wait())
            renders[0] += 1
        except Exception:  # cancelled at the end of the run
            break
    s.close()


def bench_realtime(seconds: float, job: str = "preview", queue: int = QUEUE_BUFFERS) -> dict:
    """Pull the callback in real time for ``seconds`` while a thread renders previews (``job`` "preview") or a
    session's diffusion render jobs run in this process ("diffusion": their worker thread shares the GIL)."""
    from melodex_studio.engine.preview import PreviewStems

    song = _song(60)
    stems = {t.id: a for t, a in zip(song.tracks, _stems(int(seconds * RATE) + RATE).values())}
    player = Player(RATE)  # as the window plays: Player.play also sets the playing switch interval
    player.set_stems(stems, [t.id for t in song.tracks])
    player.set_levels(Levels.of(song))
    callback = make_callback(player.mixer.render)
    stop = threading.Event()
    renders = [0]

    def render_job() -> None:
        preview = PreviewStems()
        n = 0
        while not stop.is_set():
            work = song.copy()
            work.update_track(work.tracks[n % TRACKS].id, program=(n * 7) % 128)  # a changed track each time
            preview.update(work, {}, RATE, cancel=stop.is_set)
            renders[0] += 1
            n += 1

    warm = threading.Event()
    target = render_job if job == "preview" else (lambda: _diffusion_job(stop, renders, warm))
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    if job != "preview":
        warm.wait(600)
    out = np.zeros((BLOCK, 2), np.float32)
    period = BLOCK / RATE
    durations, lateness, cpu = [], [], []
    underruns = 0
    player.play(0)
    start = time.perf_counter()
    t0 = None  # when buffer 0 starts playing: once the first ``queue`` buffers have primed the device
    k = 0
    while time.perf_counter() - start < seconds:
        # The device holds ``queue`` buffers: buffer k (k >= queue) is asked for when buffer k - queue has played
        # and must be there when its own turn to play comes.
        asked = start if t0 is None else t0 + (k - queue) * period
        now = time.perf_counter()
        if now < asked:
            time.sleep(asked - now)
            now = time.perf_counter()
        lateness.append(max(0.0, now - asked))
        c0 = time.thread_time()
        callback(out, BLOCK, None, None)
        done = time.perf_counter()
        durations.append(done - now)
        cpu.append(time.thread_time() - c0)
        if t0 is None:
            if k == queue - 1:
                t0 = done
        elif done > t0 + k * period:  # the device reached buffer k before it was filled: a dropout
            underruns += 1
            t0 = done - k * period  # it plays on from here
        k += 1
    stop.set()
    worker.join(30)
    player.close()
    d = np.array(durations)
    late = np.array(lateness)
    return {"callbacks": len(d), "underruns": underruns, "over_period": int((d > period).sum()),
            "late": int((late > period).sum()), "queue": queue,
            "median_ms": float(np.median(d) * 1000), "p99_ms": float(np.percentile(d, 99) * 1000),
            "max_ms": float(d.max() * 1000), "late_max_ms": float(late.max() * 1000), "renders": renders[0],
            "cpu_over": int((np.array(cpu) > period).sum()), "cpu_max_ms": float(max(cpu) * 1000)}


class _RealtimePull:
    """Pulls the window's player in real time on a thread and notes when a buffer first used new stems/levels."""

    def __init__(self, player):
        self.player = player
        self.stop = threading.Event()
        self.marks: list[tuple[float, int, int]] = []  # (time, id(stems), id(levels)) per callback
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        out = np.zeros((BLOCK, 2), np.float32)
        period = BLOCK / RATE
        due = time.perf_counter()
        while not self.stop.is_set():
            mixer = self.player.mixer
            t = time.perf_counter()
            self.marks.append((t, id(mixer.stems), id(mixer.levels)))
            mixer.render(out, BLOCK)
            due += period
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)

    def first_after(self, t0: float, index: int, old: int) -> float | None:
        for t, *ids in list(self.marks):
            if t >= t0 and ids[index] != old:
                return t - t0
        return None


def bench_take_switch(runs: int = 5) -> tuple:
    from PySide6.QtWidgets import QApplication

    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.song import Take
    from melodex_studio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    song = _song(60)
    sec, track = song.sections[0], song.tracks[0]
    start, end = song.section_ticks(sec)
    notes = track.notes_in(start, end)
    takes = [Take(sec.id, track.id, {track.id: [Note(n.start_tick, min(127, n.pitch + k), n.duration_ticks,
                                                     n.velocity) for n in notes]}) for k in range(1, runs + 1)]
    for t in takes:
        song.add_take(t, activate=False)
    session = ProjectSession(autosave=False)
    window = MainWindow(session=session)
    window.show()
    window.set_song(song)
    assert window.audio_source.wait(300)
    puller = _RealtimePull(window.playback)
    window.playback.mixer.play(0)
    puller.thread.start()

    def wait_for(index: int, old: int, t0: float) -> float:
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            app.processEvents()
            got = puller.first_after(t0, index, old)
            if got is not None:
                return got
            time.sleep(0.001)
        raise RuntimeError("the new take never reached the callback")

    def switch_to(take) -> float:
        old = id(window.playback.mixer.stems)
        t0 = time.perf_counter()
        session.use_take(take.id)
        took = wait_for(0, old, t0)
        assert window.audio_source.wait(60)
        return took

    switch = [switch_to(take) for take in takes[:runs]]  # never heard; the audio source rendered them ahead

    def more_takes(first: int) -> list:
        out = [Take(sec.id, track.id, {track.id: [Note(n.start_tick, min(127, n.pitch + k), n.duration_ticks,
                                                       n.velocity) for n in notes]}) for k in range(first, first + runs)]
        for take in out:
            window.song.add_take(take, activate=False)
        return out

    preview = window.audio_source._preview
    whole_ahead = preview.prefetch
    preview.prefetch = functools.partial(whole_ahead, limit=0)  # older takes: only their notes rendered ahead
    pieces = more_takes(runs + 1)
    window.audio_source.refresh()
    assert window.audio_source.wait(300)
    partial = [switch_to(take) for take in pieces]
    preview.prefetch = lambda *a, **k: 0  # nothing rendered ahead: a preview renders after the switch
    cold = [switch_to(take) for take in more_takes(2 * runs + 1)]
    back = [switch_to(takes[-2 + i % 2]) for i in range(runs)]  # A/B between two takes heard before
    edit = []
    for i in range(runs):  # a note drawn in the piano roll: the quick stem first, then the full render
        old = id(window.playback.mixer.stems)
        t0 = time.perf_counter()
        session.edit_notes(song.tracks[2].id, add=[Note(song.bar_to_tick(4 + i) + 120, 90, 240, 100)])
        edit.append(wait_for(0, old, t0))
        assert window.audio_source.wait(60)
    mute = []
    for i in range(runs):
        old = id(window.playback.mixer.levels)
        t0 = time.perf_counter()
        session.update_track(song.tracks[1].id, mute=i % 2 == 0)
        mute.append(wait_for(1, old, t0))
        assert window.audio_source.wait(60)
    puller.stop.set()
    puller.thread.join(5)
    rendered = window.audio_source._preview.rendered
    session.history.mark_clean()
    window.close()
    return switch, partial, cold, back, edit, mute, rendered


def jobs_nice() -> int:
    from melodex_studio.engine import jobs

    return jobs.BACKGROUND_NICE


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--dry", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--diffusion-job", action="store_true",
                    help="only the real-time run, with diffusion render jobs in this process (shipped models)")
    ap.add_argument("--job-nice", type=int, default=None,
                    help="the jobs' priority step (engine.jobs.BACKGROUND_NICE; 0 = as the caller, for comparison)")
    ap.add_argument("--queue", type=int, default=QUEUE_BUFFERS, help="buffers the simulated device holds ahead")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    load = os.getloadavg()[0]
    if args.job_nice is not None:
        from melodex_studio.engine import jobs

        jobs.BACKGROUND_NICE = args.job_nice
    if args.diffusion_job:
        rt = bench_realtime(args.seconds, "diffusion", args.queue)
        print(f"real time {args.seconds:g} s with diffusion jobs: {rt}", flush=True)
        if not args.dry:
            period = 1000 * BLOCK / RATE
            write_section("<!-- playback-job -->", [
                "## Playback while a diffusion render job runs in the same process (`bench_playback.py --diffusion-job`)",
                "",
                (f"x86_64, {os.cpu_count()} CPUs (shared, load average {load:.1f} at the start). The callback pulled in "
                f"real time for {args.seconds:g} s ({rt['callbacks']} buffers of {period:.1f} ms; the device holding "
                f"{rt['queue']} buffers ahead, {rt['queue'] * period:.0f} ms, as `OutputStream` asks) while a session's "
                f"diffusion render jobs (shipped models, 2 tracks x 2 sections) ran one after another on their worker "
                f"thread ({rt['renders']} finished; the first one, which imports torch and loads the models, ran before the "
                f"measurement): the GIL is shared with the job, whose threads run at nice +{jobs_nice()}."),
                "",
                "| measure | result | target |",
                "|---|---|---|",
                f"| underruns (the device reached a buffer the callback had not filled) | {rt['underruns']} | 0 |",
                f"| callbacks over one buffer period (would drop out with a 2-buffer device) | {rt['over_period']} | |",
                f"| callback median / p99 / max | {rt['median_ms']:.3f} / {rt['p99_ms']:.3f} / {rt['max_ms']:.1f} ms | |",
                f"| buffers started over one period late (max) | {rt['late']} ({rt['late_max_ms']:.1f} ms) | 0 |",
                f"| callbacks that used over one period of CPU (max CPU) | {rt['cpu_over']} ({rt['cpu_max_ms']:.2f} ms) | 0 |",
            ])
        return
    cb_median, cb_p99, cpu_median, cpu_p99 = bench_callback()
    print(f"callback 512 frames, 16 stems: median {cb_median:.3f} ms, p99 {cb_p99:.3f} ms (CPU time: median "
          f"{cpu_median:.3f} ms, p99 {cpu_p99:.3f} ms)", flush=True)
    rt = bench_realtime(args.seconds)
    print(f"real time {args.seconds:g} s: {rt}", flush=True)
    switch, partial, cold, back, edit, mute, rendered = bench_take_switch()
    print(f"take switch (s): {switch}; notes rendered ahead (s): {partial}; nothing ahead (s): {cold}; back (s): "
          f"{back}; note edit (s): {edit}; "
          f"mute (s): {mute}; previews rendered {rendered}", flush=True)
    period = 1000 * BLOCK / RATE
    lines = [
        "## Playback (`bench_playback.py`)",
        "",
        (f"`QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_playback.py --seconds {args.seconds:g}`; "
        f"{platform.machine()}, {os.cpu_count()} CPUs shared with three other engineers' jobs (load average "
        f"{load:.1f} at the start), Python {platform.python_version()}. No audio device here: the callback is "
        "pulled by a thread keeping real time, as PortAudio would."),
        "",
        "| measure | result | target |",
        "|---|---|---|",
        (f"| callback, 512 frames, 16 stems (median of 5 runs of 4,000): wall time; its thread's CPU time | median "
         f"{cb_median:.3f} ms, p99 {cb_p99:.3f} ms; CPU median {cpu_median:.3f} ms, p99 {cpu_p99:.3f} ms | "
         "under 2 ms |"),
        (f"| {args.seconds:g} s in real time ({rt['callbacks']} callbacks of {period:.1f} ms) while the previews "
        f"of 60 s tracks render again one after another ({rt['renders']}, in the preview child process) | "
        f"{rt['underruns']} "
        f"underruns (device holding {rt['queue']} buffers); {rt['over_period']} callbacks over {period:.1f} ms; "
        f"callback median {rt['median_ms']:.3f} ms, p99 "
        f"{rt['p99_ms']:.3f} ms, max {rt['max_ms']:.1f} ms; {rt['late']} buffers started over one period late "
        f"(max {rt['late_max_ms']:.1f} ms late); {rt['cpu_over']} callbacks used over {period:.1f} ms of CPU "
        f"(max {rt['cpu_max_ms']:.2f} ms): the rest is waiting for a core or the GIL | 0 underruns |"),
        (f"| take switch (a structure take of one of 16 tracks, 60 s song, not played before; the audio source "
         f"rendered its preview ahead) -> first buffer with it, median of 5 | {1000 * statistics.median(switch):.0f}"
         f" ms (max {1000 * max(switch):.0f}) | under 100 ms |"),
        (f"| the same for a take whose whole preview was not rendered ahead (only the newest 8 are; for every take "
         f"the audio source renders its section's notes alone, and the notes they replace): a quick stem from those "
         f"at once, the exact preview after it | {1000 * statistics.median(partial):.0f} ms (max "
         f"{1000 * max(partial):.0f}) | under 100 ms |"),
        (f"| the same with nothing rendered ahead (the preview renders in the child after the switch; the previous "
         f"stems play meanwhile) | {1000 * statistics.median(cold):.0f} ms (max {1000 * max(cold):.0f}) | "
         "(fallback) |"),
        (f"| switch back and forth between two takes heard before (their previews kept) -> first buffer, median "
         f"of 5 | {1000 * statistics.median(back):.0f} ms (max {1000 * max(back):.0f}) | under 100 ms |"),
        (f"| a note added to one of the 16 tracks (`session.edit_notes`) -> first buffer with it (the quick stem: "
         f"the old one plus the note rendered alone; the full render follows), median of 5 | "
         f"{1000 * statistics.median(edit):.0f} ms (max {1000 * max(edit):.0f}) | under 100 ms |"),
        (f"| mute in the session -> first buffer with the new levels, median of 5 | "
        f"{1000 * statistics.median(mute):.1f} ms (max {1000 * max(mute):.1f}) | under 50 ms |"),
    ]
    if not args.dry:
        write_section(MARK, lines)


if __name__ == "__main__":
    main()
