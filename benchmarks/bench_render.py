"""Benchmark: SoundFont rendering of the 3-minute, 6-track demo song, as a real-time factor.

The song is ``tests.songs.make_demo_song(bars=96, bpm=120, tracks=6)`` (192 s; drums, bass, piano,
lead, pad, strings). Each run renders every track with ``SoundFontRenderer.render`` (dry stems, release
tails, their sum); the mix stage (``mix.mixer.mix_stems``) is timed separately. Real-time factor =
audio seconds / wall seconds (higher is faster). Other processes may load the CPU: the table shows the
median and the fastest of ``RUNS`` runs.

Prints a table and rewrites the "SoundFont rendering" section of ``benchmarks/RESULTS.md`` (between
``<!-- render -->`` markers). Run: ``.venv/bin/python benchmarks/bench_render.py``
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

from benchmarks.results import write_section  # noqa: E402
from melodex_studio.mix.mixer import mix_stems  # noqa: E402
from melodex_studio.render.soundfont import SoundFontRenderer  # noqa: E402
from tests.songs import make_demo_song  # noqa: E402

RUNS = 5
TARGET_RTF = 20.0
MARK = "<!-- render -->"


def measure() -> dict:
    song = make_demo_song(bars=96, bpm=120, tracks=6)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    renderer = SoundFontRenderer()
    load_s = time.perf_counter() - t0
    render_s, mix_s = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        res = renderer.render(song)
        t1 = time.perf_counter()
        mix_stems(song, res.stems)
        t2 = time.perf_counter()
        render_s.append(t1 - t0)
        mix_s.append(t2 - t1)
    audio_s = song.duration_seconds
    return {
        "soundfont": renderer.soundfont_path.name, "load_s": load_s, "load": load, "audio_s": audio_s,
        "frames_s": res.frames / res.sample_rate, "notes": sum(len(t.notes) for t in song.tracks),
        "render_median": statistics.median(render_s), "render_min": min(render_s),
        "mix_median": statistics.median(mix_s), "mix_min": min(mix_s),
    }


def table(r: dict) -> str:
    rows = [
        ("render (6 stems + sum)", r["render_median"], r["render_min"]),
        ("mix (gain, pan, trim)", r["mix_median"], r["mix_min"]),
        ("render + mix", r["render_median"] + r["mix_median"], r["render_min"] + r["mix_min"]),
    ]
    lines = ["| stage | median (s) | min (s) | real-time factor (median) | real-time factor (best) |", "|---|---|---|---|---|"]
    for name, med, best in rows:
        lines.append(f"| {name} | {med:.3f} | {best:.3f} | {r['audio_s'] / med:.0f}x | {r['audio_s'] / best:.0f}x |")
    return "\n".join(lines)


def write_results(r: dict, body: str) -> None:
    rtf = r["audio_s"] / (r["render_median"] + r["mix_median"])
    section = "\n".join([
        "## SoundFont rendering",
        "",
        f"`.venv/bin/python benchmarks/bench_render.py` (`SoundFontRenderer.render` + `mix_stems`). Target: "
        f"at least {TARGET_RTF:.0f}x real time; measured {rtf:.0f}x (median) - "
        f"{'met' if rtf >= TARGET_RTF else 'NOT met'}.",
        "",
        f"{r['audio_s']:.0f} s song (`tests.songs.make_demo_song`, 96 bars, 120 BPM, 6 tracks, {r['notes']} notes), "
        f"{r['frames_s']:.1f} s rendered with tails, SoundFont {r['soundfont']} (loaded in {r['load_s']:.2f} s), "
        f"44.1 kHz stereo float32; median and min of {RUNS}; {platform.machine()}, {os.cpu_count()} CPUs (shared; "
        f"load average {r['load']:.1f} when the runs started)",
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
