"""Small hand-made songs and plans for the structure tests (built in memory, on the token grid)."""
from __future__ import annotations

import random

import pytest

from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan
from melodex_studio.song import Chord, Key, Note, Section, Song, Track
from melodex_studio.song.timing import MeterMap, TempoMap, ticks_per_bar


def make_plan(meter=(4, 4), key="D major", drums=True, form=(("intro", 2), ("verse", 4), ("chorus", 4), ("verse", 4)),
              genre="pop", tempo=100.0) -> StylePlan:
    inst = [InstrumentPlan("piano", 0, "chords"), InstrumentPlan("flute", 73, "melody"),
            InstrumentPlan("electric bass", 33, "bass")]
    if drums:
        inst.append(InstrumentPlan("drums", 0, "drums", is_drum=True))
    return StylePlan(tempo_bpm=tempo, meter=meter, key=Key.parse(key), form=[SectionPlan(lab, n) for lab, n in form],
                     instruments=inst, drums=drums, genre=genre, mood="happy", energy=[0.3, 0.5, 0.8, 0.5][: len(form)])


def make_song(plan: StylePlan, seed: int = 0) -> Song:
    """A song on the 16th grid: chords, bass on beats, a melody in the key, a drum groove."""
    rng = random.Random(seed)
    n, d = plan.meter
    bt = ticks_per_bar(n, d)
    step = 120
    song = Song(tempo_map=TempoMap(bpm=plan.tempo_bpm), meter_map=MeterMap(numerator=n, denominator=d), key=plan.key)
    song.plan = plan.to_dict()
    start = 0
    for s in plan.form:
        song.sections.append(Section(s.label, start, s.bars))
        start += s.bars
    tracks = {i.name: Track(i.name, i.role, i.program, i.is_drum) for i in plan.instruments}
    song.tracks = list(tracks.values())
    scale = plan.key.scale_pitch_classes()
    tonic = plan.key.tonic
    chords = []
    for bar in range(start):
        root = scale[[0, 3, 4, 5][bar % 4]]
        t0 = bar * bt
        chords.append(Chord(t0, bt, root, "maj" if (root - tonic) % 12 in (0, 5, 7) else "min"))
        base = 48 + root
        tracks["piano"].notes += [Note(t0, p, bt, 70) for p in (base, base + 4, base + 7)]
        tracks["electric bass"].notes += [Note(t0 + k * 480, 36 + root, 480, 94) for k in range(bt // 480)]
        for k in range(bt // (2 * step)):
            tracks["flute"].notes.append(Note(t0 + k * 2 * step, 72 + rng.choice(scale), 2 * step, 82))
        if "drums" in tracks:
            for k in range(bt // (2 * step)):
                tracks["drums"].notes.append(Note(t0 + k * 2 * step, 42, step, 75))
                if k % 4 == 0:
                    tracks["drums"].notes.append(Note(t0 + k * 2 * step, 36, step, 100))
    song.chords = chords
    return song


@pytest.fixture
def plan():
    return make_plan()


@pytest.fixture
def song(plan):
    return make_song(plan)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Token-by-token sampling is fastest (and least disruptive on shared machines) on one thread."""
    from tests.conftest import torch_threads

    with torch_threads(1):
        yield
