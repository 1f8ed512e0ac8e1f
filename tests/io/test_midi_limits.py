"""Hostile MIDI files: bounded cost (song.limits, file size), odd values (tempo 0, unknown key signatures),
special files (pipes, devices), and the reader itself (read_smf gives mido's messages)."""
from __future__ import annotations

import glob
import io
import os
import random
import threading
import time
from pathlib import Path

import mido
import pytest

from melodex_studio.errors import MidiError
from melodex_studio.io.midi import import_midi, midifile_to_song, read_smf
from melodex_studio.song import limits


def smf(*tracks: bytes, fmt: int = 1, division: int = 480, extra: bytes = b"") -> bytes:
    """A Standard MIDI File from raw track bodies (delta-time events)."""
    out = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + len(tracks).to_bytes(2, "big")
    out += division.to_bytes(2, "big", signed=True) + extra
    for body in tracks:
        out += b"MTrk" + len(body).to_bytes(4, "big") + body
    return out


def varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


NOTES = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00"  # one quarter note C4
EOT = b"\x00\xff\x2f\x00"


def write(tmp_path: Path, data: bytes, name: str = "x.mid") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def imported(path: Path):
    before = path.read_bytes()
    t0 = time.perf_counter()
    try:
        return import_midi(path)
    finally:
        assert time.perf_counter() - t0 < 15.0  # a bound that the old quadratic code (20-30 s) fails, with room for a loaded CI machine
        assert path.read_bytes() == before


# --- odd values ------------------------------------------------------------------------------------
def test_a_tempo_of_zero_is_a_clear_error(tmp_path):
    """Before: set_tempo 0 raised ZeroDivisionError."""
    p = write(tmp_path, smf(b"\x00\xff\x51\x03\x00\x00\x00" + NOTES + EOT))
    with pytest.raises(MidiError, match=r"tempo of 0 microseconds per beat \(track 1, tick 0\)"):
        imported(p)


@pytest.mark.parametrize("sf, mi", [(9, 0), (-8, 1), (0, 2)])
def test_a_key_signature_that_names_no_key_is_ignored_with_a_note(tmp_path, sf, mi):
    """Before: mido's KeySignatureError escaped as a traceback (26 of 2,000 fuzzed real files)."""
    key = b"\x00\xff\x59\x02" + bytes([sf & 0xFF, mi])
    p = write(tmp_path, smf(key + b"\x00\xff\x59\x02\x02\x00" + NOTES + EOT))  # then D major
    song = imported(p)
    assert song.key.name == "D major"
    notes = song.generation["midi_import"]["notes"]
    assert any(f"({sf} sharps/flats, mode {mi}) is not a key; it was ignored" in n for n in notes), notes
    assert len(song.tracks) == 1 and song.tracks[0].notes[0].duration_ticks == 480


def test_a_skipped_event_keeps_the_time_of_the_next(tmp_path):
    p = write(tmp_path, smf(b"\x83\x60\xff\x59\x02\x09\x00" + NOTES + EOT))  # bad key at tick 480
    assert imported(p).tracks[0].notes[0].start_tick == 480


def test_text_with_lone_surrogates_is_cleaned():
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60, time=480)]))
    assert midifile_to_song(mid, title="Night\ud800").title == "Night\ufffd"


# --- bounded cost ------------------------------------------------------------------------------------
def test_100000_tempo_changes_are_refused_quickly(tmp_path):
    """Before: a 700 KB file of 100,000 tempo changes ended in MemoryError after 25-31 s."""
    body = b"".join(b"\x01\xff\x51\x03" + (500_000 + i % 1000).to_bytes(3, "big") for i in range(100_000))
    p = write(tmp_path, smf(body + NOTES + EOT))
    assert 600_000 < p.stat().st_size < 2**20
    with pytest.raises(MidiError, match=r"holds 100,000 tempo changes; a song holds at most 20,000"):
        imported(p)


def test_tempo_changes_within_the_limit_import(tmp_path):
    """The limit counts the map's changes, with the one added at tick 0: an imported song always loads again."""
    body = b"".join(b"\x01\xff\x51\x03" + (500_000 + i % 1000).to_bytes(3, "big") for i in range(limits.MAX_TEMPO_CHANGES))
    with pytest.raises(MidiError, match=r"holds 20,001 tempo changes"):  # the first at tick 1: 120 BPM before it
        imported(write(tmp_path, smf(body + NOTES + EOT)))
    song = imported(write(tmp_path, smf(b"\x00" + body[1:] + NOTES + EOT), "at0.mid"))
    assert len(song.tempo_map.changes) == limits.MAX_TEMPO_CHANGES


def test_meter_changes_import_in_linear_time(tmp_path):
    """Before: every meter change rebuilt the meter map (quadratic in the number of changes)."""
    n = limits.MAX_METER_CHANGES - 1
    events = [b"\x00\xff\x51\x03" + (60_000).to_bytes(3, "big")]  # 1000 BPM: 10,000 bars last 35 minutes
    for i in range(n):  # alternate 4/4 and 3/4 every bar
        num = 3 if i % 2 else 4
        events.append(varlen(0 if i == 0 else (1920 if num == 3 else 1440)) + b"\xff\x58\x04" + bytes([num, 2, 24, 8]))
    song = imported(write(tmp_path, smf(b"".join(events) + NOTES + EOT)))
    assert len(song.meter_map.changes) == n
    events.append(b"\x83\x60\xff\x58\x04\x05\x02\x18\x08" * 2)
    with pytest.raises(MidiError, match=r"holds 10,001 meter changes; a song holds at most 10,000"):
        imported(write(tmp_path, smf(b"".join(events) + NOTES + EOT), "more.mid"))


def test_a_note_an_hour_away_is_refused(tmp_path):
    late = varlen(2**27) + b"\x90\x3c\x40" + b"\x10\x80\x3c\x00"  # at tick 2**27 (ticks_per_beat 480): 78 hours
    with pytest.raises(MidiError, match=r"too long for a song: it lasts until tick 134,218,224"):
        imported(write(tmp_path, smf(NOTES + late + EOT)))
    late = varlen(4_000_000) + b"\x90\x3c\x40" + b"\x10\x80\x3c\x00"  # 69 minutes at 120 BPM
    with pytest.raises(MidiError, match=r"it lasts until 69\.\d minutes; a song lasts at most 60 minutes"):
        imported(write(tmp_path, smf(NOTES + late + EOT), "b.mid"))


def test_too_many_tracks_are_refused(tmp_path):
    named = [b"\x00\xff\x03\x01A" + NOTES + EOT for _ in range(limits.MAX_TRACKS + 1)]
    with pytest.raises(MidiError, match=r"holds 129 tracks; a song holds at most 128"):
        imported(write(tmp_path, smf(*named)))


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    p = tmp_path / "big.mid"
    with open(p, "wb") as f:
        f.write(smf(NOTES + EOT))
        f.truncate(limits.MAX_MIDI_BYTES + 1)
    with pytest.raises(MidiError, match=r"big\.mid is 2\.0 MB; a MIDI file of a song is at most 2 MB"):
        imported(p)


@pytest.mark.slow
@pytest.mark.slow
def test_the_largest_file_imports_in_bounded_time(tmp_path):
    """The worst case for the reader: MAX_MIDI_BYTES of 3-byte running-status notes."""
    n = (limits.MAX_MIDI_BYTES - 40) // 3
    body = bytearray(b"\x00\x90\x3c\x40")
    for i in range(n - 1):
        body += bytes([1, 60 + (i % 24), 64 if i % 2 else 0])
    p = write(tmp_path, smf(bytes(body) + EOT, fmt=0))
    t0 = time.perf_counter()
    with pytest.raises(MidiError, match=r"holds 349,5\d\d notes in one track; a song holds at most 100,000"):
        import_midi(p)
    assert time.perf_counter() - t0 < 20  # ~5 s here; the point is a bound, not a benchmark


# --- special files -----------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    result: list = []

    def run():
        try:
            import_midi(fifo)
        except Exception as e:  # noqa: BLE001 - inspected below
            result.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5)
        pytest.fail("importing a named pipe blocked")
    assert isinstance(result[0], MidiError) and "not a regular file" in str(result[0])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(MidiError, match="not a regular file"):
        import_midi(device)


def test_a_folder_and_a_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(MidiError, match="it is a folder"):
        import_midi(tmp_path)
    with pytest.raises(MidiError, match="does not exist"):
        import_midi(tmp_path / "none.mid")


# --- the reader ----------------------------------------------------------------------------------------
REAL_FILES = sorted(glob.glob(os.path.join(os.path.dirname(mido.__file__), "..", "music21", "**", "*.mid"),
                              recursive=True))


@pytest.mark.skipif(not REAL_FILES, reason="music21's test MIDI files are not installed")
def test_read_smf_reads_real_files_as_mido_does():
    for path in REAL_FILES:
        data = Path(path).read_bytes()
        ours, notes = read_smf(data)
        theirs = mido.MidiFile(file=io.BytesIO(data), clip=True)
        assert (ours.type, ours.ticks_per_beat, notes) == (theirs.type, theirs.ticks_per_beat, []), path
        assert [[vars(m) for m in t] for t in ours.tracks] == [[vars(m) for m in t] for t in theirs.tracks], path


def test_read_smf_reads_every_channel_message_as_mido_does():
    rng = random.Random(0)
    body = bytearray()
    for _ in range(3000):
        status = rng.choice([0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xD0, 0xE0]) | rng.randrange(16)
        size = 1 if status >> 4 in (0xC, 0xD) else 2
        body += bytes([rng.randrange(128), status] + [rng.randrange(256) for _ in range(size)])  # bytes > 127 clip
        if rng.random() < 0.3:  # running status
            body += bytes([rng.randrange(128)] + [rng.randrange(128) for _ in range(size)])
    body += b"\x00\xf0\x03\x7e\x7f\xf7" + b"\x00\xff\x06\x05verse" + EOT  # sysex, marker
    data = smf(bytes(body))
    ours, _ = read_smf(data)
    theirs = mido.MidiFile(file=io.BytesIO(data), clip=True)
    assert [vars(m) for m in ours.tracks[0]] == [vars(m) for m in theirs.tracks[0]]
    assert [str(m) for m in ours.tracks[0]] == [str(m) for m in theirs.tracks[0]]


def test_alien_chunks_are_skipped_and_damage_is_a_midi_error():
    data = smf(NOTES + EOT)
    alien = data[:14] + b"XFIH" + (3).to_bytes(4, "big") + b"abc" + data[14:]
    mid, notes = read_smf(alien)
    assert len(mid.tracks) == 1 and "b'XFIH' (3 bytes) is not MIDI data" in notes[0]
    for bad, match in [(data[:-3], "cut short"), (b"RIFF" + data[4:], "not a MIDI file"), (data[:10], "cut short"),
                       (smf(b"\x00\x3c\x40" + EOT), "running status"), (smf(b"\x00\xf4" + EOT), "undefined status"),
                       (smf(b"\xff\xff\xff\xff\x7f" + EOT), "longer than 4 bytes"), (smf(NOTES, fmt=7), "file type 7")]:
        with pytest.raises(MidiError, match=match):
            read_smf(bad)
