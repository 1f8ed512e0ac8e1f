"""File ▸ Export… in the window: MIDI (type 1 / 0), the mix and stems written through the dialog and read back
(mido, soundfile); the live list of files is what gets written; one section only; Cancel writes nothing;
bad choices are dialogs."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog


def _open(window) -> QDialog:
    window.actions_by_id["export_dialog"].trigger()
    dlg = window.findChild(QDialog, "exportDialog")
    assert dlg is not None and dlg.isVisible()
    return dlg


def _note_ons(path: Path) -> list[tuple[int, int]]:
    """(absolute tick, track index) of every sounding note-on."""
    out = []
    for i, track in enumerate(mido.MidiFile(str(path)).tracks):
        t = 0
        for msg in track:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                out.append((t, i))
    return out


def test_export_midi_mix_and_stems_as_listed(generated, qtbot, tmp_path):
    w = generated
    assert w.actions_by_id["export_dialog"].shortcut().toString() == "Ctrl+E"
    dlg = _open(w)
    dlg.folder.setText(str(tmp_path / "out"))
    dlg.name.setText("My Song")
    dlg.stems.setChecked(True)
    dlg.rate.setCurrentIndex(dlg.rate.findData(48000))
    dlg.bits.setCurrentIndex(dlg.bits.findData(24))
    planned = dlg.planned()
    listed = dlg.summary.toPlainText().splitlines()
    assert listed == [f"In {tmp_path / 'out'}:"] + [f"  {p.relative_to(tmp_path / 'out')}" for p in planned]
    audible = w.song.audible_tracks()
    assert planned[:2] == [tmp_path / "out" / "My Song.mid", tmp_path / "out" / "My Song.wav"]
    assert len(planned) == 2 + len(audible)
    assert planned[2] == tmp_path / "out" / "My Song stems" / f"My_Song_01_{audible[0].name.replace(' ', '_')}.wav"

    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    assert dlg.progress.isVisible() and dlg.cancel_button.text() == "Cancel"
    assert w.wait_for_jobs(60)
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.report is not None
    written = sorted(p for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == sorted(planned)

    midi = mido.MidiFile(str(planned[0]))
    assert midi.type == 1 and len(midi.tracks) >= len(w.song.tracks)
    assert len(_note_ons(planned[0])) == sum(len(t.notes) for t in w.song.tracks)
    mix, sr = sf.read(str(planned[1]), dtype="float32")
    info = sf.info(str(planned[1]))
    assert sr == 48000 and info.subtype == "PCM_24" and mix.shape[1] == 2
    assert info.duration >= w.song.duration_seconds
    stems = [sf.read(str(p), dtype="float32")[0] for p in planned[2:]]
    assert all(s.shape == mix.shape for s in stems)
    total = sum(stems)
    assert np.abs(total - mix).max() < 1e-3 * max(1.0, float(np.abs(mix).max()))  # dither only
    assert np.abs(mix).max() > 1e-3


def test_type_0_midi_and_one_section_only(generated, qtbot, tmp_path):
    w = generated
    dlg = _open(w)
    dlg.folder.setText(str(tmp_path))
    dlg.midi_type.setCurrentIndex(1)
    dlg.scope.setCurrentIndex(2)  # the second section
    dlg.fmt.setCurrentText("FLAC")
    assert not dlg.bits.model().item(2).isEnabled()  # FLAC has no 32-bit float
    dlg.bits.setCurrentIndex(dlg.bits.findData(16))
    sec = w.song.sections[1]
    planned = dlg.planned()
    name = dlg.name.text()
    assert name and len(name) <= 40
    assert [p.name for p in planned] == [f"{name} - {sec.label}.mid", f"{name} - {sec.label}.flac"]
    job = dlg.start()
    assert job is not None and w.wait_for_jobs(60)
    assert sorted(tmp_path.iterdir()) == sorted(planned)
    midi = mido.MidiFile(str(planned[0]))
    assert midi.type == 0 and len(midi.tracks) == 1
    a, b = w.song.section_ticks(sec)
    ons = _note_ons(planned[0])
    expect = sum(1 for t in w.song.tracks for n in t.notes if a <= n.start_tick < b)
    assert len(ons) == expect > 0
    assert max(t for t, _ in ons) * w.song.ppq // midi.ticks_per_beat < b - a  # from the section's start
    info = sf.info(str(planned[1]))
    seconds = w.song.tick_to_seconds(b) - w.song.tick_to_seconds(a)
    assert info.format == "FLAC" and info.subtype == "PCM_16"
    assert seconds <= info.duration <= seconds + 4.0 < w.song.duration_seconds + 4.0  # the section and its tail


def test_cancel_writes_nothing_and_bad_choices_are_dialogs(generated, qtbot, tmp_path, dialogs):
    w = generated
    dlg = _open(w)
    out = tmp_path / "out"
    dlg.folder.setText(str(out))
    dlg.stems.setChecked(True)
    job = dlg.start()
    assert job is not None
    qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)  # at once, while it renders
    assert w.wait_for_jobs(60)
    assert job.status == "cancelled" and dlg.isVisible() and "no file was written" in dlg.status.text()
    assert [p for p in out.rglob("*") if p.is_file()] == []
    assert dlg.cancel_button.text() == "Close"

    (tmp_path / "a file").write_text("x")
    dlg.folder.setText(str(tmp_path / "a file"))
    assert dlg.start() is None
    assert dialogs[-1][0] == "box" and dialogs[-1][1] == "Cannot export" and "not a folder" in dialogs[-1][2]
    dlg.folder.setText(str(tmp_path / "a file" / "inside"))
    assert dlg.start() is None and "Cannot create the folder" in dialogs[-1][2]
    dlg.folder.setText(str(out))
    for t in w.song.tracks:
        w.session.update_track(t.id, mute=True)
    assert dlg.start() is None and "No track is audible" in dialogs[-1][2]
    for box in (dlg.midi, dlg.mix, dlg.stems):
        box.setChecked(False)
    assert not dlg.export_button.isEnabled() and "Nothing" in dlg.summary.toPlainText()
    assert dlg.start() is None and "Nothing to export" in dialogs[-1][2]
    qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
    assert not dlg.isVisible()
