"""Issue 17: the plan's tempo (felt beat, per-section tempi) is the song's tempo map and the MIDI's set_tempo
events, through the real generation with a tiny random-weight structure model."""
from __future__ import annotations

import mido
import pytest

from melodex_studio.engine.generation import generate_song
from melodex_studio.io.midi import export_midi
from melodex_studio.prompt.parse import parse_prompt


def _midi_tempi(path) -> list[tuple[int, float]]:
    mid = mido.MidiFile(str(path))
    out = []
    for track in mid.tracks:
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == "set_tempo":
                out.append((t, round(mido.tempo2bpm(msg.tempo), 3)))
    return out


def test_compound_meter_song_and_midi_hold_the_quarter_tempo(tiny_structure, tmp_path):
    plan = parse_prompt("slow blues in 12/8 at 66 bpm: A 2, B 2, piano and bass guitar")
    song, _ = generate_song(plan, seed=3, device="cpu", model_path=tiny_structure)
    assert [(c.tick, c.bpm) for c in song.tempo_map.changes] == [(0, 99.0)]
    assert song.meter_map.meter_at_bar(0).numerator == 12
    # four bars of 12/8 at 66 dotted quarters: 16 beats of 60/66 s
    assert song.tick_to_seconds(song.bar_to_tick(4)) == pytest.approx(16 * 60 / 66)
    export_midi(song, tmp_path / "blues.mid")
    assert _midi_tempi(tmp_path / "blues.mid") == [(0, 99.0)]


def test_per_section_tempo_reaches_the_song_and_the_midi(tiny_structure, tmp_path):
    plan = parse_prompt("pop at 100 bpm: verse 2, chorus 2 at 128 bpm, verse 2, piano and bass guitar")
    song, _ = generate_song(plan, seed=5, device="cpu", model_path=tiny_structure)
    chorus = song.bar_to_tick(2)
    assert [(c.tick, c.bpm) for c in song.tempo_map.changes] == [(0, 100.0), (chorus, 128.0),
                                                                  (song.bar_to_tick(4), 100.0)]
    assert [s.label for s in song.sections] == ["verse", "chorus", "verse"]
    export_midi(song, tmp_path / "pop.mid")
    assert _midi_tempi(tmp_path / "pop.mid") == [(0, 100.0), (chorus, 128.0), (song.bar_to_tick(4), 100.0)]
