"""Benchmark: parse 1,000 prompts (median of 5 runs) and write the <!-- prompt --> section of RESULTS.md.

Run: .venv/bin/python benchmarks/bench_prompt.py
Prompts: the shared public prompts (when present) plus generated musician-style prompts, cycled to 1,000.
"""
from __future__ import annotations

import json
import platform
import random
import re
import statistics
import time
from pathlib import Path

from melodex_studio.prompt.parse import parse_prompt

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "../shared/prompts/public.jsonl"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
START = END = "<!-- prompt -->"  # the same marker opens and closes the section, as in the other sections


def prompts(n: int = 1000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    base = [json.loads(l)["prompt"] for l in PUBLIC.read_text().splitlines() if l.strip()] if PUBLIC.exists() else []
    genres = ["lofi hip hop", "deep house", "jazz ballad", "rock anthem", "bossa nova", "celtic jig", "synthwave",
              "ambient", "trap", "folk song", "baroque chorale", "reggae", "drum and bass", "gospel"]
    extras = ["with piano and strings", "rhodes, upright bass and brushed drums", "no drums", "808s and pads",
              "string quartet", "distorted guitars, bass and drums", "tin whistle and bodhran", "voices only"]
    keys = ["F major", "C# minor", "in the key of G", "E-flat", "Am", "F sharp minor", "Bb"]
    forms = ["intro 4, verse 8, chorus 8, outro 4", "AABA, 8 bars each", "[Intro 4] [Verse 8] [Chorus 8]",
             "two verses and two choruses of 8 bars each", "2 minutes long", "32 bars", ""]
    while len(base) < 200:
        base.append(f"{rng.choice(['dreamy', 'dark', 'upbeat', 'slow', 'epic', ''])} {rng.choice(genres)} "
                    f"{rng.choice(extras)}, {rng.randint(60, 180)} bpm, {rng.choice(keys)}, {rng.choice(forms)}")
    return [base[i % len(base)] for i in range(n)]


def run(items: list[str]) -> float:
    t0 = time.perf_counter()
    for p in items:
        parse_prompt(p)
    return time.perf_counter() - t0


def main() -> None:
    items = prompts()
    run(items[:50])  # warm up
    times = [run(items) for _ in range(5)]
    med = statistics.median(times)
    section = (f"{START}\n## Prompt parsing (`benchmarks/bench_prompt.py`)\n\n"
               f"Parsing {len(items)} prompts (text -> StylePlan, defaults filled), median of 5 runs: "
               f"**{med:.3f} s** ({med / len(items) * 1e6:.0f} µs per prompt; runs: "
               f"{', '.join(f'{t:.3f}' for t in times)} s). Target: under 1 s.\n"
               f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
               f"shared 2-core box (other jobs running).\n{END}")
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if START in text:
        text = re.sub(r"<!-- prompt -->.*?<!-- /?prompt -->", lambda _: section, text, count=1, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
