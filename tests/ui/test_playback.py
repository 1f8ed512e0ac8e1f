"""Playback in the window: Space plays the mix through the real audio callback (a fake device pulls it), the
playhead follows, mute/solo are heard without a re-render, a loop wraps without a gap, a take switched while
playing is in the next buffers, a note can be auditioned, and without an output device the window still works."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QToolButton

from melodex_studio.engine.preview import pad_stems, render_note
from melodex_studio.mix.mixer import mix_stems
from melodex_studio.playback.stream import FakeOutputStream


def _fake(window, blocksize=512):
    fake = FakeOutputStream(window.playback.sample_rate, blocksize)
    window.playback.use_stream(fake)
    assert window.audio_source.wait(60)
    return fake


def _expected(window, start, frames):
    """What mix/mixer.py makes of the played stems for frames [start, start + frames)."""
    _, mix = mix_stems(window.song, pad_stems(window.audio_source.stems()))
    out = np.zeros((frames, 2), np.float32)
    part = mix[start:start + frames]
    out[:len(part)] = part
    return out


def _press_space(window, qtbot):
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=2000)
    qtbot.keyClick(window.timeline.canvas, Qt.Key.Key_Space)


def test_space_plays_the_mix_through_the_callback_and_the_playhead_follows(generated, qtbot):
    window = generated
    fake = _fake(window)
    assert set(window.audio_source.stems()) == {t.id for t in window.song.tracks}
    window.set_playhead(window.song.bar_to_tick(1))
    start = window.transport_control.frame_of(window.song.bar_to_tick(1))
    _press_space(window, qtbot)
    assert window.playback.playing
    assert window.findChild(QToolButton, "playButton").toolTip().startswith("Play from the playhead")
    out = fake.pull(44100)
    assert np.abs(out).max() > 1e-3
    assert np.abs(out - _expected(window, start, len(out))).max() < 1e-6
    qtbot.wait(100)  # the display timer (30 Hz) moves the playhead
    tick = window.timeline.canvas.playhead_tick
    assert tick == window.transport_control.tick_of(start + len(out)) > window.song.bar_to_tick(1)
    label = window.findChild(QLabel, "positionLabel").text()
    bar = label.split(":", 1)[0]
    assert int(bar) == window.song.meter_map.tick_to_bar(tick)[0] + 1 and "0:03." in label  # 2 bars + 1 s at 120 BPM
    qtbot.mouseClick(window.findChild(QToolButton, "stopButton"), Qt.MouseButton.LeftButton)
    assert not window.playback.playing and np.all(fake.pull(1024) == 0)
    window.actions_by_id["rewind"].trigger()
    assert window.timeline.canvas.playhead_tick == 0 and window.playback.position == 0


def test_mute_and_solo_change_what_the_callback_delivers_without_a_rerender(generated, qtbot):
    window = generated
    fake = _fake(window)
    stems_before = window.audio_source.stems()
    rendered = window.audio_source._preview.rendered
    dry = pad_stems(stems_before)
    n = min(len(v) for v in dry.values())
    base = next(b for b in range(0, n - 4 * 8192, 8192)  # the first block where a track sounds (a rest may open a song)
                if max(np.abs(dry[t.id][b + 8192:b + 16384]).max() for t in window.song.tracks) > 0.01)
    window.transport_control.play(0)
    fake.pull(base + 8192)
    loud = int(np.argmax([np.abs(dry[t.id][base + 8192:base + 16384]).max() for t in window.song.tracks]))
    first = window.song.tracks[loud]
    qtbot.mouseClick(window.timeline.headers.headers[loud].mute_button, Qt.MouseButton.LeftButton)
    assert first.mute
    muted = fake.pull(8192)  # at once: no worker, no render in between
    # the track is gone from the next buffer; the mix's anti-clip trim (a whole-song value) follows when the
    # worker has mixed the song again, a few ms later: until then the previous trim (here within 1 %)
    expected = _expected(window, base + 8192, 8192)  # silence when the muted track was the only one sounding there
    assert np.abs(muted - expected).max() <= 0.01 * max(float(np.abs(expected).max()), 1e-6)
    assert np.abs(dry[first.id][base + 8192:base + 16384]).max() > 0.01  # the muted track sounds there
    assert window.audio_source.wait(30)
    assert np.abs(fake.pull(8192) - _expected(window, base + 16384, 8192)).max() < 1e-6
    other = (loud + 1) % len(window.song.tracks)
    window.timeline.set_solo(other, True)
    assert window.audio_source.wait(30)
    solo = fake.pull(8192)
    only = window.song.tracks[other]
    _, expected = mix_stems(window.song, {only.id: pad_stems(stems_before)[only.id]})
    assert np.abs(solo - expected[base + 24576:base + 32768]).max() < 1e-6
    assert window.audio_source.wait(30)
    assert window.audio_source._preview.rendered == rendered  # nothing was rendered again
    assert all(window.audio_source.stems()[k] is v for k, v in stems_before.items())


def test_the_loop_wraps_without_a_gap(generated, qtbot):
    window = generated
    fake = _fake(window)
    window.timeline.select_section(1)
    qtbot.mouseClick(window.findChild(QToolButton, "loopButton"), Qt.MouseButton.LeftButton)
    assert window.actions_by_id["loop"].isChecked()
    song, tc = window.song, window.transport_control
    sec = song.sections[1]
    a, b = tc.frame_of(song.bar_to_tick(sec.start_bar)), tc.frame_of(song.bar_to_tick(sec.end_bar))
    window.play_selection()
    assert window.playback.position == a
    n = (b - a) * 2 + 3000
    out = fake.pull(n)
    body = _expected(window, a, b - a)
    expected = np.concatenate([body, body, body])[:len(out)]
    assert np.abs(out - expected).max() < 1e-6
    qtbot.wait(80)
    assert song.bar_to_tick(sec.start_bar) <= window.timeline.canvas.playhead_tick < song.bar_to_tick(sec.end_bar)


def test_a_take_switched_while_playing_is_in_the_next_buffers(generated, qtbot):
    window = generated
    fake = _fake(window)
    session = window.session
    window.timeline.select_section(0)
    window.timeline.select_track(0)
    sec, track = window.song.sections[0], window.song.tracks[0]
    for seed in (5, 6):  # two structure takes of the clip with other notes; the second plays
        session.run(session.regenerate(sec.id, track.id, seed=seed))
    assert window.audio_source.wait(60)
    old = next(t for t in session.takes(sec.id, track.id) if not t.active)
    assert session.song.take(old.id).notes[track.id] != track.notes_in(*session.song.section_ticks(sec))
    window.transport_control.play(0)
    before = fake.pull(4096)
    assert np.abs(before - _expected(window, 0, 4096)).max() < 1e-6
    stems_before = window.audio_source.stems()
    session.use_take(old.id)
    fake.pull(512)  # a buffer while the worker renders: the previous stems, no gap
    assert window.audio_source.wait(30)
    assert window.audio_source.stems()[track.id] is not stems_before[track.id]
    pos = window.playback.position
    after = fake.pull(4096)
    assert np.abs(after - _expected(window, pos, 4096)).max() < 1e-6


def test_audition_note_plays_at_once(window, qtbot):
    fake = _fake(window)
    window.audition_note(0, 60, 100, False)
    out = fake.pull(4096)
    note = render_note(0, 60, 100, False, window.playback.sample_rate)
    assert np.abs(note[:4096]).max() > 1e-3
    assert np.abs(out - note[:4096]).max() < 1e-6
    window.audition_note(0, 200, 100, False)  # out of range: a message, no exception
    assert "Cannot play the note" in window.statusBar().currentMessage()


def test_without_an_output_device_the_window_starts_and_the_transport_moves(qtbot, tiny_models, monkeypatch):
    from melodex_studio.song import Note, Section, Song, Track
    from melodex_studio.ui.main_window import MainWindow
    from tests.engine.session_helpers import make_session

    monkeypatch.setitem(sys.modules, "sounddevice", None)
    song = Song()
    song.add_section(Section("verse", 0, 8))
    song.add_track(Track("piano", "chords", 0, notes=[Note(i * 480, 60, 400) for i in range(32)]))
    w = MainWindow(session=make_session(tiny_models))
    qtbot.addWidget(w)
    w.show()
    w.set_song(song)
    assert w.playback.no_output and w.playback.stream.silent
    assert w.findChild(QLabel, "audioOutputLabel").text().startswith("No audio output: ")
    assert w.audio_source.wait(30) and w.audio_source.mix() is not None
    w.toggle_play()
    qtbot.waitUntil(lambda: w.timeline.canvas.playhead_tick > 480, timeout=3000)
    w.toggle_play()
    assert not w.playback.playing
    w.session.update_track(song.tracks[0].id, gain_db=-6.0)  # everything else still works
    assert w.song.tracks[0].gain_db == -6.0
    w.session.history.mark_clean()
    w.close()


def test_audio_settings_store_the_choice_and_show_the_latency(window, qtbot, monkeypatch):
    from PySide6.QtCore import QSettings

    from melodex_studio.playback.stream import OutputSettings
    from melodex_studio.ui.audio_settings import AudioSettingsDialog
    from melodex_studio.ui.transport import load_output_settings

    dialog = AudioSettingsDialog(OutputSettings(None, 44100, 512), window)
    assert dialog.latency.text() == "46 ms (4 buffers of 11.6 ms)"
    dialog.block.setCurrentIndex(dialog.block.findData(256))
    dialog.rate.setCurrentIndex(dialog.rate.findData(48000))
    assert dialog.latency.text() == "21 ms (4 buffers of 5.3 ms)"
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    try:
        reason = window.apply_output_settings(dialog.settings())
        assert reason and load_output_settings() == OutputSettings(None, 48000, 256)
        assert window.playback.sample_rate == 48000 and window.audio_source.sample_rate == 48000
    finally:
        s = QSettings()
        for k in ("audio/device", "audio/sample_rate", "audio/blocksize"):
            s.remove(k)


@pytest.mark.parametrize("rate", [44100])
def test_position_text(rate):
    from melodex_studio.song import Song
    from melodex_studio.ui.transport import position_text

    song = Song()
    assert position_text(song, 0) == "1:1   0:00.0"
    assert position_text(song, song.bar_to_tick(12) + 2 * 480) == "13:3   0:25.0"
