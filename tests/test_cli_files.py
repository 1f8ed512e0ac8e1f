"""`melodex import | render | export | info` run for real: files written and read back, exit codes."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from melodex_studio.cli import main
from melodex_studio.io.midi import export_midi
from melodex_studio.io.project import load_project, save_project
from tests.songs import make_demo_song

ROOT = Path(__file__).resolve().parents[1]
# These tests are about files and exit codes, not the renderer: the SoundFont one needs no models and is fast.
SOUNDFONT = ("--renderer", "soundfont")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A 12-bar, 6-track project with a tempo change; the Strings track is muted."""
    song = make_demo_song(bars=12, bpm=110, tracks=6, tempo_changes=[(8 * 1920, 96.0)])
    song.update_track(song.tracks[5].id, mute=True)
    path = tmp_path_factory.mktemp("proj") / "Demo Song.melodex"
    save_project(path, song)
    return path


def residual_db(stem_files: list[Path], mix_file: Path) -> float:
    mix, _ = sf.read(mix_file, dtype="float64")
    total = sum(sf.read(f, dtype="float64")[0] for f in stem_files)
    return 20 * math.log10(np.sqrt(np.mean((total - mix) ** 2)) / np.sqrt(np.mean(mix ** 2)))


def test_import_midi_to_a_project(tmp_path, capsys):
    song = make_demo_song(bars=8, bpm=97, tracks=4)
    mid = tmp_path / "in.mid"
    export_midi(song, mid)
    out = tmp_path / "x.melodex"
    assert main(["import", str(mid), "-o", str(out)]) == 0
    assert "4 tracks" in capsys.readouterr().out
    back = load_project(out)
    assert [t.name for t in back.tracks] == [t.name for t in song.tracks]
    assert [len(t.notes) for t in back.tracks] == [len(t.notes) for t in song.tracks]
    assert back.tempo_map.changes[0].bpm == 97
    assert back.tracks[0].is_drum and back.tracks[1].program == 33


def test_info_json(project, capsys):
    assert main(["info", str(project), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    song = load_project(project)
    assert info["title"] == song.title
    assert info["bpm"] == 110.0
    assert info["tempo_map"] == [{"tick": 0, "bpm": 110.0}, {"tick": 8 * 1920, "bpm": 96.0}]
    assert info["meter"] == "4/4" and info["key"] == "C major"
    assert [(s["label"], s["start_bar"], s["bars"]) for s in info["sections"]] == [
        (s.label, s.start_bar, s.length_bars) for s in song.sections
    ]
    assert [t["name"] for t in info["tracks"]] == ["Drums", "Bass", "Piano", "Lead", "Pad", "Strings"]
    assert info["tracks"][0]["drum"] is True and info["tracks"][1]["program"] == 33
    assert info["tracks"][1]["notes"] == len(song.tracks[1].notes) > 0
    assert info["duration_seconds"] == pytest.approx(8 * 4 * 60 / 110 + 4 * 4 * 60 / 96)


def test_info_text(project, capsys):
    assert main(["info", str(project)]) == 0
    text = capsys.readouterr().out
    assert "110 BPM" in text and "96 BPM" in text and "verse" in text and "muted" in text


def test_export_everything(project, tmp_path, capsys):
    midi, wav, stems = tmp_path / "song.mid", tmp_path / "song.wav", tmp_path / "stems"
    rc = main(["export", str(project), "--midi", str(midi), "--wav", str(wav), "--stems", str(stems),
               "--rate", "48000", "--bits", "24", "--json", *SOUNDFONT])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    info = sf.info(str(wav))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_24")
    song = load_project(project)
    assert info.duration >= song.duration_seconds
    files = sorted(stems.iterdir())
    assert len(files) == 5  # the muted Strings track has no stem
    assert [f.name for f in files][0] == "Demo_Song_01_Drums.wav"
    assert all(sf.info(str(f)).frames == info.frames for f in files)
    assert residual_db(files, wav) < -60.0
    assert report["stems_residual_db"] is None or report["stems_residual_db"] < -100
    m = mido.MidiFile(str(midi))
    assert m.type == 1
    assert sum(1 for tr in m.tracks for msg in tr if msg.type == "note_on" and msg.velocity > 0) == sum(
        len(t.notes) for t in song.tracks
    )


def test_export_type0_midi_and_16_bit_flac(project, tmp_path):
    midi, wav = tmp_path / "t0.mid", tmp_path / "mix.flac"
    assert main(["export", str(project), "--midi", str(midi), "--type0", "--wav", str(wav), "--bits", "16",
                 "--format", "flac", "--no-dither", *SOUNDFONT]) == 0
    assert mido.MidiFile(str(midi)).type == 0
    info = sf.info(str(wav))
    assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_16", 44100)


def test_export_streaming_loudness_keeps_stems_summing_to_the_mix(tmp_path):
    import pyloudnorm

    song = make_demo_song(bars=3, bpm=120, tracks=6)
    path = tmp_path / "short.melodex"
    save_project(path, song)
    wav, stems = tmp_path / "loud.wav", tmp_path / "stems"
    assert main(["export", str(path), "--wav", str(wav), "--stems", str(stems), "--lufs", *SOUNDFONT]) == 0
    mix, rate = sf.read(wav, dtype="float64")
    assert pyloudnorm.Meter(rate).integrated_loudness(mix) == pytest.approx(-14.0, abs=0.5)
    assert residual_db(sorted(stems.iterdir()), wav) < -60.0


def test_render_one_section_of_one_track(project, tmp_path):
    wav = tmp_path / "chorus.wav"
    assert main(["render", str(project), "--wav", str(wav), "--section", "verse", "--track", "Bass", *SOUNDFONT]) == 0
    song = load_project(project)
    start, end = song.section_ticks(song.section("verse"))
    length_s = song.tick_to_seconds(end) - song.tick_to_seconds(start)
    audio, rate = sf.read(wav)
    assert length_s <= len(audio) / rate <= length_s + 4.1
    assert np.sqrt(np.mean(audio ** 2)) > 1e-3


def test_user_errors_exit_non_zero_with_a_readable_message(project, tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing.melodex")]) == 3
    assert "does not exist" in capsys.readouterr().err
    bad_mid = tmp_path / "bad.mid"
    bad_mid.write_bytes(b"not midi at all")
    assert main(["import", str(bad_mid), "-o", str(tmp_path / "y.melodex")]) == 4
    assert "not a MIDI file" in capsys.readouterr().err
    assert not (tmp_path / "y.melodex").exists()
    assert main(["export", str(project)]) == 2
    assert "nothing to export" in capsys.readouterr().err
    assert main(["export", str(project), "--wav", str(tmp_path / "a.wav"), "--bits", "8", *SOUNDFONT]) == 5
    assert "8-bit" in capsys.readouterr().err
    assert main(["render", str(project), "--wav", str(tmp_path / "b.wav"), "--section", "coda", *SOUNDFONT]) == 5
    assert "no section" in capsys.readouterr().err
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "b.wav").exists()


def _run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "melodex_studio.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_process_exit_codes(project, tmp_path):
    corrupt = tmp_path / "corrupt.melodex"
    corrupt.write_bytes(project.read_bytes()[:2000])  # truncated project
    p = _run("export", str(corrupt), "--wav", str(tmp_path / "c.wav"), "--rate", "44100", *SOUNDFONT)
    assert p.returncode == 3, p.stderr
    assert p.stderr.startswith("melodex: error:") and "Traceback" not in p.stderr
    assert not (tmp_path / "c.wav").exists()


def test_bad_rate_is_refused_before_rendering(project, tmp_path, capsys):
    assert main(["export", str(project), "--wav", str(tmp_path / "c.wav"), "--rate", "12345", *SOUNDFONT]) == 5
    err = capsys.readouterr().err
    assert "12345 Hz" in err and "48000" in err
