"""Benchmark: diffusion rendering of 30 s of 4-track music with the shipped-size ``small`` presets.

The song is ``tests.songs.make_demo_song(bars=15, bpm=120, tracks=4)`` (30 s; drums, bass, piano, lead).
Each run renders every track section by section, as ``DiffusionRenderer.render_track`` does (known left
context from the previous section, default steps/sampler/guidance), then decodes each track's whole latent:
stages are score features, denoiser (all sampling steps, CFG batch of 2) and codec decoder (with the
harmonics of the track's notes when the codec has them). Weights: the shipped checkpoints when ``models/`` has
them, else random weights of the small presets (the timing does not depend on training). The compute floor is the model FLOPs of one run
(``torch.utils.flop_counter``) divided by this CPU's measured fp32 matmul rate.

Prints a table and rewrites the section of ``benchmarks/RESULTS.md`` between ``<!-- renderer -->`` markers.
Run: ``.venv/bin/python benchmarks/bench_renderer.py``
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from benchmarks.results import write_section  # noqa: E402
from melodex_studio.engine.device import pick_device  # noqa: E402
from melodex_studio.render.codec import build_codec  # noqa: E402
from melodex_studio.engine import models  # noqa: E402
from melodex_studio.errors import ModelError  # noqa: E402
from melodex_studio.render.diffusion import DiffusionRenderer, RenderSettings, load_codec, load_dit  # noqa: E402
from melodex_studio.render.dit import build_dit  # noqa: E402
from melodex_studio.render.score_features import section_frames  # noqa: E402
from tests.songs import make_demo_song  # noqa: E402

RUNS = 5
TARGET_S = 10.0
MARK = "<!-- renderer -->"


def matmul_gflops(n: int = 1024, reps: int = 20) -> float:
    """Best fp32 GFLOP/s of an n x n matmul on this machine (current torch thread count)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = min(best, (time.perf_counter() - t0) / reps)
    return 2 * n ** 3 / best / 1e9


def render_once(r: DiffusionRenderer, song, settings: RenderSettings, count_flops: bool = False) -> dict:
    """One full render; returns stage times (s) and, when ``count_flops``, model FLOPs."""
    times = {"features": 0.0, "denoiser": 0.0, "decoder": 0.0}
    flops = {"denoiser": 0, "decoder": 0}
    for track in song.tracks:
        total = r.song_frames(song)
        latent = torch.zeros(total, r.codec.cfg.latent_dim)
        known = torch.zeros(total, dtype=torch.bool)
        for i, sec in enumerate(song.sections):
            t0 = time.perf_counter()
            (a, b, f0, f1), cond, kn, mask = r.section_window(song, track, sec, latent, known)
            t1 = time.perf_counter()
            s = RenderSettings(**{**settings.__dict__, "seed": settings.seed + i})
            if count_flops:
                with FlopCounterMode(display=False) as fc:
                    out = r.sample(cond, b - a, s, None, 1.0, kn, mask)
                flops["denoiser"] += fc.get_total_flops()
            else:
                out = r.sample(cond, b - a, s, None, 1.0, kn, mask)
            t2 = time.perf_counter()
            latent[f0:f1] = out.latent[f0 - a: f1 - a]
            known[f0:f1] = True
            times["features"] += t1 - t0
            times["denoiser"] += t2 - t1
        t0 = time.perf_counter()
        if count_flops:
            with FlopCounterMode(display=False) as fc:
                r.decode_track(song, track, latent)
            flops["decoder"] += fc.get_total_flops()
        else:
            r.decode_track(song, track, latent)
        times["decoder"] += time.perf_counter() - t0
    return {"times": times, "flops": flops}


THREADS = (1, 2)  # torch intra-op threads tried; on a loaded shared CPU one thread can be much faster


def measure() -> dict:
    song = make_demo_song(bars=15, bpm=120, tracks=4)
    device = pick_device("auto")
    try:  # the shipped checkpoints when models/ has them (their sizes and harmonics), else random weights
        codec, dit = (load(p) for load, p in zip((load_codec, load_dit), models.diffusion_model_paths()))
        weights = "shipped checkpoints"
    except ModelError:
        codec = build_codec("small")
        dit = build_dit("small", latent_dim=codec.cfg.latent_dim)
        weights = "random weights"
    r = DiffusionRenderer(codec, dit, device)
    settings = RenderSettings()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    counted = render_once(r, song, settings, count_flops=True)  # also the warm-up
    per_threads = {}
    for th in THREADS if device.type == "cpu" else (torch.get_num_threads(),):
        torch.set_num_threads(th)
        render_once(r, song, settings)
        runs = [render_once(r, song, settings)["times"] for _ in range(RUNS)]
        tot = [sum(t.values()) for t in runs]
        per_threads[th] = {"median": {k: statistics.median(t[k] for t in runs) for k in runs[0]},
                           "total_median": statistics.median(tot), "total_min": min(tot), "gflops": matmul_gflops()}
    best = min(per_threads, key=lambda k: per_threads[k]["total_median"])
    return {
        "audio_s": song.duration_seconds, "frames": r.song_frames(song), "sections": len(song.sections),
        "tracks": len(song.tracks), "per_threads": per_threads, "best_threads": best,
        "total_median": per_threads[best]["total_median"], "flops": counted["flops"], "load": load,
        "device": str(device), "settings": settings,
        "dit_params": sum(p.numel() for p in dit.parameters()), "codec_params": sum(p.numel() for p in codec.parameters()),
        "weights": weights, "codec_cfg": codec.cfg,
    }


def table(r: dict) -> str:
    lines = ["| torch threads | score features (s) | denoiser (s) | decoder (s) | total median (s) | total min (s) | "
             "matmul GFLOP/s | compute floor (s) |", "|---|---|---|---|---|---|---|---|"]
    gf = sum(r["flops"].values()) / 1e9
    for th, p in r["per_threads"].items():
        m = p["median"]
        lines.append(f"| {th} | {m['features']:.3f} | {m['denoiser']:.3f} | {m['decoder']:.3f} | {p['total_median']:.3f} | "
                     f"{p['total_min']:.3f} | {p['gflops']:.0f} | {gf / p['gflops']:.2f} |")
    lines += ["", f"Model FLOPs of one render (torch.utils.flop_counter): denoiser {r['flops']['denoiser'] / 1e9:.1f} GFLOP, "
              f"decoder {r['flops']['decoder'] / 1e9:.1f} GFLOP, total {gf:.1f} GFLOP (score features: numpy, not counted)."]
    return "\n".join(lines)


def write_results(r: dict, body: str) -> None:
    s = r["settings"]
    ok = r["total_median"] < TARGET_S
    section = "\n".join([
        "## Diffusion rendering",
        "",
        f"`.venv/bin/python benchmarks/bench_renderer.py` (`DiffusionRenderer`, `small` DiT "
        f"{r['dit_params'] / 1e6:.1f} M params + `small` codec {r['codec_params'] / 1e6:.1f} M params, latent "
        f"{r['codec_cfg'].latent_dim}, {r['codec_cfg'].harmonics} harmonics per note; {r['weights']}). "
        f"Target: 30 s of 4-track music in under {TARGET_S:.0f} s; measured {r['total_median']:.1f} s (median of {RUNS}) - "
        f"{'met' if ok else 'NOT met'}.",
        "",
        f"{r['audio_s']:.0f} s song (`tests.songs.make_demo_song(bars=15, tracks=4)`), {r['tracks']} tracks x "
        f"{r['sections']} sections, {r['frames']} latent frames per track (25 Hz); sampler {s.sampler}, {s.steps} steps, "
        f"guidance {s.guidance} in t-interval {s.guidance_interval} (a batch of 2 on those steps); device {r['device']}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs (shared; load average {r['load']:.1f} when the runs started); "
        f"headline = the faster thread setting ({r['best_threads']}); matmul rate = 1024^3 fp32, best of 3.",
        "",
        body,
    ])
    write_section(MARK, section.split("\n"))


def main() -> None:
    r = measure()
    body = table(r)
    print(body)
    write_results(r, body)


if __name__ == "__main__":
    main()
