"""render.soundfont_fallback: the plain-tone level reference that stands in for the SoundFont render when the
synthesiser (tinysoundfont) or a SoundFont is missing, measured against the real SoundFont render."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from melodex_studio.mix.loudness import integrated_lufs
from melodex_studio.render import soundfont_fallback as fb
from melodex_studio.song import PPQ, Note, Section, Song, TempoMap, Track

RATE = 24000


@pytest.fixture(autouse=True)
def default_soundfont(monkeypatch, tmp_path):
    """No user setting: the SoundFont is ``find_soundfont``'s default (a system GM font where one is installed, else
    pretty_midi's TimGM6mb.sf2, which every machine with the venv has)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def no_synth(monkeypatch):
    """As if tinysoundfont were not installed (its import fails), the state after a plain `pip install .`."""
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)


def two_section_song() -> Song:
    """Piano notes in section A only (B is a rest), drums in both."""
    song = Song("ref", tempo_map=TempoMap(bpm=120))
    song.add_section(Section("A", 0, 2))
    song.add_section(Section("B", 2, 2))
    keys = song.add_track(Track("Keys", program=0, id="keys"))
    drums = song.add_track(Track("Drums", role="drums", is_drum=True, id="drums"))
    song.add_notes(keys.id, [Note(i * PPQ, 60 + i % 5, PPQ, 100) for i in range(8)])
    song.add_notes(drums.id, [Note(i * PPQ, 36 if i % 2 == 0 else 38, PPQ // 2, 100) for i in range(16)])
    return song


def test_the_reference_follows_the_notes_and_is_silent_in_rests():
    song = two_section_song()
    refs = fb.score_reference(song, ["keys", "drums"], RATE)
    keys, drums = refs["keys"], refs["drums"]
    assert keys.shape == drums.shape and keys.shape[1] == 2 and keys.dtype == np.float32
    assert keys.shape[0] >= song.tempo_map.tick_to_sample(song.end_tick, RATE)
    b = song.tempo_map.tick_to_sample(8 * PPQ, RATE)  # section B starts at bar 2 (4 s at 120 BPM)
    release = int(fb.RELEASE_S * RATE)
    assert float(np.abs(keys[:b]).max()) > 0.01
    assert float(np.abs(keys[b + release:]).max()) == 0.0  # the rest: silent after the last note's release
    assert float(np.abs(drums[b:]).max()) > 0.01  # drums play on in B
    # The first note starts at sample 0 with a 5 ms attack.
    assert float(np.abs(keys[:int(fb.ATTACK_S * RATE) // 2]).max()) < float(np.abs(keys[:RATE // 4]).max())


def test_velocity_sets_the_level_as_the_soundfont_render_does():
    def lufs(velocity: int) -> float:
        song = Song("v", tempo_map=TempoMap(bpm=120))
        song.add_section(Section("A", 0, 1))
        t = song.add_track(Track("Keys", program=0, id="k"))
        song.add_notes(t.id, [Note(i * PPQ, 60, PPQ, velocity) for i in range(4)])
        return integrated_lufs(fb.score_reference(song, ["k"], RATE)["k"], RATE)

    expected = 20 * fb.VELOCITY_EXPONENT * np.log10(127 / 40)
    assert lufs(127) - lufs(40) == pytest.approx(expected, abs=0.2)


def test_the_measured_constants_match_the_real_soundfont_render():
    """Every GM family, the drums and the velocity curve within 1 dB of TimGM6mb.sf2 rendered by tinysoundfont (named:
    with no user setting a system FluidR3_GM would be found first, and the constants are TimGM6mb's)."""
    from tests.conftest import pinned_soundfont

    gaps = fb.measure_offsets(soundfont=pinned_soundfont(), rate=RATE)
    assert max(abs(g) for g in gaps["family_db"]) < 1.0, gaps
    assert abs(gaps["drum_db"]) < 1.0 and abs(gaps["piano_offset_db"]) < 1.0, gaps
    assert gaps["velocity_exponent"] == pytest.approx(fb.VELOCITY_EXPONENT, abs=0.15)


def test_level_references_are_the_soundfont_render_when_it_can_be_made():
    song = two_section_song()
    assert fb.soundfont_problem() is None
    refs = fb.level_references(song, ["keys"], RATE)
    plain = fb.score_reference(song, ["keys"], RATE)
    assert refs["keys"].shape[1] == 2
    assert not np.array_equal(refs["keys"][: plain["keys"].shape[0]], plain["keys"][: refs["keys"].shape[0]])


def test_without_the_synthesiser_the_plain_tones_are_the_references(no_synth):
    song = two_section_song()
    problem = fb.soundfont_problem()
    assert problem is not None and "tinysoundfont" in problem
    assert not fb.synth_installed()
    refs = fb.level_references(song, ["keys", "drums"], RATE)
    plain = fb.score_reference(song, ["keys", "drums"], RATE)
    assert set(refs) == {"keys", "drums"}
    for tid in refs:
        assert np.array_equal(refs[tid], plain[tid])


def test_without_a_soundfont_file_the_plain_tones_are_the_references(monkeypatch, tmp_path):
    """The bundle ships no SoundFont: on a machine without one the problem is the missing file."""
    from melodex_studio.render import soundfont

    monkeypatch.setattr(soundfont, "SYSTEM_SOUNDFONT_DIRS", (str(tmp_path),))
    monkeypatch.setattr(soundfont, "_bundled_soundfont", lambda: None)
    problem = fb.soundfont_problem()
    assert problem is not None and "no General MIDI SoundFont found" in problem
    song = two_section_song()
    assert np.array_equal(fb.level_references(song, ["keys"], RATE)["keys"],
                          fb.score_reference(song, ["keys"], RATE)["keys"])
