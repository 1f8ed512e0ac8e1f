"""Benchmark: the engine's diffusion path end to end, 30 s of 4-track music at the project rate.

``engine.rendering.render_song(song, "diffusion")`` on ``tests.songs.make_demo_song(bars=15, tracks=4)``:
per track, section by section with the previous section as context, then codec decoding, leveling to the
SoundFont render (the reference render, a BS.1770 gain per section and a true-peak limiter; timed on its own
too), soxr resampling from the codec's 24 kHz to 44.1 kHz and the mixer. Two settings: from noise (strength 1) and from the
SoundFont render's latent at strength 0.5 (SoundFont render + encoder, and half the sampler steps). The
checkpoints are the shipped ones when ``models/`` has them, else random weights of the same presets
(timing does not depend on training). Median and min of 5 after a warm-up; torch threads 1.

Run: ``.venv/bin/python benchmarks/bench_engine_diffusion.py`` (writes the ``<!-- engine-diffusion -->``
section of RESULTS.md).
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.results import write_section  # noqa: E402
from melodex_studio.engine import models  # noqa: E402
from melodex_studio.engine.diffusion_render import DiffusionOptions  # noqa: E402
from melodex_studio.engine.rendering import render_song  # noqa: E402
from melodex_studio.errors import ModelError  # noqa: E402
from melodex_studio.render.codec import CODEC_PRESETS, build_codec  # noqa: E402
from melodex_studio.render.diffusion import save_model  # noqa: E402
from melodex_studio.render.dit import build_dit  # noqa: E402
from tests.songs import make_demo_song  # noqa: E402

RUNS = 5
TARGET_S = 10.0
LATENT_DIM = 64


def checkpoints(tmp: Path) -> tuple[Path, Path, str]:
    try:
        c, r = models.diffusion_model_paths()
        return c, r, "shipped checkpoints"
    except ModelError:
        torch.manual_seed(0)
        from dataclasses import replace

        codec = build_codec(replace(CODEC_PRESETS["small"], latent_dim=LATENT_DIM))
        dit = build_dit("small", latent_dim=LATENT_DIM)
        save_model(codec, codec.cfg.to_json(), tmp / "codec.safetensors", "codec")
        save_model(dit, dit.cfg.to_json(), tmp / "renderer.safetensors", "renderer")
        return tmp / "codec.safetensors", tmp / "renderer.safetensors", f"random weights, small presets, latent {LATENT_DIM}"


def leveling_seconds(song, codec: Path, renderer: Path) -> float:
    """Median time of the engine's leveling step alone (``reference_renders`` + ``level_to_references``) on
    decoded stems of ``song``."""
    import numpy as np

    from melodex_studio.engine.diffusion_render import level_to_references, reference_renders

    dr = models.load_diffusion_renderer(codec, renderer, "auto")
    n = dr.song_frames(song) * dr.hop
    mono = {t.id: np.random.default_rng(0).normal(0, 0.1, n).astype(np.float32) for t in song.tracks}
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        refs = reference_renders(song, list(mono), dr.sample_rate)
        level_to_references(song, mono, refs, dr.sample_rate)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    song = make_demo_song(bars=15, bpm=120, tracks=4)
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        c, r, what = checkpoints(Path(d))
        for strength in (1.0, 0.5):
            opts = DiffusionOptions(strength=strength, codec=c, renderer=r, device="auto")
            render_song(song, "diffusion", diffusion=opts)  # warm-up (model load, caches)
            times = []
            for _ in range(RUNS):
                t0 = time.perf_counter()
                res = render_song(song, "diffusion", diffusion=opts)
                times.append(time.perf_counter() - t0)
            rows.append((strength, statistics.median(times), min(times), res.frames / res.sample_rate))
            print(f"strength {strength}: median {rows[-1][1]:.2f} s, min {rows[-1][2]:.2f} s", flush=True)
        level = leveling_seconds(song, c, r)
    lines = ["## Diffusion renderer through the engine (`bench_engine_diffusion.py`)", "",
             f"`render_song(song, \"diffusion\")`: {song.duration_seconds:.0f} s, 4 tracks x {len(song.sections)} sections, "
             f"default 8 steps dpmpp_2m; codec at 24 kHz -> leveling -> soxr -> 44.1 kHz, mixer included; {what}; torch threads 1; "
             f"{platform.machine()}, {os.cpu_count()} CPUs (shared; load average {load:.1f} at the start). Target: 30 s in under "
             f"{TARGET_S:.0f} s.", "",
             "| start | sampler steps run | median (s) | min (s) | audio (s) | real-time factor (median) |", "|---|---|---|---|---|---|"]
    for strength, med, mn, audio in rows:
        start = "noise" if strength == 1.0 else f"SoundFont render, strength {strength}"
        lines.append(f"| {start} | {8 if strength == 1.0 else int(8 * strength)} | {med:.2f} | {mn:.2f} | {audio:.1f} | {audio / med:.1f}x |")
    lines += ["", f"Of which leveling every stem to its SoundFont render (reference render of the 4 tracks + gains per "
              f"section + true-peak limiter; median of {RUNS}): {level:.2f} s."]
    write_section("<!-- engine-diffusion -->", lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
