"""Prompts -> StylePlans: the public prompt file (tests/data/prompts) and prompts phrased the way musicians write."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from melodex_studio.prompt import vocabulary as V
from melodex_studio.prompt.parse import parse_prompt

from .helpers import mismatches

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "prompts" / "public.jsonl"


def _public_cases():
    rows = [json.loads(line) for line in PUBLIC.read_text().splitlines() if line.strip()]
    return [pytest.param(r["prompt"], r["expect"], id=r["prompt"][:40]) for r in rows]


@pytest.mark.parametrize("prompt,expect", _public_cases())
def test_public_prompts(prompt, expect):
    plan = parse_prompt(prompt)
    assert mismatches(plan, expect) == {}


# Our own prompts, in the same shape as the public file.
OWN = [
    {"prompt": "chill lofi beat, tempo 78, Eb, rhodes and upright", "expect": {
        "bpm": 78, "key": "Eb major", "instruments": ["electric piano", "acoustic bass"], "drums": True, "genre": "lofi"}},
    {"prompt": "98bpm funk jam in E minor with slap bass, clav and horns", "expect": {
        "bpm": 98, "key": "E minor", "instruments": ["slap bass", "clavinet", "brass"], "genre": "funk", "drums": True}},
    {"prompt": "a waltz for piano, 150 bpm, in the key of G", "expect": {
        "bpm": 150, "meter": "3/4", "key": "G major", "instruments": ["piano"], "drums": False}},
    {"prompt": "irish jig, tin whistle, fiddle and bodhran, in A", "expect": {
        "meter": "6/8", "key": "A major", "instruments": ["whistle", "violin"], "drums": True, "genre": "folk",
        "groove": "jig_6_8"}},
    {"prompt": "blues shuffle in A, 12/8 feel, 70 bpm, electric guitar, organ, bass", "expect": {
        "bpm": 70, "meter": "12/8", "key": "A major", "genre": "blues", "groove": "shuffle",
        "instruments": ["electric guitar", "organ", "electric bass"]}},
    {"prompt": "F sharp minor, 5/4, 120 bpm, jazz quartet with vibes, piano, double bass and drums", "expect": {
        "key": "F# minor", "meter": "5/4", "bpm": 120, "genre": "jazz",
        "instruments": ["vibraphone", "piano", "acoustic bass"], "drums": True}},
    {"prompt": "E-flat major ballad with strings, 68 bpm", "expect": {
        "key": "Eb major", "bpm": 68, "instruments": ["strings"]}},
    {"prompt": "trap beat, 140 bpm, Am, 808s and a dark bell melody", "expect": {
        "bpm": 140, "key": "A minor", "genre": "trap", "drums": True,
        "instruments": ["synth bass", "glockenspiel"], "mood": "dark"}},
    {"prompt": "synthwave at 100 beats per minute in C# minor, 2 minutes long", "expect": {
        "bpm": 100, "key": "C# minor", "genre": "synthwave", "duration_s": 120, "bars": 50}},
    {"prompt": "ambient drone, 60 bpm, 90 seconds, no percussion, pads only", "expect": {
        "bpm": 60, "genre": "ambient", "duration_s": 90, "bars": 23, "drums": False, "instruments": ["pad"]}},
    {"prompt": "[Intro 4] [Verse 8] [Chorus 8] [Verse 8] [Chorus 8] [Outro 4] pop song, 120 bpm, C major", "expect": {
        "form": [["intro", 4], ["verse", 8], ["chorus", 8], ["verse", 8], ["chorus", 8], ["outro", 4]],
        "bpm": 120, "key": "C major", "genre": "pop", "bars": 40}},
    {"prompt": "hip hop, 90 bpm, intro 4 / verse 16 / hook 8 / verse 16 / hook 8", "expect": {
        "form": [["intro", 4], ["verse", 16], ["hook", 8], ["verse", 16], ["hook", 8]], "genre": "hip hop"}},
    {"prompt": "jazz standard, AABA, 8 bars each, Bb, 180 bpm, swing", "expect": {
        "form": [["A", 8], ["A", 8], ["B", 8], ["A", 8]], "key": "Bb major", "bpm": 180, "groove": "swing"}},
    {"prompt": "two verses and two choruses of 8 bars each, indie rock, D major", "expect": {
        "form": [["verse", 8], ["chorus", 8], ["verse", 8], ["chorus", 8]], "genre": "indie", "bars": 32}},
    {"prompt": "rock song in G at 120 bpm, actually make it 3/4 at 60 bpm", "expect": {
        "bpm": 60, "meter": "3/4", "key": "G major", "genre": "rock", "groove": "waltz"}},
    {"prompt": "house track in 4/4, 124bpm, Dm, no drums", "expect": {
        "bpm": 124, "key": "D minor", "drums": False, "genre": "house"}},
    {"prompt": "string quartet in C minor, 84 bpm, 32 bars", "expect": {
        "key": "C minor", "bars": 32, "instruments": ["violin", "viola", "cello"], "drums": False,
        "genre": "classical"}},
    {"prompt": "voices only, hymn in F, 72 bpm", "expect": {
        "instruments": ["vocals"], "drums": False, "key": "F major", "bpm": 72}},
    {"prompt": "a cappella doo-wop in Ab", "expect": {"instruments": ["vocals"], "drums": False, "key": "Ab major"}},
    {"prompt": "solo piano nocturne in Db major, slow", "expect": {
        "instruments": ["piano"], "drums": False, "key": "Db major", "genre": "classical"}},
    {"prompt": "drum and bass, 174 bpm, reese bass and pads, F minor", "expect": {
        "bpm": 174, "genre": "drum and bass", "instruments": ["synth bass", "pad"], "key": "F minor", "drums": True}},
    {"prompt": "bossa nova, 130 bpm, nylon-string guitar, upright bass, flute, in D minor", "expect": {
        "genre": "bossa nova", "instruments": ["nylon guitar", "acoustic bass", "flute"], "key": "D minor",
        "groove": "bossa"}},
    {"prompt": "country song, 110 bpm, in G, acoustic guitar, fiddle, banjo and pedal steel", "expect": {
        "genre": "country", "instruments": ["acoustic guitar", "violin", "banjo"], "key": "G major"}},
    {"prompt": "reggae in A minor, one drop, 72 bpm, skank guitar, organ, bass", "expect": {
        "genre": "reggae", "groove": "one_drop", "instruments": ["electric guitar", "organ", "electric bass"]}},
    {"prompt": "orchestral piece, 3/4, strings, french horns, harp and timpani, 100 bpm", "expect": {
        "meter": "3/4", "genre": "cinematic", "instruments": ["strings", "french horn", "harp", "timpani"]}},
    {"prompt": "metal, 180 bpm, E minor, distorted guitars, bass, double kick drums", "expect": {
        "genre": "metal", "bpm": 180, "instruments": ["distortion guitar", "electric bass"], "drums": True}},
    {"prompt": "dreamy synth pop, 110 bpm, in B, lead synth, synth bass, pads", "expect": {
        "genre": "pop", "key": "B major", "instruments": ["synth lead", "synth bass", "pad"], "mood": "dreamy"}},
    {"prompt": "gospel in Ab at 76 bpm with hammond organ, piano, choir and drums", "expect": {
        "genre": "gospel", "key": "Ab major", "instruments": ["organ", "piano", "choir"], "drums": True}},
    {"prompt": "techno, 130 bpm, four on the floor, acid bass, 64 bars", "expect": {
        "genre": "techno", "groove": "four_on_floor", "bars": 64, "instruments": ["synth bass"]}},
    {"prompt": "melancholic cello and piano duet in E minor, around 66 bpm", "expect": {
        "bpm": 66, "instruments": ["cello", "piano"], "key": "E minor", "drums": False, "mood": "melancholic"}},
    {"prompt": "intro 8, verse 16, chorus 8, outro 8 - disco, 118 bpm, A minor", "expect": {
        "form": [["intro", 8], ["verse", 16], ["chorus", 8], ["outro", 8]], "genre": "disco", "bars": 40}},
    {"prompt": "4-bar intro, 8-bar verse, 8-bar chorus, 4-bar outro, country, 100 bpm", "expect": {
        "form": [["intro", 4], ["verse", 8], ["chorus", 8], ["outro", 4]], "genre": "country"}},
    {"prompt": "edm, 128 bpm, intro, build, drop, breakdown, build, drop, outro", "expect": {
        "form": [["intro", 4], ["build", 8], ["drop", 8], ["breakdown", 8], ["build", 8], ["drop", 8], ["outro", 4]],
        "genre": "edm"}},
    {"prompt": "slow blues in Bb, 12 bars, guitar and harmonica", "expect": {
        "genre": "blues", "key": "Bb major", "bars": 12, "instruments": ["electric guitar", "harmonica"]}},
    {"prompt": "fast punk song, 190 bpm, E major, guitars, bass, drums, 2:30 long", "expect": {
        "genre": "punk", "bpm": 190, "instruments": ["distortion guitar", "electric bass"], "drums": True,
        "duration_s": 150}},
    {"prompt": "soul song in Eb major, 92 bpm, wurlitzer, bass guitar, tenor sax and drums", "expect": {
        "genre": "soul", "instruments": ["electric piano", "electric bass", "tenor sax"], "drums": True}},
    {"prompt": "cinematic trailer in D minor, 80 bpm, choir, brass, taiko, building to a climax at the end", "expect": {
        "genre": "cinematic", "instruments": ["choir", "brass"], "drums": True, "key": "D minor"}},
    {"prompt": "uplifting trance 138 bpm in G minor with supersaw leads and a pluck", "expect": {
        "bpm": 138, "genre": "trance", "key": "G minor", "mood": "uplifting", "instruments": ["synth lead", "synth pluck"]}},
    {"prompt": "lofi hip hop, no piano, guitar and bass, 80 bpm", "expect": {
        "genre": "lofi", "instruments": ["nylon guitar", "acoustic bass"], "drums": True, "bpm": 80}},
    {"prompt": "a tango in A minor, 2/4, accordion, violin, piano and double bass", "expect": {
        "genre": "latin", "meter": "2/4", "instruments": ["accordion", "violin", "piano", "acoustic bass"]}},
    {"prompt": "afrobeat, 110 bpm, in F, electric guitar, bass, horns, congas and shaker", "expect": {
        "genre": "afrobeat", "instruments": ["electric guitar", "electric bass", "brass"], "drums": True}},
    {"prompt": "Gb major, 7/8, 140 bpm, prog rock with mellotron strings", "expect": {
        "key": "Gb major", "meter": "7/8", "bpm": 140, "genre": "rock", "instruments": ["strings"]}},
    {"prompt": "sad piano ballad in C minor, 1 minute 30 seconds, 60 bpm", "expect": {
        "mood": "sad", "key": "C minor", "duration_s": 90, "bpm": 60, "bars": 23, "instruments": ["piano"]}},
    {"prompt": "verse-chorus-verse-chorus-bridge-chorus, pop punk in D", "expect": {
        "form": [["verse", 8], ["chorus", 8], ["verse", 8], ["chorus", 8], ["bridge", 8], ["chorus", 8]],
        "genre": "punk", "key": "D major"}},
    {"prompt": "ABAB form, 16 bars each, chillout in Am, 90 bpm", "expect": {
        "form": [["A", 16], ["B", 16], ["A", 16], ["B", 16]], "genre": "chillout", "key": "A minor"}},
    {"prompt": "at 85 bpm, tempo 95, no wait, make it 100bpm", "expect": {"bpm": 100}},
    {"prompt": "country in D, actually B flat minor", "expect": {"key": "Bb minor", "genre": "country"}},
    {"prompt": "in A", "expect": {"key": "A major"}},
    {"prompt": "a gentle song about a minor disagreement", "expect": {"key": "C major", "mood": "gentle"}},
    {"prompt": "Am I dreaming? something with a flute", "expect": {"instruments": ["flute"]}},
]


@pytest.mark.parametrize("case", OWN, ids=[c["prompt"][:40] for c in OWN])
def test_own_prompts(case):
    plan = parse_prompt(case["prompt"])
    assert mismatches(plan, case["expect"]) == {}


def test_own_prompt_count():
    assert len(OWN) >= 40


@pytest.mark.parametrize("text", ["", "   ", "asdf qwerty zxcv", "!!!???", "42"])
def test_empty_or_nonsense_gives_default_plan_and_warning(text):
    plan = parse_prompt(text)
    assert plan.warnings and "default" in plan.warnings[0]
    assert plan.form and plan.total_bars > 0 and 20 <= plan.tempo_bpm <= 400
    assert any(i.role in ("chords", "pad", "bass") for i in plan.instruments)
    assert plan.stated <= {"style_text"}


def test_unknown_words_are_style_text():
    plan = parse_prompt("glitchy cyberpunk noir vibe, 120 bpm")
    assert plan.style_text == "glitchy cyberpunk noir"
    assert plan.tempo_bpm == 120 and not plan.warnings


def test_every_plan_field_records_stated_or_default():
    plan = parse_prompt("jazz, 120 bpm")
    assert plan.stated == {"genre", "tempo_bpm"}
    flags = plan.stated_flags()
    assert flags["genre"] and flags["tempo_bpm"] and not flags["key"] and not flags["form"]


def test_default_instruments_are_flagged_not_stated_and_cover_roles():
    plan = parse_prompt("rock, 130 bpm, piano")
    stated = [i.name for i in plan.instruments if i.stated]
    assert stated == ["piano"]
    roles = {i.role for i in plan.instruments}
    assert {"bass", "melody", "drums"} <= roles
    drum = [i for i in plan.instruments if i.is_drum]
    assert drum and drum[0].role == "drums" and drum[0].name == "drums"
    assert all(0 <= i.program <= 127 and i.role in V.ROLES for i in plan.instruments)


def test_piano_solo_has_only_piano():
    plan = parse_prompt("piano solo in G minor")
    assert [i.name for i in plan.instruments] == ["piano"] and not plan.drums


def test_string_quartet_has_two_violins():
    plan = parse_prompt("string quartet in D")
    assert [i.name for i in plan.instruments if i.stated] == ["violin", "violin", "viola", "cello"]


def test_per_section_overrides():
    plan = parse_prompt("pop, 100 bpm, verse 8, chorus 8 (strings, energy high), bridge 8 in A minor at 90 bpm")
    chorus, bridge = plan.form[1], plan.form[2]
    assert chorus.instruments == ["strings"] and chorus.energy == 0.85
    assert bridge.key == "A minor" and bridge.tempo_bpm == 90
    assert plan.tempo_bpm == 100 and plan.key.name != "A minor"
    assert "strings" in plan.stated_instruments and plan.energy[1] == 0.85


def test_duration_chooses_a_form_that_fits():
    plan = parse_prompt("rock, 120 bpm, 3 minutes")
    seconds = plan.total_bars * 4 * 60 / 120
    assert plan.duration_s == 180 and abs(seconds - 180) <= 2


def test_energy_builds_to_climax_at_chorus():
    plan = parse_prompt("pop, intro 4, verse 8, chorus 8, outro 4, building to a climax at the chorus")
    assert "energy" in plan.stated
    assert plan.energy[0] < plan.energy[1] < plan.energy[2] == 1.0


def test_stated_values_beat_implied_ones():
    assert parse_prompt("a waltz in 4/4").meter == (4, 4)
    assert parse_prompt("slow, 150 bpm").tempo_bpm == 150
    assert parse_prompt("slow jazz").tempo_bpm < parse_prompt("fast jazz").tempo_bpm


def test_key_spellings():
    for text, name in [("F# minor", "F# minor"), ("F sharp minor", "F# minor"), ("E-flat", "Eb major"),
                       ("Eb", "Eb major"), ("Am", "A minor"), ("in the key of g", "G major"),
                       ("in A", "A major"), ("C#m", "C# minor"), ("Bbm", "Bb minor"), ("key of D minor", "D minor")]:
        assert parse_prompt(text).key.name == name, text
    for tonic in range(12):
        for mode in ("major", "minor"):
            from melodex_studio.song.model import Key
            k = Key(tonic, mode)
            assert parse_prompt(f"in {k.name}").key == k
