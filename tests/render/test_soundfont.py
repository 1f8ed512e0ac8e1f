"""SoundFont renderer: timing against the tempo map, release tails, sections, stems, determinism."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from melodex_studio.errors import AudioError, CancelledError
from melodex_studio.render.soundfont import (
    SoundFontRenderer, find_soundfont, load_soundfont, settings_path,
)
from melodex_studio.song import PPQ, Note, Section, Song, TempoChange, TempoMap, Track
from tests.songs import make_demo_song, single_note_song

RATE = 44100


def _bundled() -> Path:
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


# The onsets, tails and levels below are those of this font; a system FluidR3_GM differs (its first sound comes
# 64 samples later on the presets used here).
PINNED = _bundled()


@pytest.fixture(scope="module")
def renderer() -> SoundFontRenderer:
    return SoundFontRenderer(PINNED)


@pytest.fixture(scope="module")
def demo_song() -> Song:
    return make_demo_song(bars=96, bpm=120, tracks=6)


@pytest.fixture(scope="module")
def demo_render(renderer, demo_song):
    return renderer.render(demo_song)


def first_sound(audio: np.ndarray, threshold: float = 0.0) -> int:
    """Index of the first frame whose absolute value exceeds ``threshold`` in either channel."""
    idx = np.nonzero(np.abs(audio).max(axis=1) > threshold)[0]
    assert idx.size, "no sound at all"
    return int(idx[0])


# --- finding the SoundFont --------------------------------------------------------------------------
@pytest.fixture
def clean_config(tmp_path, monkeypatch) -> Path:
    """An empty user config dir (platformdirs honours XDG_CONFIG_HOME on Linux)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return settings_path()


def test_the_suite_renders_with_the_pinned_font_even_when_a_system_one_is_installed():
    """tests/conftest.py pins the bundled font through the user settings, above any system FluidR3_GM."""
    assert find_soundfont() == PINNED
    assert SoundFontRenderer().soundfont_path == PINNED


def test_settings_path_is_in_the_user_config_dir(clean_config, tmp_path):
    assert clean_config == tmp_path / "config" / "melodex-studio" / "settings.json"


def test_without_setting_or_system_font_the_bundled_one_is_used_in_place(clean_config, tmp_path):
    assert find_soundfont(search_dirs=[tmp_path / "nothing"]) == _bundled()


def test_an_mit_system_font_is_preferred_to_the_bundled_one(clean_config, tmp_path):
    d = tmp_path / "sf2"
    d.mkdir()
    (d / "FluidR3_GM.sf2").symlink_to(_bundled())
    assert find_soundfont(search_dirs=[d]) == d / "FluidR3_GM.sf2"


def test_the_user_setting_wins(clean_config, tmp_path):
    mine = tmp_path / "My Font.sf2"
    mine.symlink_to(_bundled())
    clean_config.parent.mkdir(parents=True)
    clean_config.write_text(json.dumps({"soundfont": str(mine)}))
    d = tmp_path / "sf2"
    d.mkdir()
    (d / "FluidR3_GM.sf2").symlink_to(_bundled())
    assert find_soundfont(search_dirs=[d]) == mine
    assert SoundFontRenderer().soundfont_path == mine


def test_a_setting_naming_a_missing_file_is_a_clear_error(clean_config, tmp_path):
    clean_config.parent.mkdir(parents=True)
    clean_config.write_text(json.dumps({"soundfont": str(tmp_path / "gone.sf2")}))
    with pytest.raises(AudioError, match="does not exist"):
        find_soundfont()


def test_a_broken_settings_file_is_a_clear_error(clean_config):
    clean_config.parent.mkdir(parents=True)
    clean_config.write_text("{not json")
    with pytest.raises(AudioError, match="not valid JSON"):
        find_soundfont()


def test_an_unreadable_soundfont_is_an_audio_error(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00sfbk" + os.urandom(64))
    with pytest.raises(AudioError, match="cannot be read"):
        load_soundfont(bad)
    with pytest.raises(AudioError, match="does not exist"):
        SoundFontRenderer(tmp_path / "missing.sf2")



def test_a_soundfont_is_read_once_until_its_file_changes(tmp_path):
    import shutil

    copy = tmp_path / "font.sf2"
    shutil.copyfile(PINNED, copy)
    first = load_soundfont(copy)
    assert load_soundfont(copy) is first  # a second renderer (every diffusion render makes one) reads nothing
    assert SoundFontRenderer(copy)._base is first
    os.utime(copy, ns=(0, 10**9))  # the file changed on disk: read again
    again = load_soundfont(copy)
    assert again is not first and again.get_preset_count() == first.get_preset_count()
    copy.write_bytes(b"RIFF\x00\x00\x00\x00sfbk" + os.urandom(64))  # now broken: the error, not the old font
    with pytest.raises(AudioError, match="cannot be read"):
        load_soundfont(copy)

# --- timing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("tick", [0, PPQ * 2, PPQ * 2 + 7, 3001, 5555])
def test_onset_is_sample_accurate_across_tempo_changes(renderer, tick):
    tempo = TempoMap([TempoChange(0, 120), TempoChange(1920, 87.5), TempoChange(3000, 151)])
    song = single_note_song(tick, pitch=60, program=0, tempo=tempo, bars=4)
    expected = song.tick_to_sample(tick)
    res = renderer.render(song)
    assert first_sound(res.mix) == expected  # piano: attack-free, sounds from its first sample
    assert first_sound(res.mix, 1e-3) - expected <= 32  # the waveform rises from a zero crossing


def test_onset_at_another_sample_rate(renderer):
    song = single_note_song(PPQ * 3, pitch=36, is_drum=True, tempo=TempoMap(bpm=97), sample_rate=48000)
    res = renderer.render(song)
    assert res.sample_rate == 48000
    assert first_sound(res.mix) == round(3 * 60 / 97 * 48000)


def test_slow_attack_presets_start_within_one_envelope_block(renderer):
    # TinySoundFont updates envelopes every 64 samples: a flute with an attack ramp is quiet for one block.
    song = single_note_song(PPQ, pitch=72, program=73)
    start = first_sound(renderer.render(song).mix)
    assert 0 <= start - song.tick_to_sample(PPQ) <= 64


def test_velocity_is_respected(renderer):
    loud = renderer.render(single_note_song(0, velocity=120)).mix
    soft = renderer.render(single_note_song(0, velocity=40)).mix
    ratio_db = 20 * np.log10(np.sqrt((loud ** 2).mean()) / np.sqrt((soft ** 2).mean()))
    assert ratio_db > 6.0


def test_drum_tracks_play_the_percussion_bank(renderer):
    drum = single_note_song(0, pitch=38, is_drum=True)
    assert renderer._preset_index(drum.tracks[0]) == renderer._base.get_preset_index(128, 0)
    piano = single_note_song(0, pitch=38, is_drum=False)
    a, b = renderer.render(drum).mix, renderer.render(piano).mix
    assert np.abs(a - b).max() > 0.05


# --- tails, lengths, sections -----------------------------------------------------------------------
def test_release_tail_is_kept_beyond_the_end_of_the_song(renderer):
    # A string note that ends exactly at the end of the song: its release must not be cut.
    song = single_note_song(PPQ * 4, pitch=64, program=48, duration_ticks=PPQ * 4, bars=2)
    res = renderer.render(song)
    end = song.tick_to_sample(song.end_tick)
    assert res.frames > end + RATE // 2
    tail = res.stems[song.tracks[0].id][end:]
    assert np.sqrt((tail[: RATE // 4] ** 2).mean()) > 1e-3  # audible energy after the note-off
    assert np.abs(res.mix[-64:]).max() < 1e-4  # and it ends in silence, not a cut


def test_tail_is_capped(tmp_path):
    r = SoundFontRenderer(PINNED, tail_seconds=0.2)
    song = single_note_song(PPQ * 4, pitch=64, program=48, duration_ticks=PPQ * 4, bars=2)
    res = r.render(song)
    assert res.frames <= song.tick_to_sample(song.end_tick) + int(0.2 * RATE)


def test_section_render_has_the_section_length_plus_tail(renderer):
    song = make_demo_song(bars=12, tracks=6)
    sec = song.section("verse")
    res = renderer.render(song, section="verse")
    start, end = song.section_ticks(sec)
    length = song.tick_to_sample(end) - song.tick_to_sample(start)
    assert length <= res.frames <= length + 4 * RATE + 1024
    assert set(res.stems) == {t.id for t in song.tracks}
    # Bar 1 of the verse has a kick on its downbeat: it sounds at sample 0 of the section render.
    drums = res.stems[song.tracks[0].id]
    assert first_sound(drums) == 0


def test_section_render_keeps_only_its_notes_and_releases_them_at_its_end(renderer):
    def song_with(notes: list[Note]) -> Song:
        song = Song("two sections", tempo_map=TempoMap(bpm=100))
        song.add_section(Section("A", 0, 2))
        song.add_section(Section("B", 2, 2))
        t = song.add_track(Track("Keys", program=0, id="keys"))
        song.add_notes(t.id, notes)
        return song

    bar = 4 * PPQ
    crossing = Note(bar, 60, 2 * bar)  # starts in A, would sound on into B
    in_b = Note(2 * bar + PPQ, 60, PPQ)  # beat 2 of B (C4: its piano sample has no leading silence)
    song = song_with([crossing, in_b])
    b = renderer.render(song, section="B")
    b0 = song.tick_to_sample(2 * bar)
    assert first_sound(b.mix) == song.tick_to_sample(in_b.start_tick) - b0  # the crossing note is not in B
    a = renderer.render(song, section="A")
    released = song_with([Note(bar, 60, bar)])  # the same note ending at the end of A
    assert np.array_equal(a.mix, renderer.render(released).mix[: a.frames])


def test_section_by_object_and_index_agree(renderer):
    song = make_demo_song(bars=12, tracks=2)
    a = renderer.render(song, section=song.sections[1])
    b = renderer.render(song, section=1)
    assert np.array_equal(a.mix, b.mix)


def test_unknown_track_or_section_is_an_audio_error(renderer):
    song = make_demo_song(bars=4, tracks=1)
    with pytest.raises(AudioError, match="no track"):
        renderer.render(song, track_ids=["Tuba"])
    with pytest.raises(AudioError, match="no section"):
        renderer.render(song, section="coda")


def test_selected_tracks_only(renderer):
    song = make_demo_song(bars=4, tracks=3)
    res = renderer.render(song, track_ids=["Bass", song.tracks[0].id])
    assert list(res.stems) == [song.tracks[1].id, song.tracks[0].id]


def test_empty_track_gives_a_silent_stem_of_full_length(renderer):
    song = make_demo_song(bars=4, tracks=2)
    empty = song.add_track(Track("Empty", role="fx"))
    res = renderer.render(song)
    assert res.stems[empty.id].shape == res.mix.shape
    assert not res.stems[empty.id].any()


# --- the 3-minute demo song -------------------------------------------------------------------------
def test_three_minute_six_track_song_renders(demo_song, demo_render):
    res = demo_render
    assert len(res.stems) == 6
    end = demo_song.tick_to_sample(demo_song.end_tick)
    assert end == 192 * RATE
    assert end <= res.frames <= end + 4 * RATE + 1024
    for tid, audio in res.stems.items():
        assert audio.shape == (res.frames, 2) and audio.dtype == np.float32
        assert np.sqrt((audio ** 2).mean()) > 1e-3, demo_song.track(tid).name
    total = sum(res.stems.values())
    assert np.allclose(total, res.mix, atol=1e-6)


def test_each_note_starts_at_its_exact_sample_inside_a_busy_part(renderer):
    # Render the bass with and without note k: the renders are identical up to note k's start sample
    # and differ from exactly that sample on (the finger bass sounds from its first sample).
    song = make_demo_song(bars=8, tracks=2, tempo_changes=[(4 * 4 * PPQ, 93.0)])
    bass = song.tracks[1]
    full = renderer.render(song, track_ids=[bass.id]).stems[bass.id]
    for k in (1, 6, 17, 18, 29):  # 17 and 18 come after the tempo change at bar 4
        note = bass.notes[k]
        without = Song("minus one", tempo_map=song.tempo_map, meter_map=song.meter_map)
        without.add_section(Section("all", 0, song.length_bars))
        t = without.add_track(Track("Bass", role="bass", program=bass.program))
        without.add_notes(t.id, [n for n in bass.notes if n != note])
        other = renderer.render(without).stems[t.id]
        n = min(len(full), len(other))
        diff = np.nonzero(np.abs(full[:n] - other[:n]).max(axis=1) > 0)[0]
        assert diff[0] == song.tick_to_sample(note.start_tick), k


def test_rendering_is_deterministic(renderer, demo_song, demo_render):
    again = renderer.render(demo_song)
    for tid in demo_render.stems:
        assert np.array_equal(again.stems[tid], demo_render.stems[tid])
    assert np.array_equal(again.mix, demo_render.mix)


def test_progress_and_cancel(renderer):
    song = make_demo_song(bars=8, tracks=3)
    seen: list[float] = []
    renderer.render(song, progress=seen.append)
    assert seen[-1] == 1.0 and len(seen) > 10
    assert all(b >= a for a, b in zip(seen, seen[1:]))
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(CancelledError):
        renderer.render(song, cancel=cancel)


# --- controller lanes: sustain pedal, pitch bend, volume and expression, program changes ----------------------
from melodex_studio.song.model import PITCH_BEND, PROGRAM, Control  # noqa: E402


def rms(audio: np.ndarray, start_s: float, end_s: float) -> float:
    return float(np.sqrt(np.mean(audio[int(start_s * RATE):int(end_s * RATE)] ** 2)))


def peak_hz(audio: np.ndarray, start_s: float, end_s: float) -> float:
    x = audio[int(start_s * RATE):int(end_s * RATE), 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    return float(np.argmax(spectrum) * RATE / (8 * len(x)))


def with_controls(song: Song, *controls: Control) -> Song:
    out = song.copy()
    out.set_controls(out.tracks[0].id, controls)
    return out


def test_sustain_pedal_holds_released_notes_until_it_lifts(renderer):
    """An eighth note (0.25 s at 120 BPM) with the pedal down until tick 1920 (2 s) sounds on to 2 s."""
    dry = single_note_song(0, pitch=60, duration_ticks=240, program=0)
    pedal = with_controls(dry, Control(0, 64, 127), Control(1920, 64, 0))
    a, b = renderer.render(dry).mix, renderer.render(pedal).mix
    assert np.array_equal(a[:int(0.25 * RATE)], b[:int(0.25 * RATE)])  # the same until the key is released
    assert rms(b, 1.0, 1.9) > 20 * rms(a, 1.0, 1.9)  # still sounding with the pedal, a release tail without
    held = single_note_song(0, pitch=60, duration_ticks=1920, program=0)  # the key held down to 2 s instead
    assert np.array_equal(b, renderer.render(held).mix)  # released exactly when the pedal lifts
    # the pedal lifted before the key: nothing changes
    early = with_controls(dry, Control(0, 64, 127), Control(120, 64, 0))
    assert np.array_equal(renderer.render(early).mix, a)


def test_a_pitch_struck_again_under_the_pedal_is_released_first(renderer):
    song = single_note_song(0, pitch=60, duration_ticks=240)
    song.add_notes(song.tracks[0].id, [Note(960, 60, 240)])
    pedal = with_controls(song, Control(0, 64, 127))
    events = renderer._schedule(pedal, pedal.tracks[0], 0, pedal.end_tick, None, 0, RATE)
    notes = [(s, o) for s, o, _, a, _ in events if a == 60]
    at = song.tick_to_sample(960)
    assert notes == [(0, 2), (at, 0), (at, 2), (song.tick_to_sample(pedal.end_tick), 0)]


def test_pitch_bend_moves_the_pitch_by_the_bend_range(renderer):
    song = single_note_song(0, pitch=69, duration_ticks=1920, program=73)  # a flute A4, 2 s
    bent = with_controls(song, Control(960, PITCH_BEND, 4096))  # half of +2 semitones, from 1 s
    audio = renderer.render(bent).mix
    assert peak_hz(audio, 0.1, 0.9) == pytest.approx(440.0, rel=0.01)
    assert peak_hz(audio, 1.1, 1.9) == pytest.approx(440.0 * 2 ** (1 / 12), rel=0.01)
    # RPN 0 sets the range to 12 semitones: the same bend is half an octave
    wide = with_controls(song, Control(0, 101, 0), Control(0, 100, 0), Control(0, 6, 12), Control(960, PITCH_BEND, 4096))
    assert peak_hz(renderer.render(wide).mix, 1.1, 1.9) == pytest.approx(440.0 * 2 ** (6 / 12), rel=0.01)


def test_expression_and_volume_follow_the_gm_curve_relative_to_the_track_volume(renderer):
    song = single_note_song(0, pitch=60, duration_ticks=3840, program=48, bars=3)  # strings, 4 s
    plain = renderer.render(song).mix
    swell = renderer.render(with_controls(song, Control(1920, 11, 64))).mix  # expression to 64 after 2 s
    assert np.array_equal(plain[:2 * RATE], swell[:2 * RATE])
    assert rms(swell, 2.2, 3.9) / rms(plain, 2.2, 3.9) == pytest.approx((64 / 127) ** 2, rel=0.02)
    # CC7 100 is the volume of a 0 dB track (the mixer applies the gain): no change; 50 is 12 dB less
    same = renderer.render(with_controls(song, Control(1920, 7, 100))).mix
    assert np.abs(same - plain).max() < 0.01 * np.abs(plain).max()  # (the render is split at the event)
    half = renderer.render(with_controls(song, Control(1920, 7, 50))).mix
    assert rms(half, 2.2, 3.9) / rms(plain, 2.2, 3.9) == pytest.approx(0.25, rel=0.02)


def test_program_change_inside_a_track_changes_the_preset_of_later_notes(renderer):
    song = single_note_song(0, pitch=60, duration_ticks=480, program=0)
    song.add_notes(song.tracks[0].id, [Note(1920, 60, 480, 100)])
    changed = renderer.render(with_controls(song, Control(1920, PROGRAM, 73))).mix
    plain = renderer.render(song).mix
    assert np.array_equal(changed[:2 * RATE - 100], plain[:2 * RATE - 100])
    flute = renderer.render(single_note_song(1920, pitch=60, duration_ticks=480, program=73)).mix
    assert not np.allclose(plain[2 * RATE:], flute[2 * RATE:], atol=1e-3)
    assert np.allclose(changed[2 * RATE:], flute[2 * RATE:], atol=1e-6)  # the second note is the flute's


def test_a_section_render_starts_from_the_lanes_in_force(renderer):
    song = single_note_song(0, pitch=60, duration_ticks=240, program=48, bars=4)
    song.sections = [Section("A", 0, 2), Section("B", 2, 2)]
    song.add_notes(song.tracks[0].id, [Note(3840, 60, 1920)])
    quiet = with_controls(song, Control(0, 11, 64))  # set in section A, in force in B
    b_plain, b_quiet = renderer.render(song, section="B").mix, renderer.render(quiet, section="B").mix
    assert rms(b_quiet, 0.2, 0.9) / rms(b_plain, 0.2, 0.9) == pytest.approx((64 / 127) ** 2, rel=0.02)


def test_an_imported_midi_performance_renders_its_pedal(renderer, tmp_path):
    """Done-when of issue 16 item 6: a file with pedal, bend, expression, program changes and lyrics renders, and
    the pedal lengthens its notes."""
    import mido

    from melodex_studio.io.midi import import_midi

    def save(with_pedal: bool, name: str):
        mid = mido.MidiFile(type=1, ticks_per_beat=480)
        ev = [mido.MetaMessage("lyrics", text="la", time=0), mido.Message("program_change", program=0, time=0),
              mido.Message("control_change", control=11, value=127, time=0)]
        ev += [mido.Message("control_change", control=64, value=127, time=0)] if with_pedal else []
        for k, p in enumerate((60, 64, 67)):  # three short notes, a quarter note apart
            ev += [mido.Message("note_on", note=p, velocity=90, time=0 if k == 0 else 240),
                   mido.Message("note_off", note=p, time=240)]
        ev += [mido.Message("pitchwheel", pitch=0, time=0), mido.Message("program_change", program=1, time=0)]
        ev += [mido.Message("control_change", control=64, value=0, time=1200)] if with_pedal else []
        mid.tracks.append(mido.MidiTrack(ev))
        mid.save(str(tmp_path / name))
        return import_midi(tmp_path / name)

    dry, wet = save(False, "dry.mid"), save(True, "wet.mid")
    assert [c.kind for c in wet.tracks[0].controls] == [11, 64, PITCH_BEND, PROGRAM, 64]
    a, b = renderer.render(dry).mix, renderer.render(wet).mix
    assert rms(b, 1.8, 2.4) > 10 * rms(a, 1.8, 2.4)  # the notes end at 1.25 s; the pedal lifts at 2.5 s
