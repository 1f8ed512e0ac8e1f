"""Benchmark: what keeping diffusion renders as takes costs, on a 3-minute 6-track song.

``engine.render_takes.render_with_takes`` renders ``tests.songs.make_demo_song()`` (192 s, 6 tracks) with the
diffusion renderer (default 8 steps, latents recorded at steps 2, 4 and 6) and records one take per track and
section. Measured: the render (once; ``bench_engine_diffusion.py`` times rendering itself), the size of the
recorded state (float32 latents in ``state.safetensors``), project save and load with that state (median of
5), a variation of one track in one section from step 4 (``vary_takes``, median of 5) and rebuilding the
whole song's stems from the takes (``decode_takes``, median of 3). Checkpoints: the shipped ones when
``models/`` has them, else random weights of the small presets (sizes and times do not depend on training).

Run: ``.venv/bin/python benchmarks/bench_render_takes.py`` (writes the ``<!-- render-takes -->`` section of
RESULTS.md).
"""
from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.bench_engine_diffusion import checkpoints  # noqa: E402
from benchmarks.results import median_min, write_section  # noqa: E402
from melodex_studio.engine.diffusion_render import DiffusionOptions  # noqa: E402
from melodex_studio.engine.render_takes import current_take, decode_takes, render_with_takes, vary_takes  # noqa: E402
from melodex_studio.io.project import read_project, save_project  # noqa: E402
from tests.songs import make_demo_song  # noqa: E402


def rebuild_split(song, tensors: dict, opts: DiffusionOptions) -> tuple[float, float, float]:
    """Seconds of the three stages of ``decode_takes`` run once: codec decoding of every track, the SoundFont
    reference render, leveling."""
    from melodex_studio.engine.diffusion_render import level_to_references, reference_renders
    from melodex_studio.engine.models import load_diffusion_renderer
    from melodex_studio.engine.render_takes import track_latent

    dr = load_diffusion_renderer(opts.codec, opts.renderer, opts.device)
    t0 = time.perf_counter()
    mono = {tr.id: dr.decode_track(song, tr, track_latent(song, tensors, tr.id, dr)[0]) for tr in song.tracks}
    t1 = time.perf_counter()
    refs = reference_renders(song, list(mono), dr.sample_rate)
    t2 = time.perf_counter()
    level_to_references(song, mono, refs, dr.sample_rate)
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def main() -> None:
    torch.set_num_threads(1)
    song = make_demo_song()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as d:
        c, r, what = checkpoints(Path(d))
        opts = DiffusionOptions(codec=c, renderer=r, device="auto")
        tensors: dict = {}
        t0 = time.perf_counter()
        _, takes = render_with_takes(song, tensors, options=opts)
        render_s = time.perf_counter() - t0
        print(f"render with takes: {render_s:.1f} s, {len(takes)} takes", flush=True)
        state_mb = sum(a.nbytes for a in tensors.values()) / 1e6
        path = Path(d) / "song.melodex"
        save_s = median_min(lambda: save_project(path, song, tensors), 5)
        file_mb = path.stat().st_size / 1e6
        load_s = median_min(lambda: read_project(path), 5)
        proj = read_project(path)
        sec = proj.song.sections[2]
        original = current_take(proj.song, sec, proj.song.tracks[0].id)
        work = dict(proj.tensors)
        seeds = iter(range(100, 200))
        vary_s = median_min(lambda: vary_takes(proj.song, work, sec, 4, seed=next(seeds), take_id=original.id, options=opts), 5)
        decode_s = median_min(lambda: decode_takes(proj.song, work, options=opts), 3)
        split = rebuild_split(proj.song, work, opts)
    lines = ["## Diffusion renders kept as takes (`bench_render_takes.py`)", "",
             f"{song.duration_seconds:.0f} s song, {len(song.tracks)} tracks x {len(song.sections)} sections, default 8 steps, "
             f"latents recorded at steps 2, 4, 6 (two float32 latents each) + the final latent per take; {what}; "
             f"torch threads 1; {platform.machine()}, {os.cpu_count()} CPUs (shared; load average {load:.1f} at the start).", "",
             "| what | value |", "|---|---|",
             f"| render + record {len(takes)} takes (once) | {render_s:.1f} s |",
             f"| recorded state | {state_mb:.1f} MB of tensors, {state_mb / len(song.tracks):.1f} MB per track |",
             f"| project file with it (no audio cache) | {file_mb:.1f} MB |",
             f"| save, median / min of 5 | {save_s[0]:.3f} / {save_s[1]:.3f} s |",
             f"| load (`read_project`), median / min of 5 | {load_s[0]:.3f} / {load_s[1]:.3f} s |",
             f"| vary one track of one {sec.length_bars}-bar section from step 4, median / min of 5 | {vary_s[0]:.3f} / {vary_s[1]:.3f} s |",
             f"| rebuild all stems from the takes (no sampling: codec decoding, SoundFont reference render, leveling), "
             f"median / min of 3 | {decode_s[0]:.2f} / {decode_s[1]:.2f} s |",
             f"| of which (one run): codec decoding / SoundFont reference render / leveling | {split[0]:.1f} / {split[1]:.1f} / "
             f"{split[2]:.1f} s |"]
    write_section("<!-- render-takes -->", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
