"""Issue 17, the prompt: letter forms and repeats, compound-meter tempo, per-section tempo, stated
instrument lists, roles, hand percussion and tempo clamping, on prompts a musician writes."""
from __future__ import annotations

import pytest

from melodex_studio.prompt.parse import parse_prompt


def _form(prompt: str) -> list[tuple[str, int]]:
    return [(s.label, s.bars) for s in parse_prompt(prompt).form]


@pytest.mark.parametrize("prompt,form", [
    ("jazz ballad, intro 4, A 8, B 8, A 8", [("intro", 4), ("A", 8), ("B", 8), ("A", 8)]),
    ("AABA jazz tune in Bb", [("A", 8), ("A", 8), ("B", 8), ("A", 8)]),
    ("folk tune, A A B B with 8 bars in every part", [("A", 8), ("A", 8), ("B", 8), ("B", 8)]),
    ("AABA, 4 bars each", [("A", 4), ("A", 4), ("B", 4), ("A", 4)]),
    ("A: 16, B: 8, A: 16 at 90 bpm", [("A", 16), ("B", 8), ("A", 16)]),
    ("pop song: verse 8, chorus 8 x2", [("verse", 8), ("chorus", 8), ("chorus", 8)]),
    ("intro, verse x2, chorus x2, outro", [("intro", 4), ("verse", 8), ("verse", 8), ("chorus", 8), ("chorus", 8),
                                           ("outro", 4)]),
    ("intro 2, verse 16, chorus 8 twice, outro 4", [("intro", 2), ("verse", 16), ("chorus", 8), ("chorus", 8),
                                                    ("outro", 4)]),
    ("8 bars each: intro, verse, chorus", [("intro", 8), ("verse", 8), ("chorus", 8)]),
])
def test_written_forms_are_the_form(prompt, form):
    plan = parse_prompt(prompt)
    assert _form(prompt) == form
    assert plan.is_stated("form")
    assert plan.total_bars == sum(b for _, b in form)


@pytest.mark.parametrize("prompt,meter", [
    ("folk song in D major, verse 8 in 4/4, chorus 8", (4, 4)),
    ("waltz, verse 8, chorus 8 in 6/8", (6, 8)),
    ("verse 8 (3/4, strings), chorus 8", (3, 4)),
])
def test_a_meter_written_on_a_section_keeps_the_form(prompt, meter):
    plan = parse_prompt(prompt)
    assert [(s.label, s.bars) for s in plan.form] == [("verse", 8), ("chorus", 8)]
    assert tuple(plan.meter) == meter and not plan.warnings


def test_a_second_meter_on_a_section_is_named_in_a_warning():
    plan = parse_prompt("folk song in D major, verse 8 in 4/4, bridge 4 in 3/4, chorus 8")
    assert [(s.label, s.bars) for s in plan.form] == [("verse", 8), ("bridge", 4), ("chorus", 8)]
    assert tuple(plan.meter) == (4, 4)
    assert len(plan.warnings) == 1 and "bridge 3/4" in plan.warnings[0] and "4/4" in plan.warnings[0]


def test_a_key_letter_is_not_a_section():
    plan = parse_prompt("rock in E 120bpm")
    assert plan.key.name == "E major" and plan.tempo_bpm == 120.0
    assert not plan.is_stated("form")


def test_compound_meter_tempo_is_the_felt_beat():
    plan = parse_prompt("slow blues in 12/8 at 66 bpm, G minor")
    assert plan.meter == (12, 8) and plan.tempo_bpm == 66.0
    assert plan.quarter_tempo_bpm == 99.0  # 66 dotted quarters = 99 quarter notes a minute
    assert parse_prompt("jig in 6/8, 120 bpm").quarter_tempo_bpm == 180.0
    assert parse_prompt("waltz, 3/4, 150 bpm").quarter_tempo_bpm == 150.0
    tm = plan.tempo_map()
    assert [(c.tick, c.bpm) for c in tm.changes] == [(0, 99.0)]
    # a 12/8 bar at 66 dotted quarters lasts four beats of 60/66 s
    assert tm.tick_to_seconds(plan.tempo_map().changes[0].tick + 12 * 480 // 2) == pytest.approx(4 * 60 / 66)


def test_compound_meter_default_tempo_keeps_the_genre_speed():
    plan = parse_prompt("irish jig")
    assert plan.meter == (6, 8)
    assert abs(plan.quarter_tempo_bpm - 105) <= 1  # folk's middle tempo, written in dotted quarters (70)


def test_per_section_tempo_is_kept_and_mapped():
    plan = parse_prompt("pop song at 100 bpm: verse 8, chorus 8 at 128 bpm, verse 8")
    assert [(s.label, s.bars, s.tempo_bpm) for s in plan.form] == [
        ("verse", 8, None), ("chorus", 8, 128.0), ("verse", 8, None)]
    assert plan.section_tempi() == [(0, 100.0), (8, 128.0), (16, 100.0)]
    assert [(c.tick, c.bpm) for c in plan.tempo_map().changes] == [(0, 100.0), (8 * 1920, 128.0),
                                                                   (16 * 1920, 100.0)]


def _ins(prompt: str) -> list[tuple[str, str, bool]]:
    return [(i.name, i.role, i.stated) for i in parse_prompt(prompt).instruments]


def test_a_stated_instrument_list_is_the_list():
    assert _ins("ambient piece with strings and pad") == [("strings", "pad", True), ("pad", "pad", True)]
    plan = parse_prompt("cinematic, strings, piano and cello")
    assert [i.name for i in plan.instruments] == ["strings", "piano", "cello"]
    assert not plan.drums and all(i.stated for i in plan.instruments)


def test_one_named_instrument_gets_defaults_for_open_roles_marked_as_defaults():
    plan = parse_prompt("rock, 130 bpm, piano")
    assert [i.name for i in plan.instruments if i.stated] == ["piano"]
    added = [(i.name, i.role) for i in plan.instruments if not i.stated]
    assert ("electric bass", "bass") in added and ("drums", "drums") in added


def test_bass_guitar_stays_the_bass():
    assert ("electric bass", "bass", True) in _ins("funky bass guitar and drums")
    assert _ins("bass guitar and piano") == [("electric bass", "bass", True), ("piano", "melody", True)]
    assert ("cello", "bass", True) in _ins("cinematic, strings, piano and cello")


@pytest.mark.parametrize("prompt,word", [("christmas song with sleigh bells, piano and strings", "sleigh bells"),
                                          ("acoustic guitar and shaker", "shaker"),
                                          ("sitar and tabla, D minor", "tabla"),
                                          ("salsa with congas, piano and bass", "congas"),
                                          ("cajon, acoustic guitar and vocals", "cajon")])
def test_named_percussion_gives_a_percussion_track(prompt, word):
    plan = parse_prompt(prompt)
    drums = [i for i in plan.instruments if i.is_drum]
    assert [(i.name, i.stated) for i in drums] == [("percussion", True)], word
    assert plan.drums
    assert not any(i.name == "glockenspiel" for i in plan.instruments)


def test_an_impossible_tempo_is_clamped_with_a_warning():
    plan = parse_prompt("pop at 9999 bpm")
    assert plan.tempo_bpm == 400.0 and plan.is_stated("tempo_bpm")
    assert plan.warnings == ["9999 BPM is outside 20..400 BPM; the tempo is set to 400 BPM."]
    slow = parse_prompt("drone at 5 bpm")
    assert slow.tempo_bpm in (20.0,) or slow.tempo_bpm > 20  # "5 bpm" has one digit: not read as a tempo
    sec = parse_prompt("verse 8, chorus 8 at 2000 bpm")
    assert sec.form[1].tempo_bpm == 400.0
    assert any("2000 BPM" in w for w in sec.warnings)


def test_plan_command_prints_the_warning(capsys):
    from melodex_studio.cli import main

    assert main(["plan", "pop at 9999 bpm"]) == 0
    out = capsys.readouterr().out
    assert "tempo:       400 BPM" in out and "note: 9999 BPM is outside 20..400 BPM" in out
