"""The mixer dock: a strip per track; fader, pan, mute and solo edit the track through the session (undoable)
and are heard at once in what the audio callback delivers; meters follow the played audio; the master strip
shows the short-term loudness and the true peak of what was played."""
from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from melodex_studio.engine.preview import pad_stems
from melodex_studio.mix.mixer import mix_stems
from melodex_studio.playback.stream import FakeOutputStream
from melodex_studio.song import Note, Section, Song, Track


@pytest.fixture
def mixer_window(window, qtbot):
    """The window on a 4-bar song of three tracks, its previews rendered, a fake device plugged in."""
    song = Song(title="mixer test")
    song.add_section(Section("verse", 0, 4))
    for name, prog, drum in (("Piano", 0, False), ("Bass", 33, False), ("Drums", 0, True)):
        pitch = 38 if drum else (36 if prog == 33 else 60)
        song.add_track(Track(name, "drums" if drum else "chords", prog, drum,
                             notes=[Note(i * 240, pitch + (i % 3) * (0 if drum else 4), 200, 90) for i in range(32)]))
    window.set_song(song)
    fake = FakeOutputStream(window.playback.sample_rate, 512)
    window.playback.use_stream(fake)
    assert window.audio_source.wait(60)
    window.mixer_dock.show()
    window.mixer_dock.raise_()
    qtbot.waitUntil(window.mixer_view.isVisible, timeout=2000)
    return window, fake


def _expected(window, start, frames):
    _, mix = mix_stems(window.song, pad_stems(window.audio_source.stems()))
    return mix[start:start + frames]


def test_a_strip_per_track_with_the_tracks_values(mixer_window):
    window, _ = mixer_window
    view = window.findChild(QWidget, "mixerView")
    assert view is window.mixer_view and window.findChild(QWidget, "mixerDock") is window.mixer_dock
    assert [s.name.text() for s in view.strips] == ["Piano", "Bass", "Drums"]
    window.session.update_track(window.song.tracks[1].id, gain_db=-7.5, pan=-0.3)
    strip = view.strips[1]
    assert strip.gain.value() == -15 and strip.gain_label.text() == "-7.5 dB"
    assert strip.pan.value() == -30 and strip.pan_label.text() == "L30"
    window.session.add_track("Lead", "melody", 80)
    assert [s.name.text() for s in view.strips] == ["Piano", "Bass", "Drums", "Lead"]
    assert all(w.toolTip() for s in view.strips for w in (s.gain, s.pan, s.mute, s.solo, s.meter))


def test_the_fader_is_one_undoable_change_per_drag_and_heard_while_dragging(mixer_window):
    window, fake = mixer_window
    session, strip = window.session, window.mixer_view.strips[0]
    track = window.song.tracks[0]
    changes = len(session.history.changes)
    window.transport_control.play(0)
    fake.pull(2048)
    strip.gain.setSliderDown(True)
    for v in (-2, -8, -12):  # dragging to -6 dB: heard at once, the document waits for the release
        strip.gain.setValue(v)
    assert track.gain_db == 0.0 and len(session.history.changes) == changes
    heard = fake.pull(2048)
    stems = pad_stems(window.audio_source.stems())
    dragged = window.song.copy()
    dragged.update_track(track.id, gain_db=-6.0)
    assert np.abs(heard - mix_stems(dragged, stems)[1][2048:4096]).max() < 1e-6
    strip.gain.setSliderDown(False)  # release: one change
    assert window.song.tracks[0].gain_db == -6.0 and len(session.history.changes) == changes + 1
    assert session.history.undo_label() == "Change Piano"
    window.undo()
    assert window.song.tracks[0].gain_db == 0.0 and strip.gain.value() == 0
    assert np.abs(fake.pull(2048) - _expected(window, 4096, 2048)).max() < 1e-6


def test_pan_mute_and_solo_buttons_edit_the_track_and_the_next_buffer(mixer_window, qtbot):
    window, fake = mixer_window
    view = window.mixer_view
    window.transport_control.play(0)
    fake.pull(1024)
    view.strips[2].pan.setValue(60)  # keyboard / wheel: committed at once
    assert window.song.tracks[2].pan == pytest.approx(0.6)
    qtbot.mouseClick(view.strips[0].mute, Qt.MouseButton.LeftButton)
    assert window.song.tracks[0].mute
    assert window.timeline.headers.headers[0].mute_button.isChecked()  # the timeline shows the same state
    assert window.audio_source.wait(30)
    assert np.abs(fake.pull(1024) - _expected(window, 1024, 1024)).max() < 1e-6
    qtbot.mouseClick(view.strips[1].solo, Qt.MouseButton.LeftButton)
    assert window.audio_source.wait(30)  # the solo is heard at once; the anti-clip trim of the new mix follows
    out = fake.pull(1024)
    bass = window.song.tracks[1]
    alone = mix_stems(window.song, {bass.id: pad_stems(window.audio_source.stems())[bass.id]})[1][2048:3072]
    assert np.abs(out - alone).max() < 1e-6
    window.undo()
    window.undo()
    assert not window.song.tracks[1].solo and not window.song.tracks[0].mute
    assert not view.strips[0].mute.isChecked() and not view.strips[1].solo.isChecked()


def test_meters_loudness_and_true_peak_follow_what_was_played(mixer_window):
    window, fake = mixer_window
    view = window.mixer_view
    window.session.update_track(window.song.tracks[2].id, mute=True)
    assert window.audio_source.wait(30)
    window.transport_control.play(0)
    rate = window.playback.sample_rate
    out = fake.pull(3 * rate)
    view.update_meters()
    assert view.strips[0].meter.level > 0.01 and view.strips[2].meter.level == 0.0
    assert view.master.meter.level == pytest.approx(float(np.abs(out).max()), rel=1e-6)
    from melodex_studio.ui.mixer_view import load_meters_in_background

    load_meters_in_background().join(60)  # the loudness code is imported on a thread (not at the window's start)
    view.measure()
    window3 = out[-3 * rate:].astype(np.float64)
    lufs = pyloudnorm.Meter(rate, block_size=3.0).integrated_loudness(window3)
    assert view.master.lufs.text() == f"{lufs:.1f} LUFS"
    tp = float(view.master.true_peak.text().split()[1])
    assert tp >= 20 * math.log10(np.abs(out).max()) - 0.05
    view.master.true_peak.click()
    assert view.master.true_peak.text() == "TP — dB"


def test_the_mixer_screenshot(mixer_window, tmp_path):
    window, fake = mixer_window
    window.transport_control.play(0)
    for _ in range(5):
        fake.pull(4096)
        window.mixer_view.update_meters()
    path = tmp_path / "mixer.png"
    assert window.mixer_dock.grab().save(str(path))
    assert path.stat().st_size > 2000


def test_a_new_song_reuses_the_strips_for_its_tracks(window):
    view = window.mixer_view

    def song_of(*names):
        song = Song(title="strips")
        song.add_section(Section("verse", 0, 2))
        for k, name in enumerate(names):
            song.add_track(Track(name, "chords", k, False, gain_db=-3.0 * k))
        return song

    window.set_song(song_of("Piano", "Bass", "Pad"))
    first = list(view.strips)
    window.set_song(song_of("Organ", "Guitar"))  # the strips there are take the new tracks: none rebuilt
    assert view.strips == first[:2]
    assert [s.track_id for s in view.strips] == [t.id for t in window.song.tracks]
    assert [s.name.text() for s in view.strips] == ["Organ", "Guitar"]
    assert [s.gain_db() for s in view.strips] == [0.0, -3.0]
    view.strips[1].mute.click()  # and edit the new track
    assert window.song.tracks[1].mute and not window.song.tracks[0].mute
    window.set_song(song_of("A", "B", "C", "D"))
    assert view.strips[:2] == first[:2] and len(view.strips) == 4


def test_a_long_track_name_fits_its_strip_in_the_themes_font(qtbot):
    from melodex_studio.engine.session import ProjectSession
    from melodex_studio.ui.mixer_view import MixerView

    session = ProjectSession(autosave=False)
    song = Song(title="names")
    song.add_section(Section("a", 0, 2))
    for name in ("electric bass", "Electric Bass (finger)", "Bass"):
        song.add_track(Track(name, "bass", 33))
    session.new(song)
    view = MixerView(session, None)  # made and filled before it is first shown, as in the window
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    qtbot.waitExposed(view)
    for strip in view.strips:
        label = strip.name
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width(), label.text()
    assert [s.name.text() for s in view.strips][2] == "Bass" and view.strips[1].name.text().endswith("…")
    session.close()
