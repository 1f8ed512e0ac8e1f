"""Shared by the benchmark scripts: timing of repeated runs, and replacing one marked section of
benchmarks/RESULTS.md."""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(mark: str, lines: list[str]) -> None:
    """Put ``lines`` between two ``mark`` lines (``<!-- name -->``) in RESULTS.md, replacing what was there."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    section = "\n".join([mark, *lines, mark])
    if mark in text:
        head, _, rest = text.partition(mark)
        _, _, tail = rest.partition(mark)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def median_min(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median, min) wall time of ``fn()`` in seconds over ``runs`` runs."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)
