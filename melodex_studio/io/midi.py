"""Standard MIDI File export and import (mido).

Export (``song_to_midifile``) writes SMF type 1 at ``PPQ`` = 480 ticks per quarter note:

* track 0 (the conductor track) holds only meta events: ``track_name`` = song title, ``time_signature``
  at the first tick of each meter change's bar, ``key_signature`` (mido spelling: 'F', 'C#m', 'Bb'),
  ``set_tempo`` for every tempo change, one ``key_signature`` per key change (``Song.key_changes``) and one
  ``marker`` per section at its first tick. Its ``end_of_track`` lies at the end of the song
  (``Song.end_tick``), which is how the length of the last section travels through the file.
* one MIDI track per song track: ``track_name``, ``program_change``, CC7 (volume) and CC10 (pan) at tick
  0, then the track's controller lanes (control changes such as CC64 sustain, CC11 expression, CC1 modulation;
  pitch bend; program changes inside the track), its ``lyrics`` meta events and its notes. Drum tracks use
  channel index 9 and only they do; other tracks get channels 0..8, 10..15 in order, reused (cyclically) when
  there are more than 15 of them.
* Notes of one pitch never overlap on one channel: when they do in the song, the earlier note ends where
  the later one starts (two notes starting on the same tick become one, the longer). Events are sorted
  by (tick, meta < program < control < note-off < note-on, pitch; lane events in lane order after the
  settings), so the file is deterministic. The song document already holds no such overlaps inside a track
  (``song.model.resolve_overlaps``); only tracks sharing a channel (drum tracks, more than 15 melodic tracks)
  can still meet here.

Section markers carry the section label unchanged ("verse", "verse"): a marker has a position, so two
markers with the same text are already distinct, and DAWs show the label the musician typed. Import
reads the label back exactly; the length of a section is the distance to the next marker (or to the song
end), rounded to whole bars. Gaps between sections are therefore absorbed into the section before them.
Text is written as UTF-8 (plain ASCII labels are byte-identical to Latin-1).

Gain and pan map to CC7/CC10: ``cc7 = round(100 * 10 ** (gain_db / 40))`` (the GM volume curve around the GM
default volume 100: 0 dB is CC7 100, and a file without CC7 plays at 0 dB; gains above +4.15 dB are written as
127), pan -1..0..+1 -> CC10 0..64..127. Mute/solo, chords and takes are not part of a MIDI file.

Import (``midifile_to_song``) reads type 0 and type 1 files at any resolution (ticks rescaled to 480,
rounded), treats velocity-0 note-ons as note-offs, ignores unmatched note-offs, closes notes still on at the
end of their track, keeps tempo and meter changes (a meter change inside a bar moves to the next bar line;
this and other repairs are listed in ``song.generation["midi_import"]["notes"]``), reads the first key
signature (later ones become ``Song.key_changes``) and the markers, builds one song track per (MIDI track,
channel) and guesses track roles. What musicians play beyond notes is kept in the track
(``Track.controls``): control changes 0..119 (the first CC7 and CC10 become the track's gain and pan, later
ones are lane events), pitch bend, and program changes after the first (which is the track's program);
``lyrics`` meta events become ``Track.lyrics`` of the song track made from their MIDI track (the melody one
when the MIDI track holds several channels or no notes). Notes of one pitch that overlap in a track are
resolved as ``song.model.resolve_overlaps`` says. What is not kept is counted in the import notes: channel
pressure and polyphonic aftertouch, channel mode messages (CC120-127), system exclusive messages, text,
copyright and cue meta events, and controller events of channels that hold no notes.
A second export of an imported export is byte-identical to the first.

``import_midi`` opens regular files only (a pipe or a device is refused without waiting or reading), of at
most ``song.limits.MAX_MIDI_BYTES``, and parses them with ``read_smf`` (mido's message types; a key signature
mido cannot name is skipped with a note instead of failing the file). A tempo of 0 microseconds per quarter
is refused, and so is a file beyond ``song.limits`` (tempo or meter changes, tracks, notes, sections, length):
every problem is a ``MidiError``; the work is bounded by the file's size. Lone UTF-16 surrogates in text
become U+FFFD.
"""
from __future__ import annotations

import bisect
import math
import os
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import mido
from mido.midifiles.meta import KeySignatureError, build_meta_message
from mido.messages.specs import SPEC_BY_STATUS

from ..errors import MidiError
from ..song import limits
from ..song.model import (
    DRUM_CHANNEL, PITCH_BEND, PROGRAM, Control, Key, KeyChange, Lyric, Note, Section, Song, Track, midi_channels,
    resolve_channel_overlaps, resolve_overlaps, trim_channel_overlaps,
)
from ..song.timing import PPQ, MeterChange, MeterMap, TempoChange, TempoMap
from .validate import clean_text

MIN_GAIN_DB = -100.0  # CC7 = 0
GM_DEFAULT_CC7 = 100  # the channel volume a GM synth starts with: 0 dB
LAST_CONTROLLER = 119  # 120..127 are channel mode messages (all sound off, reset, local, omni, mono/poly)
_VALID_KEYS = {
    "Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#",
    "Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m",
}
# sort rank of events sharing a tick
_RANK = {"meta": 0, "program_change": 1, "control_change": 2, "note_off": 3, "note_on": 4}
_LANE = 128  # lane events sort after the controller numbers of a track's settings (CC7, CC10) on their tick


# --- value mappings ------------------------------------------------------------------------------
def gain_db_to_cc7(gain_db: float) -> int:
    """Track gain in dB -> CC7 value 0..127 (GM curve 40*log10(cc/100): 0 dB is the GM default 100; gains above
    +4.15 dB clip to 127)."""
    if gain_db <= MIN_GAIN_DB:
        return 0
    return max(0, min(127, round(GM_DEFAULT_CC7 * 10 ** (gain_db / 40))))


def cc7_to_gain_db(value: int) -> float:
    """CC7 value -> gain in dB (100 -> 0 dB), with the fewest decimals that map back to the same value."""
    if value <= 0:
        return MIN_GAIN_DB
    exact = 40 * math.log10(value / GM_DEFAULT_CC7)
    return _shortest(exact, lambda g: gain_db_to_cc7(g) == value)


def pan_to_cc10(pan: float) -> int:
    """Pan -1 (left) .. 0 .. +1 (right) -> CC10 0 .. 64 .. 127."""
    return max(0, min(127, round(64 + pan * (64 if pan < 0 else 63))))


def cc10_to_pan(value: int) -> float:
    exact = (value - 64) / (64 if value < 64 else 63)
    return _shortest(exact, lambda p: pan_to_cc10(p) == value)


def _tempo_to_bpm(tempo_us: int) -> float:
    """Microseconds per quarter -> BPM with the fewest decimals that give back the same integer tempo."""
    return _shortest(60_000_000 / tempo_us, lambda b: mido.bpm2tempo(b) == tempo_us)


def _shortest(exact: float, ok) -> float:
    for digits in range(7):
        v = round(exact, digits)
        if ok(v):
            return float(v)
    return float(exact)


def _key_name(key: Key) -> str:
    name = key.midi_name
    return name if name in _VALID_KEYS else Key(key.tonic, key.mode).midi_name


def _clocks_per_click(numerator: int, denominator: int) -> int:
    """MIDI clocks (24 per quarter) per metronome click: the beat, dotted for compound meters (6/8)."""
    beat = 96 // denominator
    return beat * 3 if denominator >= 8 and numerator % 3 == 0 and numerator > 3 else beat


def assign_channels(tracks: list[Track]) -> list[int]:
    """MIDI channel index for each track: drums 9; others 0..8, 10..15 in order, reused after 15."""
    return midi_channels(tracks)


# --- export ----------------------------------------------------------------------------------------
_trim_overlaps = trim_channel_overlaps  # (note, owner) pairs of one channel, overlaps trimmed (song.model)


def _to_track(events: list[tuple[tuple, mido.Message]], end_tick: int) -> mido.MidiTrack:
    """Absolute-tick (key, message) pairs -> delta-time MidiTrack ending with one end_of_track."""
    track = mido.MidiTrack()
    now = 0
    for (tick, *_), msg in sorted(events, key=lambda e: e[0]):
        msg.time = tick - now  # each message is built for this export and placed once
        track.append(msg)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end_tick, now) - now))
    return track


def _meta(tick: int, order: int, msg: mido.MetaMessage):
    return (tick, _RANK["meta"], order, 0), msg


def song_to_midifile(song: Song, file_type: int = 1) -> mido.MidiFile:
    """Build a ``mido.MidiFile`` (type 1, or type 0 with everything merged into one track) at 480 PPQ.

    See the module docstring for the layout. Raises ``MidiError`` for an unsupported ``file_type``.
    """
    if file_type not in (0, 1):
        raise MidiError(f"MIDI file type {file_type} cannot be written; choose type 0 or type 1")
    conductor: list = [_meta(0, 0, mido.MetaMessage("track_name", name=song.title))]
    for c in song.meter_map.changes:
        conductor.append(_meta(song.bar_to_tick(c.bar), 1, mido.MetaMessage(
            "time_signature", numerator=c.numerator, denominator=c.denominator,
            clocks_per_click=_clocks_per_click(c.numerator, c.denominator), notated_32nd_notes_per_beat=8)))
    conductor.append(_meta(0, 2, mido.MetaMessage("key_signature", key=_key_name(song.key))))
    for c in song.key_changes:
        conductor.append(_meta(c.start_tick, 2, mido.MetaMessage("key_signature", key=_key_name(c.key))))
    for c in song.tempo_map.changes:
        conductor.append(_meta(c.tick, 3, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(c.bpm))))
    for i, s in enumerate(sorted(song.sections, key=lambda s: s.start_bar)):
        conductor.append(_meta(song.bar_to_tick(s.start_bar), 4 + i, mido.MetaMessage("marker", text=_clean(s.label))))

    channels = assign_channels(song.tracks)
    trimmed: dict[int, list[Note]] = {i: [] for i in range(len(song.tracks))}
    for ch in sorted(set(channels)):  # overlaps are resolved per channel, across the tracks sharing it
        tagged = [(n, i) for i, c in enumerate(channels) if c == ch for n in song.tracks[i].notes]
        for n, i in _trim_overlaps(tagged):
            trimmed[i].append(n)
    instrument_tracks = []
    for i, (t, ch) in enumerate(zip(song.tracks, channels)):
        ev: list = [(((0, _RANK["meta"], 0, 0)), mido.MetaMessage("track_name", name=_clean(t.name)))]
        ev.append(((0, _RANK["program_change"], ch, 0), mido.Message("program_change", channel=ch, program=t.program)))
        ev.append(((0, _RANK["control_change"], ch, 7), mido.Message("control_change", channel=ch, control=7, value=gain_db_to_cc7(t.gain_db))))
        ev.append(((0, _RANK["control_change"], ch, 10), mido.Message("control_change", channel=ch, control=10, value=pan_to_cc10(t.pan))))
        for j, c in enumerate(t.controls):  # after the settings at tick 0, in lane order
            ev.append(_control_event(c, ch, j))
        for j, ly in enumerate(t.lyrics):
            ev.append(((ly.start_tick, _RANK["meta"], 1, j), mido.MetaMessage("lyrics", text=_printable(ly.text))))
        for n in trimmed[i]:
            ev.append(((n.start_tick, _RANK["note_on"], ch, n.pitch), mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
            ev.append(((n.end_tick, _RANK["note_off"], ch, n.pitch), mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        instrument_tracks.append(ev)

    song_end = max([song.end_tick] + [k[0] for k, _ in conductor])
    mid = mido.MidiFile(type=file_type, ticks_per_beat=PPQ, charset="utf-8")
    if file_type == 1:
        mid.tracks.append(_to_track(conductor, song_end))
        for ev in instrument_tracks:
            mid.tracks.append(_to_track(ev, max((k[0] for k, _ in ev), default=0)))
    else:  # instrument track names would be ambiguous in one track: only the title is kept
        merged = conductor + [e for ev in instrument_tracks for e in ev if e[1].type != "track_name"]
        mid.tracks.append(_to_track(merged, song_end))
    return mid


def _control_event(c: Control, ch: int, order: int):
    """(sort key, message) of one lane event on channel ``ch``: after the track's settings at tick 0 and before
    the notes of its tick; ``order`` (its place in the lane) keeps the lane's order within a tick."""
    key = (c.start_tick, _RANK["control_change"], ch, _LANE + order)
    if c.kind == PROGRAM:
        return key, mido.Message("program_change", channel=ch, program=c.value)
    if c.kind == PITCH_BEND:
        return key, mido.Message("pitchwheel", channel=ch, pitch=c.value)
    return key, mido.Message("control_change", channel=ch, control=c.kind, value=c.value)


def _printable(text: str) -> str:
    """Text with each control character replaced by a space (lyrics keep their spaces: they separate words)."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))


def _clean(text: str) -> str:
    """Meta text without control characters (newlines would break DAW marker lists)."""
    return _printable(text).strip()


def export_midi(song: Song, path: str | Path, file_type: int = 1) -> None:
    """Write ``song`` as a Standard MIDI File (type 1 or 0) to ``path``; ``MidiError`` when it cannot."""
    mid = song_to_midifile(song, file_type)
    try:
        mid.save(str(path))
    except OSError as e:
        raise MidiError(f"Could not write the MIDI file {path}: {e.strerror or e}") from e


# --- import ----------------------------------------------------------------------------------------
@dataclass
class _Group:
    """Notes and settings of one (MIDI track, channel) while reading."""

    track_index: int
    channel: int
    notes: list[Note] = field(default_factory=list)
    program: int | None = None
    cc7: int | None = None
    cc10: int | None = None
    controls: list[Control] = field(default_factory=list)


def _decode(text: str, charset: str) -> str:
    """Meta text read as Latin-1 that is really UTF-8 (as we write it) -> the UTF-8 text."""
    if charset.lower().replace("-", "") in ("latin1", "iso88591"):
        try:
            return text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return text
    return text


def _read_regular(p: Path) -> bytes:
    """The bytes of ``p`` if it is a regular file of at most ``MAX_MIDI_BYTES`` (a pipe or a device is refused
    without waiting for a writer or reading endless bytes)."""
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as e:
        raise MidiError(f"The MIDI file {p} does not exist.") from e
    except OSError as e:
        raise MidiError(f"The MIDI file {p} cannot be opened: {e.strerror or e}") from e
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise MidiError(f"The MIDI file {p} cannot be opened: it is a folder")
        if not stat.S_ISREG(st.st_mode):
            raise MidiError(f"{p.name} is not a regular file (a pipe, device or socket), so it cannot be a MIDI file.")
        if st.st_size > limits.MAX_MIDI_BYTES:
            raise MidiError(f"{p.name} is {st.st_size / 2**20:.1f} MB; a MIDI file of a song is at most "
                            f"{limits.MAX_MIDI_BYTES / 2**20:g} MB")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        try:
            data = f.read(limits.MAX_MIDI_BYTES + 1)
        except OSError as e:
            raise MidiError(f"The MIDI file {p} cannot be read: {e.strerror or e}") from e
    if len(data) > limits.MAX_MIDI_BYTES:
        raise MidiError(f"{p.name} is larger than {limits.MAX_MIDI_BYTES / 2**20:g} MB, the limit of a MIDI file")
    return data


def import_midi(path: str | Path) -> Song:
    """Read a Standard MIDI File (type 0 or 1) into a new Song titled after its first track name (or file name).

    Raises ``MidiError`` with a readable message when the file is missing, not a regular file, too large, not
    MIDI, truncated, odd or beyond ``song.limits``.
    """
    p = Path(path)
    mid, read_notes = read_smf(_read_regular(p), p.name)
    song = midifile_to_song(mid, title=None, default_title=p.stem)
    song.generation["midi_import"]["notes"][:0] = read_notes
    return song


# high nibble of a channel status byte -> (mido message type, data byte names in file order)
_CHANNEL_MESSAGES = {
    0x8: ("note_off", ("note", "velocity")), 0x9: ("note_on", ("note", "velocity")),
    0xA: ("polytouch", ("note", "value")), 0xB: ("control_change", ("control", "value")),
    0xC: ("program_change", ("program",)), 0xD: ("aftertouch", ("value",)), 0xE: ("pitchwheel", ("lsb", "msb")),
}
_new_message = object.__new__
Message = mido.Message


class _Cut(Exception):
    """The data ends inside an event."""


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    """A variable-length quantity (at most 4 bytes, as the standard says) at ``pos``: (value, next position)."""
    value = 0
    for i in range(4):
        if pos >= len(data):
            raise _Cut
        b = data[pos]
        pos += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, pos
    raise ValueError("a time or length value is longer than 4 bytes")


def _read_track(data: bytes, pos: int, end: int, notes: list[str], track_no: int) -> mido.MidiTrack:
    """The events of one MTrk chunk's body data[pos:end] as mido messages (delta times in ticks)."""
    track = mido.MidiTrack()
    append = track.append
    running = None
    carry = 0  # delta time of skipped events, added to the next one
    n = len(data)
    while pos < end:
        if pos < n and data[pos] < 0x80:  # the usual one-byte delta time, inline
            delta, pos = data[pos], pos + 1
        else:
            delta, pos = _varlen(data, pos)
        if carry:
            delta, carry = delta + carry, 0
        if pos >= n:
            raise _Cut
        status = data[pos]
        pos += 1
        if status == 0xFF:  # meta event; cancels running status
            running = None
            if pos >= n:
                raise _Cut
            kind = data[pos]
            length, pos = _varlen(data, pos + 1)
            if pos + length > n:
                raise _Cut
            payload = list(data[pos:pos + length])
            pos += length
            try:
                append(build_meta_message(kind, payload, delta))
            except KeySignatureError:
                sf = payload[0] - 256 if payload and payload[0] > 127 else (payload[0] if payload else 0)
                mi = payload[1] if len(payload) > 1 else None
                notes.append(f"a key signature in track {track_no} ({sf} sharps/flats, mode {mi}) is not a key; "
                             f"it was ignored")
                carry = delta
            continue
        if status in (0xF0, 0xF7):  # sysex; cancels running status
            running = None
            length, pos = _varlen(data, pos)
            if pos + length > n:
                raise _Cut
            body = data[pos:pos + length]
            pos += length
            if body[:1] == b"\xf0":
                body = body[1:]
            if body[-1:] == b"\xf7":
                body = body[:-1]
            append(mido.Message("sysex", data=[min(b, 127) for b in body], time=delta))
            continue
        if status < 0x80:  # running status: this byte is the first data byte
            if running is None:
                raise ValueError("running status without an earlier status byte")
            status, pos = running, pos - 1
        elif status < 0xF0:
            running = status
        if status < 0xF0:  # a channel message, built as mido builds it (its __init__ less the checks)
            kind, names = _CHANNEL_MESSAGES[status >> 4]
            if pos + len(names) > n:
                raise _Cut
            msg = _new_message(Message)
            fields = msg.__dict__
            fields["type"], fields["time"], fields["channel"] = kind, delta, status & 0x0F
            a = data[pos] if data[pos] < 0x80 else 0x7F  # data bytes clip to 127 (mido's clip=True)
            if len(names) == 1:
                fields[names[0]] = a
                pos += 1
            else:
                b = data[pos + 1] if data[pos + 1] < 0x80 else 0x7F
                if kind == "pitchwheel":
                    fields["pitch"] = (a | b << 7) + mido.MIN_PITCHWHEEL
                else:
                    fields[names[0]], fields[names[1]] = a, b
                pos += 2
            append(msg)
            continue
        spec = SPEC_BY_STATUS.get(status)  # system common and real-time messages: rare in files
        if spec is None:
            raise ValueError(f"undefined status byte 0x{status:02x}")
        size = spec["length"] - 1
        if pos + size > n:
            raise _Cut
        append(mido.Message.from_bytes([status] + [min(b, 127) for b in data[pos:pos + size]], time=delta))
        pos += size
    return track


def read_smf(data: bytes, name: str = "the file") -> tuple[mido.MidiFile, list[str]]:
    """Parse a Standard MIDI File held in ``data`` into a ``mido.MidiFile`` (as ``mido.MidiFile(clip=True)``
    reads it: data bytes above 127 clip to 127, text as Latin-1) and the notes of what was skipped.

    Unlike mido it skips chunks other than MTrk (as the standard asks) and key signatures that name no key
    (each with a note). Raises ``MidiError`` for data that is not MIDI, cut short or damaged; the work is
    linear in ``len(data)``.
    """
    notes: list[str] = []
    if data[:4] != b"MThd" or len(data) < 14:
        if data[:4] == b"MThd":
            raise MidiError(f"{name} is cut short: the MIDI header is incomplete.")
        raise MidiError(f"{name} is not a MIDI file (no MIDI header found).")
    header_len = int.from_bytes(data[4:8], "big")
    fmt, n_tracks = int.from_bytes(data[8:10], "big"), int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big", signed=True)
    if header_len < 6:
        raise MidiError(f"{name} is damaged and cannot be read as MIDI (its header is {header_len} bytes long).")
    if fmt not in (0, 1, 2):
        raise MidiError(f"{name} is damaged and cannot be read as MIDI (unknown file type {fmt}).")
    pos = 8 + header_len
    tracks: list[mido.MidiTrack] = []
    try:
        while len(tracks) < n_tracks:
            if pos + 8 > len(data):
                raise _Cut
            kind, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
            pos += 8
            if kind != b"MTrk":  # an alien chunk: skipped
                notes.append(f"a chunk of type {kind!r} ({size} bytes) is not MIDI data and was skipped")
                pos += size
                continue
            if pos + size > len(data):
                raise _Cut
            tracks.append(_read_track(data, pos, pos + size, notes, len(tracks) + 1))
            pos += size
    except _Cut:
        raise MidiError(f"{name} is cut short: the MIDI file ends in the middle of a track.") from None
    except (ValueError, KeyError, IndexError, TypeError, UnicodeError) as e:
        raise MidiError(f"{name} is damaged and cannot be read as MIDI ({e}).") from e
    return mido.MidiFile(type=fmt, ticks_per_beat=division, charset="latin1", tracks=tracks), notes


def midifile_to_song(mid: mido.MidiFile, title: str | None = None, default_title: str = "Imported MIDI") -> Song:
    """Convert a ``mido.MidiFile`` (type 0 or 1, any ticks per beat) into a Song at 480 PPQ.

    Args:
        mid: the parsed file.
        title: song title; None -> the first track's name, else ``default_title``.
    """
    if mid.type not in (0, 1):
        raise MidiError(f"MIDI file type {mid.type} (independent sequences) is not supported; save it as type 1")
    if not mid.tracks:
        raise MidiError("The MIDI file contains no tracks.")
    tpb = mid.ticks_per_beat
    if not isinstance(tpb, int) or tpb <= 0 or tpb >= 0x8000:
        raise MidiError("The MIDI file uses SMPTE (frame-based) timing, which is not supported; export it with beat-based timing")
    notes_log: list[str] = []
    charset = getattr(mid, "charset", "latin1")

    def scale(t: int) -> int:  # ticks at tpb -> ticks at PPQ, rounded half up
        return (2 * t * PPQ + tpb) // (2 * tpb)

    tempos: list[tuple[int, int]] = []
    meters: list[tuple[int, int, int]] = []
    keys: list[tuple[int, str]] = []
    markers: list[tuple[int, str]] = []
    names: dict[int, str] = {}
    track_ends: list[int] = []
    groups: dict[tuple[int, int], _Group] = {}
    global_prog: dict[int, int] = {}
    global_cc: dict[tuple[int, int], int] = {}
    track_channels: dict[int, set[int]] = defaultdict(set)
    lyrics: dict[int, list[Lyric]] = defaultdict(list)  # MIDI track -> its lyrics
    dropped: dict[str, int] = defaultdict(int)  # what was not kept -> how many events
    n_controls = 0

    for ti, track in enumerate(mid.tracks):
        tick = 0
        active: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) -> (start tick, velocity)

        def close(ch: int, pitch: int, end: int) -> None:
            start, vel = active.pop((ch, pitch))
            g = groups.setdefault((ti, ch), _Group(ti, ch))
            g.notes.append(Note(start, pitch, max(1, end - start), vel))

        for msg in track:
            tick += msg.time
            t = scale(tick)
            if msg.is_meta:
                if msg.type == "set_tempo":
                    if msg.tempo <= 0:
                        raise MidiError(f"The MIDI file sets a tempo of 0 microseconds per beat (track {ti + 1}, "
                                        f"tick {tick}), which is no tempo; the file is damaged")
                    tempos.append((t, msg.tempo))
                elif msg.type == "time_signature":
                    meters.append((t, msg.numerator, msg.denominator))
                elif msg.type == "key_signature":
                    keys.append((t, msg.key))
                elif msg.type == "marker":
                    markers.append((t, clean_text(_decode(msg.text, charset).strip())))
                elif msg.type == "track_name" and ti not in names:
                    names[ti] = clean_text(_decode(msg.name, charset).strip())
                elif msg.type == "lyrics":
                    lyrics[ti].append(Lyric(t, clean_text(_decode(msg.text, charset))))
                elif msg.type in _DROPPED_META:
                    dropped[_DROPPED_META[msg.type]] += 1
                continue
            ch = getattr(msg, "channel", None)
            if ch is None:
                if msg.type == "sysex":
                    dropped["system exclusive messages"] += 1
                continue
            track_channels[ti].add(ch)
            if msg.type == "note_on" and msg.velocity > 0:
                if (ch, msg.note) in active:  # retriggered: the earlier note ends here
                    close(ch, msg.note, t)
                active[(ch, msg.note)] = (t, msg.velocity)
                groups.setdefault((ti, ch), _Group(ti, ch))
            elif msg.type in ("note_off", "note_on"):
                if (ch, msg.note) in active:
                    close(ch, msg.note, t)  # unmatched note-offs are ignored
            elif msg.type == "program_change":
                g = groups.setdefault((ti, ch), _Group(ti, ch))
                if g.program is None:  # the first is the track's program, later ones a lane
                    g.program = msg.program
                else:
                    g.controls.append(Control(t, PROGRAM, msg.program))
                global_prog.setdefault(ch, msg.program)
            elif msg.type == "control_change" and msg.control <= LAST_CONTROLLER:
                g = groups.setdefault((ti, ch), _Group(ti, ch))
                attr = {7: "cc7", 10: "cc10"}.get(msg.control)
                if attr is not None and getattr(g, attr) is None:  # the first is the track's gain / pan
                    setattr(g, attr, msg.value)
                    global_cc.setdefault((ch, msg.control), msg.value)
                else:
                    g.controls.append(Control(t, msg.control, msg.value))
            elif msg.type == "pitchwheel":
                groups.setdefault((ti, ch), _Group(ti, ch)).controls.append(Control(t, PITCH_BEND, msg.pitch))
            elif msg.type in _DROPPED_CHANNEL:
                dropped[_DROPPED_CHANNEL[msg.type]] += 1
            elif msg.type == "control_change":
                dropped["channel mode messages (CC120-127)"] += 1
        end = scale(tick)
        if active:
            notes_log.append(f"{len(active)} note(s) in track {ti + 1} had no note-off; they end at the end of the track")
        for ch, pitch in sorted(active):
            close(ch, pitch, end)
        track_ends.append(end)

    _check_count("meter changes", len(meters), limits.MAX_METER_CHANGES)
    song = Song(title=clean_text(title or names.get(0) or default_title))
    song.tempo_map = _tempo_map(tempos)
    song.meter_map = _meter_map(meters, notes_log)
    song.key, song.key_changes = _keys(keys, notes_log)

    conductor_only = mid.type == 1 and not track_channels.get(0)
    made: dict[int, list[Track]] = defaultdict(list)  # MIDI track -> the song tracks made from it
    for (ti, ch), g in sorted(groups.items()):
        single = len(track_channels[ti]) == 1
        if not g.notes and not (single and ti in names and mid.type == 1):
            if g.controls:  # a channel that only received settings (e.g. a GM reset) is not an instrument
                dropped["controller events of channels without notes"] += len(g.controls)
            continue
        name = names.get(ti) if mid.type == 1 else None
        if name and not single:
            name = f"{name} ch{ch + 1}"
        program = g.program if g.program is not None else global_prog.get(ch, 0)
        cc7 = g.cc7 if g.cc7 is not None else global_cc.get((ch, 7))
        cc10 = g.cc10 if g.cc10 is not None else global_cc.get((ch, 10))
        is_drum = ch == DRUM_CHANNEL
        n_controls += len(g.controls)
        _check_count("controller events", n_controls, limits.MAX_CONTROLS)
        song.tracks.append(Track(
            name=name or ("Drums" if is_drum else f"Channel {ch + 1}"), role="drums" if is_drum else "counter",
            program=program, is_drum=is_drum, notes=resolve_overlaps(g.notes),
            gain_db=0.0 if cc7 is None else cc7_to_gain_db(cc7), pan=0.0 if cc10 is None else cc10_to_pan(cc10),
            controls=tuple(g.controls)))  # in file order (ticks only grow within a MIDI track)
        made[ti].append(song.tracks[-1])
    _check_count("tracks", len(song.tracks), limits.MAX_TRACKS)
    for t in song.tracks:
        _check_count("notes in one track", len(t.notes), limits.MAX_NOTES_PER_TRACK)
        _check_count("controller events in one track", len(t.controls), limits.MAX_CONTROLS_PER_TRACK)
    _check_count("notes", sum(len(t.notes) for t in song.tracks), limits.MAX_NOTES)
    guess_roles(song.tracks)
    resolve_channel_overlaps(song.tracks)  # tracks sharing a channel: the song holds what the file plays
    _place_lyrics(song, lyrics, made, dropped)
    _check_count("lyric events", sum(len(t.lyrics) for t in song.tracks), limits.MAX_LYRICS)
    for what, n in sorted(dropped.items()):
        notes_log.append(f"{n:,} {what} were not kept (the song has no place for them)")

    # The song ends where a conductor track ends on a bar line after the last marker (our export writes
    # the song end there); otherwise at the end of the longest track.
    end_tick = max(track_ends)
    if conductor_only and track_ends[0] > max((t for t, _ in markers), default=-1):
        bar, off = song.meter_map.tick_to_bar(track_ends[0])
        if off == 0:
            end_tick = track_ends[0]
    # every note ends by the end of its track
    last_meta = max([t for t, _ in markers] + [t for t, _ in keys] + [0])
    problem = limits.length_problem(song.tempo_map, song.meter_map, max(track_ends + [last_meta]))
    if problem:
        raise MidiError(f"The MIDI file is too long for a song: {problem}")
    song.sections = _sections(song.meter_map, markers, end_tick, notes_log)
    _check_count("sections (markers)", len(song.sections), limits.MAX_SECTIONS)
    problem = limits.length_problem(song.tempo_map, song.meter_map, end_bar=max([s.end_bar for s in song.sections] + [0]))
    if problem:
        raise MidiError(f"The MIDI file is too long for a song: {problem}")
    song.generation["midi_import"] = {"ticks_per_beat": tpb, "type": mid.type, "notes": notes_log}
    return song


_DROPPED_CHANNEL = {"aftertouch": "channel pressure (aftertouch) events",
                    "polytouch": "polyphonic aftertouch events"}
_DROPPED_META = {"text": "text events", "copyright": "copyright notices", "cue_marker": "cue points",
                 "instrument_name": "instrument names", "sequencer_specific": "sequencer-specific events"}


def _keys(keys: list[tuple[int, str]], log: list[str]) -> tuple[Key, tuple[KeyChange, ...]]:
    """The song's key (the first key signature; C major without one) and its later key changes (a later key
    signature on the same tick replaces an earlier one; one that repeats the key sounding is dropped)."""
    by_tick: dict[int, Key] = {}
    for tick, name in sorted(keys, key=lambda k: k[0]):
        try:
            key = Key.parse(name)
        except ValueError:
            log.append(f"key signature {name!r} at tick {tick} is not understood and was skipped")
            continue
        by_tick.pop(tick, None)
        by_tick[tick] = key
    items = sorted(by_tick.items())
    if not items:
        return Key(), ()
    first, changes = items[0][1], []
    for tick, key in items[1:]:
        now = changes[-1].key if changes else first
        if (key, key.spelling) != (now, now.spelling):
            changes.append(KeyChange(tick, key))
    _check_count("key changes", len(changes), limits.MAX_KEY_CHANGES)
    return first, tuple(changes)


def _place_lyrics(song: Song, lyrics: dict[int, list[Lyric]], made: dict[int, list[Track]],
                  dropped: dict[str, int]) -> None:
    """Give each MIDI track's lyrics to the song track made from it (its melody one when it made several; the
    song's melody track, else its first track, when it made none)."""
    for ti, items in sorted(lyrics.items()):
        candidates = made.get(ti) or song.tracks
        if not candidates:
            dropped["lyric events (the file has no notes)"] += len(items)
            continue
        target = next((t for t in candidates if t.role == "melody"), candidates[0])
        target.lyrics = tuple(sorted(target.lyrics + tuple(items), key=lambda ly: ly.start_tick))


def _check_count(what: str, n: int, limit: int) -> None:
    problem = limits.count_problem(what, n, limit, "a song")
    if problem:
        raise MidiError(f"The MIDI file holds {problem}")


def _tempo_map(tempos: list[tuple[int, int]]) -> TempoMap:
    changes: list[TempoChange] = []
    for tick, tempo in sorted(tempos, key=lambda x: x[0]):
        bpm = min(1000.0, max(1.0, _tempo_to_bpm(tempo)))
        if changes and changes[-1].tick == tick:
            changes[-1] = TempoChange(tick, bpm)
        elif not changes or changes[-1].bpm != bpm:
            changes.append(TempoChange(tick, bpm))
    if len(changes) > limits.MAX_TEMPO_CHANGES + 1:  # refused before the work of a map
        _check_count("tempo changes", len(changes), limits.MAX_TEMPO_CHANGES)
    if changes and changes[-1].tick > limits.MAX_TICK:
        raise MidiError(f"The MIDI file is too long for a song: it changes tempo at tick {changes[-1].tick:,}")
    tempo_map = TempoMap(changes) if changes else TempoMap()
    _check_count("tempo changes", len(tempo_map.changes), limits.MAX_TEMPO_CHANGES)  # with the one at tick 0
    return tempo_map


def _meter_map(meters: list[tuple[int, int, int]], log: list[str]) -> MeterMap:
    """Meter changes at ticks -> MeterMap by bars; a change inside a bar moves to the next bar line (a later change
    at the same bar replaces it). O(n log n) in the number of changes (it was quadratic)."""
    changes = [MeterChange(0, 4, 4)]
    start_tick = [0]  # first tick of each change's bar
    for tick, num, den in sorted(meters, key=lambda x: x[0]):
        if not (1 <= num <= 32) or den not in (1, 2, 4, 8, 16, 32):
            log.append(f"time signature {num}/{den} is not supported and was skipped")
            continue
        i = bisect.bisect_right(start_tick, tick) - 1
        bar, off = divmod(tick - start_tick[i], changes[i].ticks_per_bar)
        bar += changes[i].bar
        if off:
            log.append(f"time signature {num}/{den} at tick {tick} falls inside bar {bar + 1}; it starts at bar {bar + 2} instead")
            bar += 1
        if bar > limits.MAX_BARS:
            raise MidiError(f"The MIDI file is too long for a song: it changes meter at bar {bar + 1:,}; a song holds "
                            f"at most {limits.MAX_BARS:,} bars")
        while changes and changes[-1].bar >= bar:  # a later change at the same bar replaces it
            changes.pop()
            start_tick.pop()
        prev = changes[-1] if changes else None
        start_tick.append(0 if prev is None else start_tick[-1] + (bar - prev.bar) * prev.ticks_per_bar)
        changes.append(MeterChange(bar, num, den))
    merged = [changes[0]]
    for c in changes[1:]:
        if (c.numerator, c.denominator) != (merged[-1].numerator, merged[-1].denominator):
            merged.append(c)
    return MeterMap(merged)


def _sections(meter_map: MeterMap, markers: list[tuple[int, str]], end_tick: int, log: list[str]) -> list[Section]:
    """Sections from markers: start at the nearest bar line, end at the next marker or the song end."""

    def nearest_bar(tick: int) -> int:
        bar, off = meter_map.tick_to_bar(tick)
        return bar + (1 if 2 * off >= meter_map.meter_at_bar(bar).ticks_per_bar else 0)

    starts: dict[int, str] = {}
    for tick, label in sorted(markers, key=lambda m: m[0]):
        bar = nearest_bar(tick)
        if meter_map.bar_to_tick(bar) != tick:
            log.append(f"marker {label!r} at tick {tick} is not on a bar line; the section starts at bar {bar + 1}")
        starts[bar] = label or f"section {len(starts) + 1}"
    end_bar = nearest_bar(end_tick)
    bars = sorted(starts)
    out = []
    for i, b in enumerate(bars):
        stop = bars[i + 1] if i + 1 < len(bars) else max(end_bar, b + 1)
        out.append(Section(starts[b], b, stop - b))
    return out


# --- roles -----------------------------------------------------------------------------------------
def _is_polyphonic(notes: list[Note]) -> bool:
    """True when at least a quarter of the notes start while another note of the track still sounds."""
    if len(notes) < 2:
        return False
    ns = sorted(notes)
    overlapping, latest_end = 0, -1
    for n in ns:
        if n.start_tick < latest_end:
            overlapping += 1
        latest_end = max(latest_end, n.end_tick)
    return overlapping * 4 >= len(ns)


def guess_roles(tracks: list[Track]) -> None:
    """Set ``role`` on imported tracks: drums (channel 10); bass (GM 32-39); pad (GM 88-95, or string
    ensembles 48-51 holding notes of a half note or more on median); then the highest-pitched
    monophonic remaining track is the melody (the highest polyphonic one when none is monophonic),
    polyphonic tracks are chords, the rest counter-melodies."""
    rest = []
    for t in tracks:
        durations = sorted(n.duration_ticks for n in t.notes)
        sustained = bool(durations) and durations[len(durations) // 2] >= 2 * PPQ
        if t.is_drum:
            t.role = "drums"
        elif 32 <= t.program <= 39:
            t.role = "bass"
        elif 88 <= t.program <= 95 or (48 <= t.program <= 51 and sustained):
            t.role = "pad"
        elif t.notes:
            rest.append(t)
        else:
            t.role = "counter"
    poly = {id(t): _is_polyphonic(t.notes) for t in rest}
    mono = [t for t in rest if not poly[id(t)]]

    def mean_pitch(t: Track) -> float:
        return sum(n.pitch for n in t.notes) / len(t.notes)

    melody = max(mono or rest, key=mean_pitch, default=None)
    for t in rest:
        t.role = "melody" if t is melody else ("chords" if poly[id(t)] else "counter")
