"""The real-time mixer through the real callback (a fake device pulls it): what it delivers equals
``mix.mixer.mix_stems``; mute, solo, gain and pan apply live; loops wrap without a gap; stems swap between
buffers; auditioned notes sound on top; no output device leaves a working (silent) transport."""
from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from melodex_studio.errors import AudioError
from melodex_studio.mix.mixer import mix_stems
from melodex_studio.playback.mixer import Levels, PlaybackMixer, StemSet, mix_song
from melodex_studio.playback.player import Player
from melodex_studio.playback.stream import FakeOutputStream, OutputSettings
from melodex_studio.song import Song, Track

RATE = 44100


def _song_and_stems(frames=20000, loud=0.05, seed=0):
    rng = np.random.default_rng(seed)
    song = Song(sample_rate=RATE)
    for name, gain, pan in (("keys", -3.0, -0.4), ("bass", 2.0, 0.0), ("lead", 0.0, 0.7)):
        song.add_track(Track(name, "melody", 0, gain_db=gain, pan=pan))
    stems = {t.id: (rng.standard_normal((frames, 2)) * loud).astype(np.float32) for t in song.tracks}
    return song, stems


def _player(song, stems, blocksize=512):
    player = Player(RATE)
    fake = FakeOutputStream(RATE, blocksize)
    player.use_stream(fake)
    player.set_stems(stems, [t.id for t in song.tracks])
    player.set_levels(Levels.of(song))
    return player, fake


def test_the_callback_delivers_the_mix_of_mix_stems():
    song, stems = _song_and_stems()
    player, fake = _player(song, stems)
    player.play(0)
    out = fake.pull(20000)
    _, mix = mix_stems(song, stems)
    assert np.array_equal(out[:20000], mix)  # same products, same order: bit for bit
    assert np.array_equal(mix_song(song, stems)[1], mix)
    assert np.all(out[20000:] == 0) and not np.isnan(out).any()
    assert not player.playing and player.mixer.take_ended()


def test_a_mix_that_clips_is_trimmed_as_the_export_trims_it():
    song, stems = _song_and_stems(loud=1.5)
    levels, offline = mix_song(song, stems)
    assert levels.trim < 1.0
    player, fake = _player(song, stems)
    player.set_levels(levels)
    player.play(0)
    out = fake.pull(20000)[:20000]
    _, mix = mix_stems(song, stems)
    assert np.abs(out - mix).max() < 1e-6 and np.abs(offline - mix).max() < 1e-6
    assert np.abs(out).max() <= 10 ** (-0.3 / 20) + 1e-6


def test_mute_solo_gain_and_pan_change_the_next_buffer_without_new_stems():
    song, stems = _song_and_stems()
    player, fake = _player(song, stems)
    _, bass, lead = song.tracks
    player.play(0)
    fake.pull(1024)
    song.update_track(bass.id, mute=True)
    player.set_levels(Levels.of(song))
    out = fake.pull(1024)
    _, mix = mix_stems(song, stems)
    assert np.array_equal(out, mix[1024:2048])
    song.update_track(lead.id, solo=True)
    player.set_levels(Levels.of(song))
    out = fake.pull(512)
    expected = stems[lead.id][2048:2560] * np.array([np.sqrt(2) * np.cos(1.7 * np.pi / 4),
                                                     np.sqrt(2) * np.sin(1.7 * np.pi / 4)], np.float32)
    assert np.abs(out - expected).max() < 1e-6  # only the soloed track, panned right
    song.update_track(lead.id, solo=False, gain_db=-6.0)
    song.update_track(bass.id, mute=False, pan=-1.0)
    player.set_levels(Levels.of(song))
    assert np.array_equal(fake.pull(512), mix_stems(song, stems)[1][2560:3072])


def test_a_loop_wraps_inside_a_buffer_without_a_gap():
    song, stems = _song_and_stems()
    _, mix = mix_stems(song, stems)
    player, fake = _player(song, stems)
    a, b = 3000, 7001  # a length that is no multiple of the buffer: the wrap falls inside one
    player.set_loop(a, b)
    player.play(5000)
    out = fake.pull(10240)
    expected = np.concatenate([mix[5000:b], mix[a:b], mix[a:b], mix[a:b]])[:10240]
    assert np.array_equal(out, expected)
    assert player.playing and a <= player.position < b


def test_playing_after_the_loop_end_runs_to_the_end_of_the_song():
    song, stems = _song_and_stems(frames=4000)
    _, mix = mix_stems(song, stems)
    player, fake = _player(song, stems)
    player.set_loop(0, 1000)
    player.play(2000)
    out = fake.pull(4096)
    assert np.array_equal(out[:2000], mix[2000:]) and np.all(out[2000:] == 0)


def test_new_stems_play_from_the_next_buffer():
    song, stems = _song_and_stems()
    player, fake = _player(song, stems)
    player.play(0)
    first = fake.pull(512)
    other = {k: -v for k, v in stems.items()}
    player.set_stems(other, [t.id for t in song.tracks])
    second = fake.pull(512)
    _, mix = mix_stems(song, stems)
    assert np.array_equal(first, mix[:512]) and np.array_equal(second, -mix[512:1024])


def test_stems_of_different_lengths_and_missing_stems_are_silent_past_their_end():
    song, stems = _song_and_stems()
    keys, bass, _ = song.tracks
    short = {keys.id: stems[keys.id][:700], bass.id: stems[bass.id]}
    player, fake = _player(song, short)
    player.play(0)
    out = fake.pull(1024)
    padded = {keys.id: np.concatenate([stems[keys.id][:700], np.zeros((19300, 2), np.float32)]), bass.id: stems[bass.id]}
    assert np.array_equal(out, mix_stems(song, padded)[1][:1024])


def test_seek_and_stop_while_playing():
    song, stems = _song_and_stems()
    _, mix = mix_stems(song, stems)
    player, fake = _player(song, stems)
    player.play(0)
    fake.pull(512)
    player.seek(10000)
    assert np.array_equal(fake.pull(512), mix[10000:10512])
    player.stop()
    assert np.all(fake.pull(512) == 0) and player.position == 10512


def test_an_auditioned_note_sounds_on_top_once():
    song, stems = _song_and_stems()
    player, fake = _player(song, stems)
    note = np.full((700, 2), 0.25, np.float32)
    player.audition(note)
    out = fake.pull(1024)  # not playing: the note alone
    assert np.array_equal(out[:700], note) and np.all(out[700:] == 0)
    player.play(0)
    player.audition(note)
    out = fake.pull(512)
    assert np.abs(out - (mix_stems(song, stems)[1][:512] + 0.25)).max() < 1e-6


def test_meters_report_peaks_and_recent_audio():
    song, stems = _song_and_stems()
    player, fake = _player(song, stems)
    player.play(0)
    out = fake.pull(2048)
    peaks, master = player.mixer.take_peaks()
    assert set(peaks) == {t.id for t in song.tracks}
    assert master == pytest.approx(float(np.abs(out).max()))
    assert np.array_equal(player.mixer.recent(1000), out[-1000:])
    assert player.mixer.take_peaks() == ({}, 0.0)



def test_track_peaks_are_those_of_each_stem_after_its_gain_whole_or_ending_inside_a_buffer():
    song, stems = _song_and_stems()
    keys = song.tracks[0]
    short = dict(stems, **{keys.id: stems[keys.id][:700]})  # ends inside the second buffer
    player, fake = _player(song, short)
    levels = Levels.of(song)
    player.play(0)
    for frames in (512, 512):  # every stem whole; then one ending inside the buffer
        start = player.mixer.position
        fake.pull(frames)
        peaks, _ = player.mixer.take_peaks()
        for tid, g in levels.gains.items():
            part = short[tid][start:start + frames] * g
            assert peaks[tid] == pytest.approx(float(np.abs(part).max()), rel=1e-6)


def test_while_playing_a_waiting_thread_gets_the_gil_sooner_and_the_default_is_back_after():
    from melodex_studio.responsive import FAST_SWITCH_S as PLAYING_SWITCH_S
    from melodex_studio.responsive import fast_switching, holders

    for left in holders():  # players of earlier tests that were left playing
        fast_switching(left, False)
    song, stems = _song_and_stems()
    player, _ = _player(song, stems)
    other, _ = _player(song, stems)
    other.play(0)
    other.stop()
    before = sys.getswitchinterval()
    player.play(0)
    assert PLAYING_SWITCH_S < before and sys.getswitchinterval() == pytest.approx(PLAYING_SWITCH_S)
    player.play(100)  # again: the interval saved is still the default one
    other.play(0)
    player.stop()
    assert sys.getswitchinterval() == pytest.approx(PLAYING_SWITCH_S)  # the other one still plays
    other.close()
    assert sys.getswitchinterval() == before

def test_buffers_larger_than_the_mixing_block_are_mixed_in_parts():
    song, stems = _song_and_stems()
    player, fake = _player(song, stems, blocksize=8192)
    player.play(0)
    assert np.array_equal(fake.pull(8192), mix_stems(song, stems)[1][:8192])


def test_no_portaudio_gives_a_reason_and_a_transport_that_still_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as without the package
    player = Player(RATE)
    reason = player.open_output(OutputSettings(None, RATE, 512))
    assert reason and "sounddevice" in reason and player.no_output == reason
    song, stems = _song_and_stems(frames=RATE)
    player.set_stems(stems, [t.id for t in song.tracks])
    player.set_levels(Levels.of(song))
    player.play(0)
    time.sleep(0.3)
    assert player.position > 0.1 * RATE  # the silent clock stream pulls the callback in real time
    player.stop()
    player.close()


def test_output_settings_want_a_power_of_two_buffer():
    with pytest.raises(AudioError, match="power of two"):
        OutputSettings(None, RATE, 500)
    assert OutputSettings(None, 48000, 256).buffer_ms == pytest.approx(5.333, abs=1e-3)


def test_stemset_refuses_mono_audio():
    with pytest.raises(ValueError, match="frames, 2"):
        StemSet.of({"a": np.zeros(10, np.float32)})
    assert PlaybackMixer().stems.frames == 0


def test_before_the_stems_are_there_the_song_plays_silence_to_its_end():
    player = Player(RATE)
    fake = FakeOutputStream(RATE, 512)
    player.use_stream(fake)
    player.mixer.end_frames = 2000
    player.play(0)
    out = fake.pull(1024)
    assert np.all(out == 0) and player.playing and player.position == 1024
    fake.pull(1024)
    assert not player.playing and player.mixer.take_ended() and player.position == 2000


class _Device:
    """A stand-in for the ``sounddevice`` module: one stereo output device whose stream PortAudio would pull;
    here the test pulls the callback the wrapper hands over."""

    class PortAudioError(Exception):
        pass

    def __init__(self, refuse: bool = False):
        self.refuse, self.streams = refuse, []

    def query_devices(self):
        return [{"name": "Mic", "max_output_channels": 0, "default_samplerate": 48000.0},
                {"name": "Speakers", "max_output_channels": 2, "default_samplerate": 48000.0}]

    def OutputStream(self, **kw):  # the sounddevice name
        if self.refuse:
            raise self.PortAudioError("Invalid sample rate")
        device = self

        class Stream:
            def __init__(self):
                self.kw, self.active, self.latency, self.closed = kw, False, 0.0213, False
                device.streams.append(self)

            def start(self):
                self.active = True

            def stop(self):
                self.active = False

            def close(self):
                self.closed = True

        return Stream()


def test_the_sounddevice_stream_wrapper_opens_plays_and_reports(monkeypatch):
    from melodex_studio.playback.stream import output_devices

    device = _Device()
    monkeypatch.setitem(sys.modules, "sounddevice", device)
    assert output_devices() == [(1, "Speakers", 48000.0)]
    song, stems = _song_and_stems()
    player = Player(RATE)
    assert player.open_output(OutputSettings("Speakers", RATE, 256)) is None and player.no_output is None
    stream = device.streams[-1]
    assert stream.kw["samplerate"] == RATE and stream.kw["blocksize"] == 256 and stream.kw["channels"] == 2
    assert stream.kw["device"] == "Speakers" and stream.kw["dtype"] == "float32" and not stream.active
    assert stream.kw["latency"] == pytest.approx(4 * 256 / RATE)  # the device holds four buffers ahead
    assert player.latency_s == pytest.approx(0.0213)
    player.set_stems(stems, [t.id for t in song.tracks])
    player.set_levels(Levels.of(song))
    player.play(0)
    assert stream.active
    out = np.full((256, 2), np.nan, np.float32)

    class Status:
        output_underflow = True

    stream.kw["callback"](out, 256, None, Status())  # what PortAudio calls
    assert np.array_equal(out, mix_stems(song, stems)[1][:256]) and player.stream.underflows == 1
    player.close()
    assert stream.closed


def test_a_device_that_refuses_gives_the_reason_and_the_silent_clock(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", _Device(refuse=True))
    player = Player(RATE)
    reason = player.open_output(OutputSettings(None, 96000, 512))
    assert reason == "the output device cannot be opened: Invalid sample rate"
    assert player.stream.silent and player.sample_rate == 96000
    player.close()
