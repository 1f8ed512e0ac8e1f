"""What the install checks cost: `melodex doctor --json` as a user runs it (a new process: imports, the
models' sha256, SoundFont search, PortAudio probe), and `run_checks()` alone in a fresh process (what the
window's first start waits for before it shows the "What works" page; the GUI thread runs it once).

    .venv/bin/python benchmarks/bench_doctor.py     # median of 5 each; prints a RESULTS.md table
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
CHECKS = ("import time; t = time.perf_counter(); from melodex_studio.engine.checks import run_checks; "
          "c = run_checks(); print(time.perf_counter() - t)")


def main() -> int:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cli, checks = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "melodex_studio.cli", "doctor", "--json"], cwd=ROOT, env=env,
                       capture_output=True, check=True)
        cli.append(time.perf_counter() - t)
        out = subprocess.run([sys.executable, "-c", CHECKS], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True)
        checks.append(float(out.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()[0]
    print(f"| `melodex doctor --json`, new process, wall | {statistics.median(cli):.2f} s (max {max(cli):.2f}) |")
    print(f"| `run_checks()` in a fresh process (imports + checks; the first-run page's wait) | "
          f"{statistics.median(checks):.2f} s (max {max(checks):.2f}) |")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
