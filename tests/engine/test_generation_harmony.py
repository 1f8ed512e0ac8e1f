"""Songs from prompts keep their key and a musician's harmony (issue 17), measured as `melodex eval songs` measures
them: with the tiny random-weight model (the sampler's prior and the resolved ending alone) and with the shipped
model (its eval prompts, seeds as in the eval)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from melodex_studio.engine.generation import generate_song, regenerate
from melodex_studio.eval.song_eval import measure_song
from melodex_studio.prompt.parse import parse_prompt

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "structure-small.safetensors"
EVAL = [json.loads(x) for x in (REPO / "eval" / "prompts_songs.jsonl").read_text().splitlines() if x.strip()]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _check(obj, seed, model, key=True, melody=0.85):
    plan = parse_prompt(obj["prompt"])
    song, _ = generate_song(plan, seed=seed, device="cpu", model_path=model, prompt=obj["prompt"])
    m = measure_song(song, plan, obj)
    assert m["ends_on_tonic"] and m["form_ok"] and m["meter_ok"] and m["midi_equal"] and m["monophonic_ok"]
    assert 1.0 <= m["chords_per_bar"] <= 2.0 and m["chords_shorter_than_beat"] == 0
    assert m["melody_chord_tones"] is None or m["melody_chord_tones"] >= melody
    if key:
        assert m["key_ok"], (m["key"], m["requested_key"])
    return song, m


@pytest.mark.parametrize("i", [0, 12, 24])  # C major 4/4 pop, F# major, E minor funk (the prior alone)
def test_tiny_model_songs_end_on_the_tonic_with_one_or_two_chords_a_bar(tiny_structure, i):
    song, m = _check(EVAL[i], i, tiny_structure, key=False, melody=0.7)  # an untrained model: the prior's share
    last = song.chords[-1]
    assert last.root == song.key.tonic and last.start_tick == song.bar_to_tick(song.length_bars - 1)
    if m["backbeat"] is not None:
        assert m["backbeat"] == 1.0


def test_regenerating_the_last_section_keeps_the_tonic_ending(tiny_structure):
    obj = EVAL[0]
    song, _ = generate_song(parse_prompt(obj["prompt"]), seed=3, device="cpu", model_path=tiny_structure)
    regenerate(song, len(song.sections) - 1, seed=8, device="cpu", model_path=tiny_structure)
    m = measure_song(song, parse_prompt(obj["prompt"]), obj)
    assert m["ends_on_tonic"] and m["chords_shorter_than_beat"] == 0


@pytest.mark.skipif(not SHIPPED.exists(), reason="shipped structure model not present")
@pytest.mark.parametrize("i", [0, 1, 24, 43])  # pop C major, synthwave C minor (G minor without the prior),
def test_shipped_model_songs_keep_their_key(i):  # funk E minor, folk 6/8 A major
    _, m = _check(EVAL[i], i, str(SHIPPED))
    assert m["bass_roots"] is None or m["bass_roots"] >= 0.8
