"""Structure-model speed (median of 5 runs, CPU unless CUDA is present): an 8-bar 4-track section, a
3-minute song (~80 bars, 5 tracks, verse/chorus form with repeats) and sampled tokens per second, with the
CPU time of the process (a loaded machine shows as wall > CPU) and the load average at start and end.
Writes the `<!-- structure -->` section of benchmarks/RESULTS.md.

Usage: python benchmarks/bench_structure.py [--model models/structure-small.safetensors] [--runs 5]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from melodex_studio.engine.device import pick_device  # noqa: E402
from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan  # noqa: E402
from melodex_studio.song import Key  # noqa: E402
from melodex_studio.structure import tokens as T  # noqa: E402
from melodex_studio.structure.checkpoint import load_checkpoint  # noqa: E402
from melodex_studio.structure.generate import generate_tokens  # noqa: E402

INST = [InstrumentPlan("piano", 0, "chords"), InstrumentPlan("synth lead", 80, "melody"),
        InstrumentPlan("electric bass", 33, "bass"), InstrumentPlan("pad", 89, "pad"),
        InstrumentPlan("drums", 0, "drums", is_drum=True)]


def plan(form, n_inst, bpm):
    inst = INST[: n_inst - 1] + [INST[-1]]
    return StylePlan(tempo_bpm=bpm, meter=(4, 4), key=Key.parse("A minor"), form=[SectionPlan(a, b) for a, b in form],
                     instruments=inst, drums=True, genre="pop", mood="energetic")


CASES = {
    "section_8bar_4trk": plan([("verse", 8)], 4, 110),
    "song_3min_80bar_5trk": plan([("intro", 8), ("verse", 16), ("chorus", 8), ("verse", 16), ("chorus", 8),
                                  ("bridge", 8), ("chorus", 8), ("outro", 8)], 5, 108),  # 80 bars at 108 BPM = 178 s
}
TARGET = {"section_8bar_4trk": 1.0, "song_3min_80bar_5trk": 10.0}


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "structure-small.safetensors"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    dev = pick_device(a.device)
    if dev.type == "cpu":
        torch.set_num_threads(1)
    model, info = load_checkpoint(a.model, dev)
    load0 = _load()
    rows = []
    for name, p in CASES.items():
        h = T.header_from_plan(p)
        generate_tokens(model, h, seed=0)  # warm-up
        times, cpu, sampled, total = [], [], [], []
        for r in range(a.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            res = generate_tokens(model, h, seed=r + 1)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            sampled.append(res.sampled)
            total.append(len(res.tokens))
        med = statistics.median(times)
        tps = statistics.median(s / t for s, t in zip(sampled, times))
        rows.append((name, h.sections and sum(s.bars for s in h.sections), len(h.tracks), med, TARGET[name],
                     int(statistics.median(sampled)), int(statistics.median(total)), tps, statistics.median(cpu),
                     min(times), max(times)))
        print(f"{name:24s} median {med:7.3f} s (target < {TARGET[name]} s, runs {min(times):.3f}..{max(times):.3f}, "
              f"cpu {rows[-1][8]:.3f} s)  sampled {rows[-1][5]} of {rows[-1][6]} tokens  {tps:6.0f} sampled tok/s",
              flush=True)
    load1 = _load()
    path = ("numpy single-token steps (OpenBLAS, 1 thread) + torch prefill" if dev.type == "cpu"
            else "torch decode steps")
    lines = ["<!-- structure -->", "## Structure model (bench_structure.py, median of %d)" % a.runs, "",
             f"Model `{Path(a.model).name}` ({info['sha256'][:12]}), device {dev}, torch threads "
             f"{torch.get_num_threads()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
             f"load average (1 min) {load0:.1f} at start, {load1:.1f} at end; sampler path: {path}.", "",
             "| case | bars | tracks | median s | min..max s | median CPU s | target s | sampled tokens | total tokens "
             "| sampled tok/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3f} | {r[9]:.2f}..{r[10]:.2f} | {r[8]:.3f} | < {r[4]:g} "
                     f"| {r[5]} | {r[6]} | {r[7]:.0f} |")
    lines.append("<!-- /structure -->")
    block = "\n".join(lines)
    res_path = ROOT / "benchmarks" / "RESULTS.md"
    text = res_path.read_text() if res_path.exists() else "# Benchmark results\n"
    if "<!-- structure -->" in text:
        text = re.sub(r"<!-- structure -->.*?<!-- /structure -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    res_path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
