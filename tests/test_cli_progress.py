"""CLI progress: JSON lines with --json --progress, a tqdm bar on a terminal, nothing when piped; a closed pipe
ends quietly; errors of --json commands are JSON too."""
from __future__ import annotations

import io
import json
import subprocess
import sys

from melodex_studio.cli import main
from melodex_studio.commands.common import TerminalProgress
from melodex_studio.progress import Progress
from tests.engine.session_helpers import write_tiny_models


def test_generate_json_progress_lines(tmp_path, capsys):
    model = write_tiny_models(tmp_path)["structure"]
    out = tmp_path / "s.melodex"
    assert main(["generate", "pop song, piano and drums; verse 2, chorus 2", "-o", str(out), "--seed", "1", "--json",
                 "--progress", "--model", str(model), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.err.splitlines() if x.startswith("{")]
    assert lines[0]["stage"] == "load" and "structure model" in lines[0]["message"]  # first, before the imports
    assert lines[1:] and {x["stage"] for x in lines[1:]} == {"structure"}
    fractions = [x["fraction"] for x in lines[1:]]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert json.loads(captured.out)["output"] == str(out)  # stdout: the one summary object
    capsys.readouterr()
    assert main(["regenerate", str(tmp_path / "missing.melodex"), "--section", "0", "--json"]) == 3
    doc = json.loads(capsys.readouterr().out)  # errors of a --json command are one JSON object too
    assert doc["error"]["type"] == "ProjectError" and "does not exist" in doc["error"]["message"]


def test_a_bar_on_a_terminal_and_silence_in_a_pipe(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = TerminalProgress(enabled=True)
    for i in range(1, 5):
        bar(Progress("diffusion", i, 4, f"step {i}"))
    bar.close()
    assert "diffusion" in err.getvalue() and "100%" in err.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr(sys, "stderr", quiet)
    TerminalProgress()(Progress("diffusion", 1, 4))  # stderr is not a terminal
    assert quiet.getvalue() == ""


def test_a_closed_pipe_ends_quietly():
    p = subprocess.Popen([sys.executable, "-m", "melodex_studio.cli", "plan", "lofi beat, 82 bpm, F major", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader (`| head`) is gone before the command writes
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err, err


def test_the_readme_lists_the_exit_codes_of_melodex_help():
    from pathlib import Path

    from melodex_studio.errors import exit_code_table

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for line in exit_code_table().splitlines():
        code, text = line.split(maxsplit=1)
        assert f"| {code} | {text} |" in readme
