"""What every command that works on a project shares: the session built from the arguments, progress on the
terminal (a tqdm bar with stage and ETA on a terminal, JSON lines with ``--json --progress``, nothing when
piped) and running a job to its end. A helper module: it registers no command."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..progress import Progress


def add_progress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action="store_true",
                   help="with --json: print progress as JSON lines on stderr (without --json a bar shows on a terminal)")


class TerminalProgress:
    """A ``ProgressCallback``: one tqdm bar per stage on stderr when it is a terminal; JSON lines on stderr
    when ``json_lines``; otherwise silent."""

    def __init__(self, json_lines: bool = False, enabled: bool | None = None):
        self.json_lines = json_lines
        self.enabled = json_lines or (sys.stderr.isatty() if enabled is None else enabled)
        self._bar = None
        self._stage = None

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if self.json_lines:
            print(json.dumps({"stage": p.stage, "step": p.step, "total": p.total, "fraction": round(p.fraction, 4),
                              "message": p.message, "elapsed_s": round(p.elapsed_s, 3)}), file=sys.stderr, flush=True)
            return
        from tqdm import tqdm

        if p.stage != self._stage:
            self.close()
            self._stage = p.stage
            self._bar = tqdm(total=p.total, desc=p.stage, file=sys.stderr, leave=False, unit="step",
                             bar_format="{desc:<10} {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]")
        self._bar.n = p.step
        self._bar.set_postfix_str(p.message[:40], refresh=False)
        self._bar.refresh()

    def log(self, text: str) -> None:
        """Print a log line without breaking the bar (a training run's loss lines, say)."""
        if self._bar is not None:
            from tqdm import tqdm

            tqdm.write(text, file=sys.stdout)
        else:
            print(text, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def progress_for(args: argparse.Namespace) -> TerminalProgress:
    return TerminalProgress(json_lines=bool(getattr(args, "json", False) and getattr(args, "progress", False)),
                            enabled=None if not getattr(args, "json", False) else False)


_open_sessions: list = []


def session_for(args: argparse.Namespace, autosave: bool = False):
    """A ``ProjectSession`` with the device, structure model and diffusion options the arguments name; the
    command line closes it (releasing the project's lock) when the command ends (``close_sessions``)."""
    from ..engine.session import ProjectSession
    from .renderer_options import diffusion_options

    opts = diffusion_options(args) if hasattr(args, "steps") else None
    session = ProjectSession(device=getattr(args, "device", "auto"), structure_model=getattr(args, "model", None),
                             diffusion=opts, autosave=autosave)
    _open_sessions.append(session)
    return session


def close_sessions() -> None:
    while _open_sessions:
        _open_sessions.pop().close()


def run(session, job, progress: TerminalProgress):
    """Wait for ``job`` (Ctrl-C cancels it: nothing changes) and apply its proposal."""
    try:
        proposal = session.run(job)
    finally:
        progress.close()
    for note in proposal.notes:  # e.g. "ran it on the CPU instead" after a GPU ran out of memory
        print(f"note: {note}", file=sys.stderr)
    return proposal


def wait(job, progress: TerminalProgress):
    """Wait for a job whose proposal changes nothing (export)."""
    try:
        return job.wait()
    finally:
        progress.close()


def export_kwargs(args: argparse.Namespace, project: Path | str) -> dict:
    """The export options a command's arguments give (absent ones take their defaults)."""
    g = lambda name, default=None: getattr(args, name, default)  # noqa: E731
    return {"midi": g("midi"), "wav": g("wav"), "stems_dir": g("stems"), "rate": g("rate"), "bits": g("bits", 24),
            "fmt": g("fmt", "wav"), "lufs": g("lufs", False), "dither": not g("no_dither", False),
            "midi_type": 0 if g("type0", False) else 1, "project_name": Path(project).stem,
            "soundfont": g("soundfont"), "renderer": g("renderer") or "soundfont"}


def print_written(report) -> None:
    from .project_files import format_duration

    if report.midi:
        print(f"MIDI   {report.midi}")
    if report.wav:
        print(f"mix    {report.wav}  ({report.sample_rate} Hz, {report.bits}-bit, {format_duration(report.duration_seconds)},"
              f" peak {report.peak_dbfs:.1f} dBFS)")
    for p in report.stems:
        print(f"stem   {p}")
