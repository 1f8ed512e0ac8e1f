"""`melodex eval songs PROMPTS.jsonl --json` on two real prompts with a tiny random-weight structure model: the
report's fields and the values that do not depend on the model's musicianship (tempo, meter, form, MIDI)."""
from __future__ import annotations

import json

from melodex_studio.cli import main
from melodex_studio.eval.song_eval import estimate_key, max_polyphony, read_prompts
from melodex_studio.song.model import Key, Note, Song, Track
from melodex_studio.song.ranges import (
    PROGRAM_RANGES,
    clamp_to_range,
    instrument_range,
    out_of_range,
)

FIELDS = {"prompt", "seed", "tempo_bpm", "requested_bpm", "tempo_ok", "tempo_map", "section_tempo_ok", "meter",
          "requested_meter", "meter_ok", "key", "requested_key", "key_ok", "ends_on_tonic", "form", "requested_form",
          "form_ok", "instruments", "requested_instruments", "suggested_instruments", "instruments_ok", "chords_per_bar",
          "chords_shorter_than_beat", "melody_chord_tones", "melody_strong_notes", "bass_roots", "bass_downbeats",
          "max_polyphony", "monophonic_ok", "out_of_range", "out_of_range_notes", "notes", "backbeat", "midi_equal",
          "midi_note_differences", "baseline_melody_chord_tones", "seconds"}


def test_eval_songs_json_report(tiny_structure, tmp_path, capsys):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        json.dumps({"prompt": "slow blues in 12/8 at 66 bpm, G minor, piano and bass guitar, A 2, B 2",
                    "key": "G minor", "meter": "12/8", "bpm": 66, "form": [["A", 2], ["B", 2]]}) + "\n"
        + "# a comment line\n"
        + json.dumps({"prompt": "pop in B major, 100 bpm: verse 2, chorus 2 at 120 bpm"}) + "\n")
    assert main(["eval", "songs", str(prompts), "--json", "--model", tiny_structure]) == 0
    rep = json.loads(capsys.readouterr().out)
    blues, pop = rep["songs"]
    assert FIELDS <= set(blues) and FIELDS <= set(pop)
    assert (blues["tempo_bpm"], blues["tempo_ok"], blues["tempo_map"]) == (66.0, True, [[0, 99.0]])
    assert (blues["meter"], blues["meter_ok"], blues["form"], blues["form_ok"]) == ("12/8", True, [["A", 2], ["B", 2]],
                                                                                   True)
    assert blues["requested_key"] == "G minor" and blues["instruments"] == ["piano", "electric bass"]
    assert blues["suggested_instruments"] == [] and pop["suggested_instruments"] == pop["instruments"]
    assert blues["instruments_ok"] and blues["midi_equal"] and blues["midi_note_differences"] == 0
    assert pop["tempo_map"] == [[0, 100.0], [2, 120.0]] and pop["section_tempo_ok"]
    assert pop["form"] == [["verse", 2], ["chorus", 2]] and pop["requested_key"] == "B major"
    s = rep["summary"]
    assert (s["songs"], s["failed"], s["tempo_ok_rate"], s["form_ok_rate"], s["meter_ok_rate"]) == (2, 0, 1.0, 1.0, 1.0)
    assert s["notes"] == blues["notes"] + pop["notes"] > 0


def test_eval_songs_bad_file_is_a_message(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\nnot json\n')
    assert main(["eval", "songs", str(bad)]) == 2
    assert "bad.jsonl:2: not JSON" in capsys.readouterr().err
    assert main(["eval", "songs", str(tmp_path / "missing.jsonl")]) == 2


def test_shipped_prompts_cover_every_key_and_meters():
    prompts = read_prompts("eval/prompts_songs.jsonl")
    assert len(prompts) >= 40
    keys = {Key.parse(p["key"]) for p in prompts}
    assert {(k.tonic, k.mode) for k in keys} == {(t, m) for t in range(12) for m in ("major", "minor")}
    assert {"6/8", "9/8", "12/8", "3/4", "2/4", "4/4"} <= {p["meter"] for p in prompts}


def test_key_estimate_polyphony_and_ranges():
    song = Song()
    scale = [0, 2, 4, 5, 7, 9, 11]  # F major: weight the tonic triad
    notes = [Note(i * 480, 65 + (p + 5) % 12 - 5, 480 * (3 if p in (0, 4, 7) else 1)) for i, p in enumerate(scale * 4)]
    song.tracks.append(Track("flute", "melody", 73, notes=notes))
    assert estimate_key(song) == Key.parse("F major")
    assert max_polyphony([Note(0, 60, 480), Note(240, 62, 480), Note(480, 64, 480)]) == 2
    assert instrument_range(33) == (28, 67) and instrument_range(47) == (38, 60) and instrument_range(0, True) == (27, 87)
    assert out_of_range([20, 40, 80, 90], 33) == 3
    assert clamp_to_range(86, 33) == 62 and clamp_to_range(12, 42) == 36 and len(PROGRAM_RANGES) == 128
