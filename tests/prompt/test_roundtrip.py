"""plan -> canonical text -> plan is the identity (property test), and GUI edits survive the round trip."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as S

from melodex_studio.errors import PromptError
from melodex_studio.prompt import vocabulary as V
from melodex_studio.prompt.defaults import Statements, build_plan
from melodex_studio.prompt.parse import _TABLE, parse_prompt
from melodex_studio.prompt.plan import PLAN_FIELDS, SectionPlan, StylePlan
from melodex_studio.prompt.render_text import edit_plan, plan_to_text
from melodex_studio.song.model import Key

TEMPO_FEELS = sorted({v for k, v in _TABLE.values() if k == "tempo"})  # the words the parser records
LABELS = sorted(set(V.SECTION_LABELS.values()))
PITCHED = sorted(n for n, i in V.INSTRUMENTS.items() if not i.is_drum)
STYLE_WORDS = ["glitchy", "noir", "sparkly", "cyberpunk", "wonky", "dusty", "velvet", "neon"]
METERS = [(2, 4), (3, 4), (4, 4), (5, 4), (6, 8), (7, 8), (9, 8), (12, 8), (2, 2)]
SPELLINGS = ["C", "C#", "Db", "D", "D#", "Eb", "E", "F", "F#", "Gb", "G", "G#", "Ab", "A", "A#", "Bb", "B"]

keys = S.builds(lambda t, m: Key.parse(f"{t} {m}"), S.sampled_from(SPELLINGS), S.sampled_from(["major", "minor"]))
energies = S.floats(0.05, 1.0).map(lambda v: round(v, 2))
sections = S.builds(
    SectionPlan, S.sampled_from(LABELS), S.integers(1, 32),
    energy=S.none() | energies,
    instruments=S.none() | S.lists(S.sampled_from(PITCHED), min_size=1, max_size=2, unique=True),
    key=S.none() | keys.map(lambda k: k.name),
    tempo_bpm=S.none() | S.integers(40, 200).map(float),
    style_text=S.none() | S.sampled_from(STYLE_WORDS),
)


@S.composite
def statements(draw) -> Statements:
    st = Statements()
    maybe = lambda: draw(S.booleans())  # noqa: E731
    if maybe():
        st.tempo_bpm = float(draw(S.integers(40, 240)) if maybe() else draw(S.integers(400, 2400)) / 10)
    elif maybe():
        st.tempo_feel = draw(S.sampled_from(TEMPO_FEELS))
    if maybe():
        st.meter = draw(S.sampled_from(METERS))
    if maybe():
        st.key = draw(keys)
    if maybe():
        st.form = draw(S.lists(sections, min_size=1, max_size=6))
    elif maybe():
        st.length_bars = draw(S.integers(1, 128))
    if maybe():
        st.duration_s = float(draw(S.integers(10, 400)))
    if maybe():
        names = draw(S.lists(S.sampled_from(PITCHED), min_size=1, max_size=4, unique=True))
        st.instruments = [("instrument", n, draw(S.integers(1, 2))) for n in names]
        st.instruments_only = maybe()
        if maybe():
            st.excluded = draw(S.lists(S.sampled_from([n for n in PITCHED if n not in names]), max_size=2,
                                       unique=True))
    if maybe():
        st.drums = maybe()
    if maybe():
        st.genre = draw(S.sampled_from(sorted(V.GENRES)))
    if maybe():
        st.mood = draw(S.sampled_from(sorted(V.MOODS)))
    if maybe():
        st.groove = draw(S.sampled_from(V.GROOVE_FAMILIES))
    if maybe():
        st.energy_list = draw(S.lists(energies, min_size=1, max_size=8))
    if maybe():
        st.production = draw(S.lists(S.sampled_from(sorted(set(V.PRODUCTION_WORDS.values()))), max_size=3,
                                     unique=True))
    if maybe():
        st.style_words = draw(S.lists(S.sampled_from(STYLE_WORDS), min_size=1, max_size=3))
    return st


def _comparable(plan: StylePlan) -> dict:
    d = plan.to_dict()
    d.pop("warnings")
    return d


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements())
def test_plan_text_plan_is_identity(st):
    plan = build_plan(st)
    text = plan_to_text(plan)
    again = parse_prompt(text)
    assert again.stated == plan.stated, text
    for name in plan.stated:
        if name == "instruments":
            assert [(i.name, i.stated) for i in again.instruments] == [(i.name, i.stated) for i in plan.instruments]
        else:
            assert getattr(again, name) == getattr(plan, name), (name, text)
    assert _comparable(again) == _comparable(plan), text  # defaults follow from the stated fields
    assert plan_to_text(again) == text


@settings(max_examples=100, deadline=None)
@given(statements(), S.sampled_from(["tempo_bpm", "meter", "key", "genre", "mood", "drums", "energy"]),
       S.data())
def test_edit_then_roundtrip(st, name, data):
    plan = build_plan(st)
    value = {
        "tempo_bpm": S.integers(40, 200).map(float), "meter": S.sampled_from(METERS), "key": keys,
        "genre": S.sampled_from(sorted(V.GENRES)), "mood": S.sampled_from(sorted(V.MOODS)),
        "drums": S.booleans(), "energy": S.lists(energies, min_size=len(plan.form), max_size=len(plan.form)),
    }[name]
    edited = edit_plan(plan, name, data.draw(value))
    assert name in edited.stated
    assert _comparable(parse_prompt(plan_to_text(edited))) == _comparable(edited)


def test_edit_marks_the_field_stated_and_recomputes_defaults():
    plan = parse_prompt("jazz")
    edited = edit_plan(plan, "genre", "rock")
    assert edited.genre == "rock" and edited.drum_groove == "rock"
    assert edit_plan(edited, "tempo_bpm", 99).tempo_bpm == 99
    assert "tempo_bpm" not in edit_plan(edit_plan(edited, "tempo_bpm", 99), "tempo_bpm", None).stated


@pytest.mark.parametrize("name,value", [("tempo_bpm", 0), ("tempo_bpm", "fast"), ("meter", (4, 5)),
                                        ("genre", "polka-metal"), ("key", "H major"), ("instruments", ["kazoo"]),
                                        ("energy", [2.0]), ("form", [("verse", 0)])])
def test_bad_edits_raise_prompt_error(name, value):
    with pytest.raises(PromptError):
        edit_plan(parse_prompt("pop"), name, value)


def test_every_vocabulary_name_parses_back_to_itself():
    for g in V.GENRES:
        assert parse_prompt(f"genre {g if g != 'world' else 'world music'}").genre == g
    for m in V.MOODS:
        assert parse_prompt(f"mood {m}").mood == m
    for n in PITCHED:
        assert parse_prompt(f"instruments: {n}").stated_instruments == [n], n


def test_plan_dict_roundtrip_keeps_stated_flags():
    plan = parse_prompt("reggae one-drop in G major, 76 bpm, organ skank, bass and drums")
    again = StylePlan.from_dict(plan.to_dict())
    assert again == plan and set(plan.stated_flags()) == set(PLAN_FIELDS)


@pytest.mark.parametrize("prompt", ["baroque chorale for string quartet in A minor, 72 bpm, 16 bars",
                                    "jazz, piano trio, AABA", "rock, power trio, 2 minutes",
                                    "piano solo in G minor", "voices only", "lofi, no piano, guitar",
                                    "pop, verse 8, chorus 8 (strings, energy high), bridge 8 in A minor at 90 bpm"])
def test_ensembles_and_exclusions_roundtrip(prompt):
    plan = parse_prompt(prompt)
    assert _comparable(parse_prompt(plan_to_text(plan))) == _comparable(plan)
