"""Benchmark: what a user waits for, from prompt to audio, with the diffusion renderer (issue 19).

Through the session calls the CLI and the window make (``ProjectSession``; shipped models, CPU):

* ``generate``: a song from a plan, rendered (structure model, diffusion denoiser, decoder), then the mix, the WAV
  export and the save, each timed; the job's own stages are split by its progress reports (structure, diffusion
  = SoundFont references + denoiser, decode = decoder + levelling);
* ``regenerate``: one 8-bar section, structure + render, then the mix of the whole song;
* ``vary``: the same section's render varied from its middle recorded step, then the mix;
* the CLI itself: ``melodex generate ... --json --progress`` in a new process, time to its first progress line
  (imports and model load before any work) and to its end.

For a 1-minute 4-track song and a 3-minute 6-track song, at 1 and 2 torch threads. Median and min of ``--runs``
(default 5). Real-time factors are wall seconds over song seconds. Rewrites the "End to end" section of
RESULTS.md unless ``--print-only``. Run:
``.venv/bin/python benchmarks/bench_generate.py [--runs 5] [--threads 1,2] [--songs short,long] [--print-only]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_section  # noqa: E402

MARK = "<!-- generate -->"
SONGS = {  # name -> (form, instruments): 120 BPM 4/4, so 30 bars are 60 s
    "short": ([("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 6), ("outro", 4)],
              [("electric piano", 4, "chords"), ("bass", 33, "bass"), ("flute", 73, "melody"),
               ("drums", 0, "drums")]),
    "long": ([("intro", 8), ("verse", 16), ("chorus", 8), ("verse", 16), ("chorus", 16), ("bridge", 8),
              ("chorus", 16), ("outro", 2)],
             [("piano", 0, "chords"), ("bass", 33, "bass"), ("flute", 73, "melody"), ("strings", 48, "pad"),
              ("guitar", 25, "counter"), ("drums", 0, "drums")]),
}


def _plan(name: str):
    from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan
    from melodex_studio.song import Key

    form, instruments = SONGS[name]
    return StylePlan(tempo_bpm=120.0, meter=(4, 4), key=Key.parse("A minor"),
                     form=[SectionPlan(label, bars) for label, bars in form],
                     instruments=[InstrumentPlan(n, p, r, is_drum=(r == "drums")) for n, p, r in instruments],
                     drums=True, genre="pop", mood="happy")


def _stages(marks: list[tuple[str, float]], t0: float, t_end: float) -> dict:
    """Seconds per job stage, in the order they came: from the previous stage's last report to this one's last
    report; what follows the last report until the job returned is "rest of the job" (work that reports nothing)."""
    out: dict[str, float] = {}
    prev = t0
    for i, (stage, t) in enumerate(marks):
        if i + 1 == len(marks) or marks[i + 1][0] != stage:
            out[stage] = out.get(stage, 0.0) + t - prev
            prev = t
    out["rest of the job"] = t_end - prev
    return out


class ModelStages:
    """Seconds spent in the renderer's parts while a job runs: the SoundFont references, the denoiser (sampling
    and resuming), the decoder (whole tracks and the windowed patches) and the levelling, by wrapping those
    functions with a clock (the work itself is unchanged). A call inside another timed call counts for the outer."""

    PARTS = {
        "SoundFont references": [("melodex_studio.engine.diffusion_render", "reference_renders")],
        "denoiser": [("melodex_studio.render.diffusion:DiffusionRenderer", n)
                     for n in ("render_track", "render_section", "resume", "resume_section")],
        "decoder": [("melodex_studio.render.diffusion:DiffusionRenderer", "decode_track"),
                    ("melodex_studio.engine.partial_decode", "patch_stem")],
        "levelling": [("melodex_studio.engine.diffusion_render", "level_to_references"),
                      ("melodex_studio.engine.diffusion_render", "to_stems")],
    }

    def __init__(self) -> None:
        import importlib
        import threading

        self.seconds: dict[str, float] = {}
        self._local = threading.local()
        for part, targets in self.PARTS.items():
            for where, name in targets:
                module, _, cls = where.partition(":")
                owner = importlib.import_module(module)
                owner = getattr(owner, cls) if cls else owner
                setattr(owner, name, self._wrap(part, getattr(owner, name)))

    def _wrap(self, part: str, fn):
        import functools

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if getattr(self._local, "busy", False):
                return fn(*args, **kwargs)
            self._local.busy = True
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - t0
                self._local.busy = False

        return timed

    def take(self) -> dict[str, float]:
        out, self.seconds = self.seconds, {}
        return out


def _timed_job(session, start, marks):
    """(proposal, seconds per stage, seconds of apply) of the session job ``start()`` starts, whose progress
    appends to ``marks``."""
    t0 = time.perf_counter()
    proposal = start().wait()
    t_done = time.perf_counter()
    session.apply(proposal)
    return proposal, _stages(marks, t0, t_done), time.perf_counter() - t_done


_STAGES: list[ModelStages] = []


def _model_stages() -> ModelStages:
    """The one ``ModelStages`` of this process (its wrappers are installed once)."""
    if not _STAGES:
        _STAGES.append(ModelStages())
    _STAGES[0].take()
    return _STAGES[0]


def session_runs(name: str, threads: int, runs: int) -> dict[str, list[float]]:
    """Seconds of each measure over ``runs`` (a new session each run: models loaded once per session)."""
    import torch

    from melodex_studio.engine.diffusion_render import DiffusionOptions
    from melodex_studio.engine.export import cached_render
    from melodex_studio.engine.rendering import mix_result
    from melodex_studio.engine.session import ProjectSession

    torch.set_num_threads(threads)
    plan = _plan(name)
    parts = _model_stages()
    got: dict[str, list[float]] = {}

    def add(key: str, seconds: float) -> None:
        got.setdefault(key, []).append(seconds)

    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            s = ProjectSession(device="cpu", diffusion=DiffusionOptions(device="cpu"), autosave=False)
            marks: list[tuple[str, float]] = []
            mark = lambda pr: marks.append((pr.stage, time.perf_counter()))  # noqa: E731
            _, stages, apply_s = _timed_job(s, lambda: s.generate(plan=plan, seed=10 + i, render=True, progress=mark),
                                            marks)
            t_applied = time.perf_counter()
            for stage, secs in stages.items():
                add(f"generate: {stage}", secs)
            for part, secs in parts.take().items():
                add(f"generate: of the job, {part}", secs)
            add("generate: apply", apply_s)
            rendered = mix_result(s.song, cached_render(s.song, s.audio))
            t_mix = time.perf_counter()
            s.run(s.export(renderer="diffusion", rendered=rendered, wav=Path(tmp) / "song.wav"))
            t_export = time.perf_counter()
            s.save_as(Path(tmp) / "song.melodex")
            t_save = time.perf_counter()
            add("generate: mix", t_mix - t_applied)
            add("generate: WAV export", t_export - t_mix)
            add("generate: save", t_save - t_export)
            add("generate end to end", t_save - t0)
            add("song seconds", s.song.duration_seconds)

            sec = s.song.sections[2]  # the first chorus: 8 bars in both songs

            def edit(name: str, start, what: str) -> None:  # an edit job timed end to end, with the whole mix
                marks.clear()
                parts.take()  # what ran since (the export) is not this job's
                t0 = time.perf_counter()
                _, stages, apply_s = _timed_job(s, start, marks)
                t_job = time.perf_counter()
                mix_result(s.song, cached_render(s.song, s.audio))
                t1 = time.perf_counter()
                for stage, secs in stages.items():
                    add(f"{name}: {stage}", secs)
                for part, secs in parts.take().items():
                    add(f"{name}: of the job, {part}", secs)
                add(f"{name}: apply", apply_s)
                add(f"{name}: mix of the whole song", t1 - t_job)
                add(f"{name} {what} end to end", t1 - t0)

            edit("regenerate", lambda: s.regenerate(sec.id, seed=100 + i, render=True, progress=mark),
                 f"{sec.label} ({sec.length_bars} bars)")
            from melodex_studio.engine.diffusion_render import record_default

            step = record_default(s.diffusion.steps)[1]  # the middle recorded step
            edit("vary", lambda: s.vary(sec.id, step=step, seed=200 + i, variation=0.5, progress=mark),
                 f"{sec.label} from step {step}")
            s.close()
    return got


def cli_runs(threads: int, runs: int) -> dict[str, list[float]]:
    """``melodex generate`` in a new process: first progress line, and the end (the short song's prompt)."""
    prompt = "pop, 120 bpm, A minor, intro 4, verse 8, chorus 8, verse 6, outro 4, electric piano, bass, flute, drums"
    got: dict[str, list[float]] = {}
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "melodex_studio.cli", "generate", prompt, "-o", f"{tmp}/s.melodex",
                   "--wav", f"{tmp}/s.wav", "--renderer", "diffusion", "--seed", str(10 + i), "--json",
                   "--progress"]
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            first = None
            for line in p.stderr:
                if first is None and line.startswith("{") and '"stage"' in line:
                    first = time.perf_counter() - t0
            p.wait()
            end = time.perf_counter() - t0
            if p.returncode != 0:
                raise SystemExit(f"melodex generate failed ({p.returncode}): {p.stdout.read()[-500:]}")
            got.setdefault("CLI: launch -> first progress line", []).append(first if first is not None else end)
            got.setdefault("CLI: generate + render + WAV + save, end to end", []).append(end)
    return got


def _fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} / {min(xs):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--songs", default="short,long")
    ap.add_argument("--print-only", action="store_true")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    load0 = os.getloadavg()[0]
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    for name in args.songs.split(","):
        for t in threads:
            results[(name, t)] = session_runs(name, t, args.runs)
            print(name, t, json.dumps({k: _fmt(v) for k, v in results[(name, t)].items()}), flush=True)
    cli = {t: cli_runs(t, args.runs) for t in threads}
    lines = ["## End to end, diffusion renderer (`bench_generate.py`)", "",
             (f"`.venv/bin/python benchmarks/bench_generate.py --runs {args.runs}`: shipped models, CPU, "
              f"{platform.machine()}, {os.cpu_count()} CPUs shared with other work (load average {load0:.1f} at the "
              f"start, {os.getloadavg()[0]:.1f} at the end). Each run is a new session (models loaded once per "
              "session, as in the window). Seconds, median / min; x RT = median over the song's length."), ""]
    for (name, t), got in results.items():
        song_s = statistics.median(got.pop("song seconds"))
        lines += [f"### {name}: {song_s:.0f} s, {len(SONGS[name][1])} tracks, torch threads {t}", "",
                  "| measure | median / min (s) | x real time | target |", "|---|---|---|---|"]
        for key, xs in got.items():
            target = ""
            if key == "generate end to end":
                target = "0.10x" if name == "short" else "0.12x"
            elif key.startswith("regenerate") and "end to end" in key:
                target = "1.5 s"
            elif key.startswith("vary") and "end to end" in key:
                target = "0.5 s"
            rt = f"{statistics.median(xs) / song_s:.3f}x" if "end to end" in key and key.startswith("generate") else ""
            lines.append(f"| {key} | {_fmt(xs)} | {rt} | {target} |")
        lines.append("")
    for t, got in cli.items():
        lines += [f"### The command line, short song, {t} thread(s) (`OMP_NUM_THREADS`)", "",
                  "| measure | median / min (s) | target |", "|---|---|---|"]
        for key, xs in got.items():
            lines.append(f"| {key} | {_fmt(xs)} | {'1 s' if 'first' in key else ''} |")
        lines.append("")
    if not args.print_only:
        write_section(MARK, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
