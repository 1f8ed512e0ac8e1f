"""Without the SoundFont synthesiser (tinysoundfont is not installed by a plain `pip install .` on Linux: its
PyAudio requirement has no Linux wheel), `melodex generate --wav` renders with the diffusion renderer, says so in
one line, and writes a real WAV; `melodex doctor` reports the synthesiser as missing but not essential.
Tiny random-weight models keep it fast; packaging/README.md has the same run with the shipped models."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import soundfile as sf

from melodex_studio.cli import main
from melodex_studio.engine import models
from tests.engine.session_helpers import write_tiny_models


@pytest.fixture
def no_synth(monkeypatch, tmp_path):
    """tinysoundfont's import fails, as where it is not installed; no user settings or models."""
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("MELODEX_DATA_DIR", str(tmp_path / "data"))
    for env in models.ENVS.values():
        monkeypatch.delenv(env, raising=False)


@pytest.fixture
def tiny_models(monkeypatch, tmp_path):
    paths = write_tiny_models(tmp_path / "models")
    for kind, env in models.ENVS.items():
        monkeypatch.setenv(env, str(paths[kind]))
    return paths


def test_generate_wav_falls_back_to_the_diffusion_renderer(no_synth, tiny_models, tmp_path, capsys):
    wav, project = tmp_path / "x.wav", tmp_path / "x.melodex"
    code = main(["generate", "lofi beat, 80 bpm, F major, verse 4", "-o", str(project), "--wav", str(wav),
                 "--seed", "1", "--steps", "2", "--device", "cpu", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    notes = [line for line in err.splitlines() if "diffusion renderer instead" in line]
    assert len(notes) == 1 and "tinysoundfont" in notes[0]
    doc = json.loads(out)
    audio, rate = sf.read(wav, dtype="float32")
    assert rate == 44100 and audio.ndim == 2 and audio.shape[1] == 2
    assert audio.shape[0] >= int(doc["duration_s"] * rate) - 1  # the whole song
    assert float(np.sqrt(np.mean(audio ** 2))) > 1e-3  # not silent
    assert project.is_file()


def test_asking_for_the_soundfont_renderer_says_what_to_install(no_synth, tmp_path, capsys):
    from melodex_studio.io.project import save_project
    from tests.songs import make_demo_song

    project = tmp_path / "p.melodex"
    save_project(project, make_demo_song(bars=2, tracks=2))
    code = main(["export", str(project), "--wav", str(tmp_path / "p.wav"), "--renderer", "soundfont"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "tinysoundfont" in err and "pip install --no-deps tinysoundfont" in err
    assert not (tmp_path / "p.wav").exists()


def test_doctor_reports_the_synthesiser_missing_but_not_essential(no_synth, capsys):
    code = main(["doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    synth = next(c for c in report["checks"] if c["name"] == "SoundFont synthesiser")
    assert synth["status"] == "missing" and synth["essential"] is False
    assert "diffusion renderer" in synth["detail"] and "pip install --no-deps tinysoundfont" in synth["fix"]
    assert code == 0 and report["ok"] is True  # the shipped models are there: the CLI can render
