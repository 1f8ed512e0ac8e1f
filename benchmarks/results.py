"""Shared by the benchmark scripts: replace one marked section of benchmarks/RESULTS.md."""
from __future__ import annotations

from pathlib import Path

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
