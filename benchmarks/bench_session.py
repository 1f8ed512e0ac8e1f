"""Benchmark: the project session as the window and the CLI use it (shipped models, CPU).

* regenerate one 8-bar section of a 4-track, 72 s song end to end: structure model + diffusion render of
  the section's four tracks + the tracks' new whole-song stems (the changed section decoded and spliced in) + the
  mix of the whole song as the window makes it (``ui.audio_source``: ``pad_stems``, ``mix_song``), what a musician
  waits for between "Regenerate" and hearing it, through ``session.regenerate(render=True)``;
* switch a take (``use_take``: notes, render choice, stem from the cache or this session's memo);
* undo of a regeneration;
* cancel latency: a whole-song render job cancelled at a random moment of its run, request -> job ended (p95 of 20);
* save and load of a 192 s, 6-track project (benchmarks/bench_project.py's song) with 3 diffusion takes
  per track and section (a render, a variation from step 4, a variation of that from step 6) and their full
  latent state.

Median of 5 (and the min) unless stated, at the torch thread count the app uses (torch's default: the CPU's
cores) or ``MELODEX_BENCH_THREADS``; the regeneration also at one thread. Rewrites the "Project session" section
of RESULTS.md. Run: ``.venv/bin/python benchmarks/bench_session.py [--edits-only | --project-only]``
"""
from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.results import write_section  # noqa: E402

RUNS = 5
MARK = "<!-- session -->"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _stats(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} / {min(xs):.3f}"


class _Rows(list):
    def append(self, row):  # print each result as it comes (a long run shows its progress)
        print(" | ".join(row), flush=True)
        super().append(row)


def _table(title: str, note: str, rows) -> list[str]:
    return [title, "", note, "", "| what | median / min (s) | target |", "|---|---|---|",
            *[f"| {a} | {b} | {c} |" for a, b, c in rows]]


def _machine(threads: int) -> str:
    return (f"Shipped models, device cpu, torch threads {threads}; x86_64, {os.cpu_count()} CPUs (shared; load average "
            f"{os.getloadavg()[0]:.1f} at the start); Python {platform.python_version()}.")


def edits(threads: int) -> list[str]:
    """Regenerate end to end (at ``threads`` torch threads and at one), switch a take, undo, cancel latency (the
    72 s song)."""
    import torch

    from melodex_studio.engine.diffusion_render import DiffusionOptions
    from melodex_studio.engine.preview import pad_stems
    from melodex_studio.engine.proposals import stem_array, stem_name
    from melodex_studio.playback.mixer import mix_song
    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan
    from melodex_studio.song import Key

    machine = _machine(threads)
    rows = _Rows()
    plan = StylePlan(tempo_bpm=120.0, meter=(4, 4), key=Key.parse("A minor"),
                     form=[SectionPlan("intro", 4), SectionPlan("verse", 8), SectionPlan("chorus", 8),
                           SectionPlan("verse", 8), SectionPlan("chorus", 8)],
                     instruments=[InstrumentPlan("electric piano", 4, "chords"), InstrumentPlan("bass", 33, "bass"),
                                  InstrumentPlan("flute", 73, "melody"), InstrumentPlan("drums", 0, "drums", is_drum=True)],
                     drums=True, genre="pop", mood="happy")
    s = ProjectSession(device="cpu", diffusion=DiffusionOptions(device="cpu"), autosave=False)
    t_gen = _timed(lambda: s.run(s.generate(plan=plan, seed=3, render=True)))
    takes = []
    for n_threads in dict.fromkeys([threads, 1]):  # the app's threads (torch's default: the cores), and one
        torch.set_num_threads(n_threads)
        stages: dict[str, list[float]] = {}
        totals = []
        for i in range(RUNS):
            marks = []
            t0 = time.perf_counter()
            p = s.run(s.regenerate("chorus", seed=100 + i + 10 * n_threads, render=True,
                                   progress=lambda pr: marks.append((pr.stage, time.perf_counter()))))
            t_job = time.perf_counter()
            mix_song(s.song, pad_stems({t.id: stem_array(s.audio[stem_name(s.song, t.id)]) for t in s.song.tracks}))
            t1 = time.perf_counter()  # the window's mix (ui.audio_source) of the session's new stems
            totals.append(t1 - t0)
            takes.append(p.takes[0].id)
            prev = t0
            for stage in ("structure", "diffusion", "decode"):
                ts = [t for st, t in marks if st == stage]
                if ts:
                    stages.setdefault(stage, []).append(ts[-1] - prev)
                    prev = ts[-1]
            stages.setdefault("apply + mix", []).append(t1 - t_job)
        rows.append((f"regenerate chorus (8 bars, 4 tracks) end to end, torch threads {n_threads}", _stats(totals),
                     "under 3 s" if n_threads == threads else ""))
        for k, v in stages.items():
            rows.append((f"  of which {k}", _stats(v), ""))
    torch.set_num_threads(threads)
    s.use_take(takes[-2])
    s.use_take(takes[-1])  # both stems now in the cache or the memo
    switch = [_timed(lambda t=t: s.use_take(t)) for t in (takes[-2], takes[-1]) * 3][1:]
    rows.append(("switch a take (structure take + its render, stems cached)", _stats(switch), "under 50 ms"))
    undo = []
    for i in range(RUNS):
        s.run(s.regenerate("verse", seed=200 + i, render=True))
        undo.append(_timed(s.undo))
    rows.append(("undo of a regeneration (with render)", _stats(undo), "under 50 ms"))
    rng, lat = random.Random(1), []
    t_render = _timed(lambda: s.run(s.render()))  # the moments to cancel at are drawn over the whole job
    for _ in range(20):
        job = s.render()
        time.sleep(rng.uniform(0.05, t_render))
        t0 = time.perf_counter()
        job.cancel()
        job.join()
        lat.append(time.perf_counter() - t0)
    lat.sort()
    rows.append((f"cancel latency of a render job ({t_render:.1f} s uncancelled), cancelled at a random moment of it: "
                 "p95 / max of 20", f"{lat[18]:.3f} / {lat[-1]:.3f}", "p95 under 0.5 s"))
    s.close()
    return _table("## Project session: edits and jobs (`bench_session.py`)",
                  f"{machine} The 72 s song (intro 4, verse 8, chorus 8, verse 8, chorus 8 at 120 BPM; electric "
                  f"piano, bass, flute, drums) was generated and rendered in {t_gen:.1f} s.", rows)


def project_file(threads: int) -> list[str]:
    """Save and load of a 192 s, 6-track project with 3 diffusion takes per track and section."""
    from benchmarks.bench_project import build_song
    from melodex_studio.engine.diffusion_render import DiffusionOptions
    from melodex_studio.engine.render_takes import vary_takes
    from melodex_studio.engine.session import ProjectSession

    machine = _machine(threads)
    rows = _Rows()
    song = build_song()
    song.takes.clear()
    song.active_takes.clear()
    big = ProjectSession(device="cpu", diffusion=DiffusionOptions(device="cpu"), autosave=False)
    big.new(song)
    t_render = _timed(lambda: big.run(big.render()))

    def variations():  # the engine call itself: the session would also decode every stem again after each
        for sec in list(big.song.sections):
            for step in (4, 6):  # the second varies the first variation (which recorded step 6)
                vary_takes(big.song, big.tensors, sec, step, seed=step, options=big.diffusion)

    t_vary = _timed(variations)
    n_takes = len(big.song.takes)
    folder = Path(tempfile.mkdtemp())
    state_mb = sum(a.nbytes for a in big.tensors.values()) / 1e6
    for label, keep_audio in (("with the stems cached", True), ("without the stem cache", False)):
        if not keep_audio:
            big.audio.clear()
        path = folder / f"big-{keep_audio}.melodex"
        first = _timed(lambda p=path: big.save_as(folder / f"first-{keep_audio}.melodex"))  # encodes every stem
        # the later saves copy their bytes, as the user's first save in the window does: the app writes an
        # autosave copy after each job (with the same arrays), which encodes them on its writer thread
        again = _timed(lambda p=path: big.save_as(p))
        save = []
        for _ in range(RUNS):
            big.set_title(f"Benchmark {len(save)}")
            save.append(_timed(big.save))
        size_mb = path.stat().st_size / 1e6
        load_t = []
        for _ in range(RUNS):
            other = ProjectSession(autosave=False)
            load_t.append(_timed(lambda o=other, p=path: o.open(p, read_only=True)))
            other.close()
        rows.append((f"first save (save as), {label}: every stem encoded", f"{first:.3f}", "under 1 s"))
        rows.append((f"save as, {label}, after the autosave copy encoded them (as the window does after each job)",
                     f"{again:.3f}", "under 1 s"))
        rows.append((f"save, {label}", _stats(save), "under 1 s"))
        rows.append((f"load (open), {label}", _stats(load_t), "under 1 s"))
        rows.append((f"project file size, {label}", f"{size_mb:.1f} MB", "at most 80 MB"))
    big.close()
    return _table("## Project session: a 3-minute project file (`bench_session.py`)",
                  f"{machine} benchmarks/bench_project.py's 192 s song, 6 tracks x 8 sections: diffusion render "
                  f"{t_render:.1f} s, then two variations per section (from step 4, and of that from step 6) in "
                  f"{t_vary:.1f} s: {n_takes} takes with their recorded latents, {state_mb:.1f} MB of tensors.", rows)


def main() -> None:
    import torch

    # the app's setting by default: torch's own thread count (the CPU's cores; the structure sampler uses one)
    threads = int(os.environ.get("MELODEX_BENCH_THREADS", torch.get_num_threads()))
    torch.set_num_threads(threads)
    os.environ.setdefault("MELODEX_DATA_DIR", tempfile.mkdtemp())
    if "--project-only" not in sys.argv:
        write_section(MARK, edits(threads))
    if "--edits-only" not in sys.argv:
        write_section("<!-- session-project -->", project_file(threads))


if __name__ == "__main__":
    main()
