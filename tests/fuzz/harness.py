"""The fuzzing harness shared by the project, MIDI and model loader fuzz tests.

Each example runs one loader on one mutated file and must end in a clean ``MelodexError`` or a valid result,
within ``MAX_SECONDS``, with the process's resident memory growing by less than ``MAX_GROWTH_BYTES``, and
without changing the file. Anything else (another exception: a traceback) fails the test, and hypothesis
shrinks it to the smallest mutation that still fails.

Settings: seeded (``derandomize``: the same examples on every run), no example database, ``EXAMPLES``
examples per test: 100 in the suite, ``MELODEX_FUZZ_EXAMPLES`` (``make fuzz``: 2,000) for a longer run. With
``MELODEX_FUZZ_REPORT`` set to a file, each test appends one JSON line of numbers (runs, valid results,
errors by kind, slowest run, largest peak RSS and growth) and prints it.
"""
from __future__ import annotations

import collections
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from melodex_studio.errors import MelodexError

EXAMPLES = int(os.environ.get("MELODEX_FUZZ_EXAMPLES", "100"))
MAX_SECONDS = float(os.environ.get("MELODEX_FUZZ_MAX_SECONDS", "15"))  # make fuzz: 5 s (the bound)
MAX_GROWTH_BYTES = 2**30


def fuzz_settings():
    return settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture])


class Quiet(tuple):
    """A fixture's value with a short repr (hypothesis prints the fixtures of a failing example; seed bytes would
    fill the screen)."""

    def __repr__(self) -> str:
        return f"<{len(self)} fuzz fixture values>"


# --- memory ------------------------------------------------------------------------------------------
def _status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset the process's peak RSS (Linux: /proc/self/clear_refs); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def current_rss() -> int:
    rss = _status_bytes("VmRSS")
    if rss is None:
        import resource
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return rss


def peak_rss() -> int:
    peak = _status_bytes("VmHWM")
    if peak is None:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak


# --- bookkeeping ----------------------------------------------------------------------------------------
@dataclass
class Stats:
    target: str
    runs: int = 0
    valid: int = 0
    errors: collections.Counter = field(default_factory=collections.Counter)
    max_seconds: float = 0.0
    max_rss_bytes: int = 0
    max_growth_bytes: int = 0

    def report(self) -> dict:
        return {"target": self.target, "examples": self.runs, "valid": self.valid, "tracebacks": 0,
                "errors": dict(self.errors.most_common()), "max_seconds": round(self.max_seconds, 3),
                "max_rss_mb": round(self.max_rss_bytes / 2**20, 1),
                "max_growth_mb": round(self.max_growth_bytes / 2**20, 1)}

    def write(self) -> None:
        out = os.environ.get("MELODEX_FUZZ_REPORT")
        if out and self.runs:
            line = json.dumps(self.report())
            print(f"\nfuzz {line}")
            with open(out, "a") as f:
                f.write(line + "\n")


def file_state(path: Path) -> tuple[str, int, int]:
    st_ = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st_.st_size, st_.st_mtime_ns


def check_one(stats: Stats, path: Path, load, use=None) -> None:
    """Run ``load(path)`` (and ``use(result)`` on a valid result) under the harness's rules; see the module."""
    before = file_state(path)
    exact_peak = _reset_peak()
    rss0 = current_rss()
    t0 = time.perf_counter()
    outcome = "valid"
    try:
        result = load(path)
        if use is not None:
            use(result)
    except MelodexError as e:
        outcome = type(e).__name__
        assert str(e), "an error without a message"
    seconds = time.perf_counter() - t0
    peak = peak_rss()
    growth = max(0, peak - rss0) if exact_peak else 0
    stats.runs += 1
    stats.valid += outcome == "valid"
    if outcome != "valid":
        stats.errors[outcome] += 1
    stats.max_seconds = max(stats.max_seconds, seconds)
    stats.max_rss_bytes = max(stats.max_rss_bytes, peak)
    stats.max_growth_bytes = max(stats.max_growth_bytes, growth)
    assert seconds < MAX_SECONDS, f"took {seconds:.1f} s"
    assert growth < MAX_GROWTH_BYTES, f"memory grew by {growth / 2**20:.0f} MB"
    assert file_state(path) == before, "the file changed"


# --- mutations -----------------------------------------------------------------------------------------
INTERESTING_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x20, 0x30]


@st.composite
def byte_mutations(draw, size: int, max_ops: int = 4):
    """A list of mutations of a ``size``-byte file: ('flip', at, bit), ('set', at, byte), ('insert', at, bytes),
    ('delete', at, n), ('repeat', at, n, times), ('truncate', at), ('int', at, width, value)."""
    ops = []
    for _ in range(draw(st.integers(1, max_ops))):
        at = draw(st.integers(0, max(size - 1, 0)))
        kind = draw(st.sampled_from(["flip", "set", "set", "insert", "delete", "repeat", "truncate", "int"]))
        if kind == "flip":
            ops.append((kind, at, draw(st.integers(0, 7))))
        elif kind == "set":
            ops.append((kind, at, draw(st.sampled_from(INTERESTING_BYTES) | st.integers(0, 255))))
        elif kind == "insert":
            ops.append((kind, at, draw(st.binary(min_size=1, max_size=16))))
        elif kind == "delete":
            ops.append((kind, at, draw(st.integers(1, 64))))
        elif kind == "repeat":
            ops.append((kind, at, draw(st.integers(1, 64)), draw(st.sampled_from([2, 10, 1000, 20_000]))))
        elif kind == "truncate":
            ops.append((kind, at))
        else:
            width = draw(st.sampled_from([1, 2, 4]))
            value = draw(st.sampled_from([0, 1, 2**(8 * width) - 1, 2**(8 * width - 1), 2**(8 * width - 1) - 1])
                         | st.integers(0, 2**(8 * width) - 1))
            ops.append((kind, at, width, value))
    return ops


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op in ops:
        kind, at = op[0], min(op[1], max(len(b) - 1, 0))
        if not b and kind != "insert":
            continue
        if kind == "flip":
            b[at] ^= 1 << op[2]
        elif kind == "set":
            b[at] = op[2]
        elif kind == "insert":
            b[at:at] = op[2]
        elif kind == "delete":
            del b[at:at + op[2]]
        elif kind == "repeat":
            b[at:at] = bytes(b[at:at + op[2]]) * (op[3] - 1)
        elif kind == "truncate":
            del b[at:]
        elif kind == "int":
            b[at:at + op[2]] = op[3].to_bytes(op[2], "big")
    return bytes(b)
