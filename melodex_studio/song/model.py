"""The song document: Song, Section, Track, Note, Chord, Key, Take.

Pure Python (no Qt, no torch). The Song is the single source of truth; views subscribe to its
change notifications with ``song.subscribe(callback)``; every mutating method calls
``callback(event, payload)`` with an event name from ``EVENTS``.

Units: note and chord positions are absolute ticks (``timing.PPQ`` per quarter note); sections are
in bars (0-based start bar, length in bars); gains in dB; pan in [-1, 1].
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from .timing import PPQ, MeterMap, TempoMap

PITCH_NAMES_SHARP = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
PITCH_NAMES_FLAT = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
# Conventional spelling of each major / minor tonic (fewest accidentals in the key signature).
_MAJOR_NAMES = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_MINOR_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)

ROLES = ("melody", "counter", "chords", "pad", "bass", "drums", "percussion", "fx")
EVENTS = (
    "reset", "meta", "tempo", "meter", "key", "sections", "tracks", "track", "notes", "chords", "takes",
)
# Controller lanes (``Control.kind``): 0..119 are MIDI control change numbers; these name the other lanes.
PITCH_BEND = 128  # value -8192..8191 (0 = centre)
PROGRAM = 129  # a program change inside the track: value = GM program 0..127
CONTROL_KINDS = frozenset(range(120)) | {PITCH_BEND, PROGRAM}  # CC120-127 are channel mode messages, not lanes
SUSTAIN = 64  # CC64, the sustain pedal: down when value >= 64
VOLUME, EXPRESSION, MODULATION, PAN = 7, 11, 1, 10

Listener = Callable[[str, Any], None]


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class (0 = C) and mode ('major' or 'minor'); ``spelling`` keeps the user's name."""

    tonic: int = 0
    mode: str = "major"
    spelling: str | None = None  # e.g. "F#" vs "Gb"; None -> conventional

    def __post_init__(self) -> None:
        if not (0 <= int(self.tonic) <= 11) or self.mode not in ("major", "minor"):
            raise ValueError(f"not a key: tonic {self.tonic}, mode {self.mode}")

    @property
    def tonic_name(self) -> str:
        if self.spelling:
            return self.spelling
        return (_MAJOR_NAMES if self.mode == "major" else _MINOR_NAMES)[self.tonic]

    @property
    def name(self) -> str:
        """'F major', 'C# minor'."""
        return f"{self.tonic_name} {self.mode}"

    @property
    def midi_name(self) -> str:
        """mido key_signature text: 'F', 'C#m', 'Bb'."""
        return self.tonic_name + ("m" if self.mode == "minor" else "")

    def scale_pitch_classes(self) -> tuple[int, ...]:
        steps = MAJOR_SCALE if self.mode == "major" else NATURAL_MINOR_SCALE
        return tuple((self.tonic + s) % 12 for s in steps)

    @classmethod
    def parse(cls, text: str) -> "Key":
        """Parse 'F major', 'C# minor', 'Bbm', 'Eb' (no mode -> major)."""
        t = text.strip()
        mode = "major"
        low = t.lower()
        for suffix, m in ((" major", "major"), (" minor", "minor"), ("maj", "major"), ("min", "minor"), ("m", "minor")):
            if low.endswith(suffix):
                mode, t = m, t[: -len(suffix)].strip()
                break
        if not t or t[0].upper() not in "ABCDEFG":
            raise ValueError(f"not a key name: {text!r}")
        pc = PITCH_NAMES_SHARP.index(t[0].upper())
        for ch in t[1:]:
            if ch in "#♯":
                pc += 1
            elif ch in "b♭":
                pc -= 1
            else:
                raise ValueError(f"not a key name: {text!r}")
        spelling = t[0].upper() + t[1:].replace("♯", "#").replace("♭", "b")
        return cls(pc % 12, mode, spelling)

    def __eq__(self, other: object) -> bool:  # spelling is cosmetic
        return isinstance(other, Key) and (self.tonic, self.mode) == (other.tonic, other.mode)

    def __hash__(self) -> int:
        return hash((self.tonic, self.mode))


@dataclass(frozen=True, order=True)
class Note:
    """One note. ``start_tick``/``duration_ticks`` in ticks; ``pitch`` and ``velocity`` 0..127."""

    start_tick: int
    pitch: int
    duration_ticks: int
    velocity: int = 90

    def __post_init__(self) -> None:
        if not (0 <= self.pitch <= 127 and 1 <= self.velocity <= 127 and self.duration_ticks >= 1 and self.start_tick >= 0):
            raise ValueError(f"invalid note {self}")

    @property
    def end_tick(self) -> int:
        return self.start_tick + self.duration_ticks


@dataclass(frozen=True)
class Chord:
    """A chord symbol on the chord track: root pitch class, quality ('maj', 'min', '7', 'maj7', 'min7', 'dim', 'sus4', ...)."""

    start_tick: int
    duration_ticks: int
    root: int
    quality: str = "maj"
    bass: int | None = None  # slash-chord bass pitch class


@dataclass(frozen=True, order=True)
class Control:
    """One event of a track's controller lane at ``start_tick``: ``kind`` is a MIDI control change
    0..119 (value 0..127: 64 sustain pedal, 11 expression, 1 modulation, 7 volume), ``PITCH_BEND`` (value -8192..8191)
    or ``PROGRAM`` (a program change inside the track, value 0..127)."""

    start_tick: int
    kind: int
    value: int

    def __post_init__(self) -> None:
        lo, hi = (-8192, 8191) if self.kind == PITCH_BEND else (0, 127)
        if self.start_tick < 0 or self.kind not in CONTROL_KINDS or not lo <= self.value <= hi:
            raise ValueError(f"invalid controller event {self}")


@dataclass(frozen=True, order=True)
class Lyric:
    """One lyric syllable or word sung at ``start_tick`` (a MIDI ``lyrics`` event)."""

    start_tick: int
    text: str


@dataclass(frozen=True)
class KeyChange:
    """The key from ``start_tick`` on (the song's ``key`` holds until the first change)."""

    start_tick: int
    key: Key


def _tick(event: "Control | Lyric | KeyChange") -> int:
    return event.start_tick


def resolve_overlaps(notes: Iterable[Note]) -> list[Note]:
    """Sorted notes with no two notes of one pitch sounding at once: a note ends where the next note of its pitch
    starts; of notes of one pitch starting on the same tick only the longest is kept (the first on a tie, in
    input order). This is what a MIDI channel can play, so the document, the render and the export agree."""
    by_pitch: dict[int, list[Note]] = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    out: list[Note] = []
    for seq in by_pitch.values():
        seq.sort(key=lambda n: n.start_tick)  # stable: input order breaks ties
        kept: list[Note] = []
        for n in seq:
            if kept and kept[-1].start_tick == n.start_tick:
                if n.duration_ticks > kept[-1].duration_ticks:
                    kept[-1] = n
                continue
            if kept and kept[-1].end_tick > n.start_tick:
                p = kept[-1]
                kept[-1] = Note(p.start_tick, p.pitch, n.start_tick - p.start_tick, p.velocity)
            kept.append(n)
        out.extend(kept)
    out.sort()
    return out


def has_overlaps(notes: Iterable[Note]) -> bool:
    """True when two notes of one pitch sound at once (``resolve_overlaps`` would change them)."""
    end: dict[int, int] = {}
    for n in sorted(notes):
        if end.get(n.pitch, -1) > n.start_tick:
            return True
        end[n.pitch] = n.end_tick
    return False


DRUM_CHANNEL = 9
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)


def midi_channels(tracks: "Iterable[Track]") -> list[int]:
    """MIDI channel index for each track: drums 9; others 0..8, 10..15 in order, reused after 15."""
    out, n = [], 0
    for t in tracks:
        if t.is_drum:
            out.append(DRUM_CHANNEL)
        else:
            out.append(MELODIC_CHANNELS[n % len(MELODIC_CHANNELS)])
            n += 1
    return out


def trim_channel_overlaps(tagged: "Iterable[tuple[Note, int]]") -> list[tuple[Note, int]]:
    """(note, owner) pairs of one MIDI channel -> the same with no two notes of one pitch sounding at once.

    An earlier note ends where the next note of the same pitch starts; of two notes starting on the same
    tick only the longer one is kept (the first in (note, owner) order on a tie). The MIDI export writes this.
    """
    by_pitch: dict[int, list[tuple[Note, int]]] = {}
    for n, owner in sorted(tagged, key=lambda x: (x[0], x[1])):
        by_pitch.setdefault(n.pitch, []).append((n, owner))
    out: list[tuple[Note, int]] = []
    for seq in by_pitch.values():
        kept: list[tuple[Note, int]] = []
        for n, owner in seq:
            if kept and kept[-1][0].start_tick == n.start_tick:
                if n.duration_ticks > kept[-1][0].duration_ticks:
                    kept[-1] = (n, owner)
                continue
            if kept and kept[-1][0].end_tick > n.start_tick:
                p, o = kept[-1]
                kept[-1] = (Note(p.start_tick, p.pitch, n.start_tick - p.start_tick, p.velocity), o)
            kept.append((n, owner))
        out.extend(kept)
    return sorted(out, key=lambda x: (x[0], x[1]))


def resolve_channel_overlaps(tracks: "list[Track]") -> int:
    """Make the tracks that share a MIDI channel (a drum kit and hand percussion on channel 10, more than 15
    melodic tracks) hold what that channel plays: the notes the MIDI export would trim are trimmed here, so the
    exported MIDI is the document. Tracks alone on their channel are left as they are (``resolve_overlaps``
    already holds for them). Returns how many notes changed or went."""
    channels = midi_channels(tracks)
    changed = 0
    for ch in sorted(set(channels)):
        idx = [i for i, c in enumerate(channels) if c == ch]
        if len(idx) < 2:
            continue
        tagged = [(n, i) for i in idx for n in tracks[i].notes]
        kept: dict[int, list[Note]] = {i: [] for i in idx}
        for n, i in trim_channel_overlaps(tagged):
            kept[i].append(n)
        for i in idx:
            before = sorted(tracks[i].notes)
            if kept[i] != before:
                changed += len(set(before) ^ set(kept[i]))
                tracks[i].notes = kept[i]
    return changed


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Track:
    """One instrument track. ``program`` is the GM program 0..127 (ignored for drums, where it names the kit).

    ``controls`` (controller lanes: sustain, pitch bend, expression, ... and program changes inside the track) and
    ``lyrics`` are tuples of frozen events sorted by tick (events of one tick keep their order: a pedal lifted and
    pressed again on one tick): replace the whole tuple to edit them (undo snapshots share it).
    """

    name: str
    role: str = "melody"
    program: int = 0
    is_drum: bool = False
    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    notes: list[Note] = field(default_factory=list)
    id: str = field(default_factory=_new_id)
    controls: tuple[Control, ...] = ()
    lyrics: tuple[Lyric, ...] = ()

    def __post_init__(self) -> None:
        if type(self.controls) is not tuple:  # a tuple is taken as it is (sorted by tick): snapshots share it
            self.controls = tuple(sorted(self.controls, key=_tick))
        if type(self.lyrics) is not tuple:
            self.lyrics = tuple(sorted(self.lyrics, key=_tick))
        if self.role not in ROLES:
            raise ValueError(f"unknown track role {self.role!r}; expected one of {ROLES}")
        if not (0 <= self.program <= 127):
            raise ValueError(f"GM program {self.program} out of range 0..127")
        if not (-1.0 <= self.pan <= 1.0):
            raise ValueError(f"pan {self.pan} out of range -1..1")
        if not (-144.0 <= self.gain_db <= 48.0):  # also rejects NaN
            raise ValueError(f"gain {self.gain_db} dB out of range -144..+48 dB")

    def sorted_notes(self) -> list[Note]:
        return sorted(self.notes)

    def notes_in(self, start_tick: int, end_tick: int) -> list[Note]:
        """Notes whose start lies in [start_tick, end_tick)."""
        return [n for n in self.notes if start_tick <= n.start_tick < end_tick]


@dataclass
class Section:
    """A span of bars with a label ('intro', 'verse', 'A'...). ``overrides`` holds per-section plan fields."""

    label: str
    start_bar: int
    length_bars: int
    overrides: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        if self.start_bar < 0 or self.length_bars < 1:
            raise ValueError(f"section {self.label!r}: start bar {self.start_bar}, length {self.length_bars} bars is invalid")

    @property
    def end_bar(self) -> int:
        return self.start_bar + self.length_bars


@dataclass
class Take:
    """One generated version of a section (all tracks when ``track_id`` is None) with its generation metadata.

    ``notes`` maps track id -> notes of that track inside the section. ``tensors`` names entries of the
    project's ``state.safetensors`` that belong to this take (token sequences, noise, latents).
    """

    section_id: str
    track_id: str | None
    notes: dict[str, list[Note]]
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tensors: list[str] = field(default_factory=list)
    created: str = ""
    id: str = field(default_factory=_new_id)


class Song:
    """The arrangement document. See module docstring for units and notifications."""

    def __init__(
        self,
        title: str = "Untitled",
        tempo_map: TempoMap | None = None,
        meter_map: MeterMap | None = None,
        key: Key | None = None,
        sample_rate: int = 44100,
    ):
        self.title = title
        self.tempo_map = tempo_map or TempoMap()
        self.meter_map = meter_map or MeterMap()
        self.key = key or Key()
        self.key_changes: tuple[KeyChange, ...] = ()  # later keys, by tick (immutable: replace to edit)
        self.sample_rate = int(sample_rate)
        self.sections: list[Section] = []
        self.tracks: list[Track] = []
        self.chords: list[Chord] = []
        self.takes: list[Take] = []
        self.active_takes: dict[str, str] = {}  # "section_id/track_id or *" -> take id
        self.plan: dict[str, Any] = {}  # the StylePlan as a plain dict (see prompt.plan)
        self.generation: dict[str, Any] = {}  # prompts, seeds, model hashes, timings
        self._listeners: list[Listener] = []

    # --- snapshots (undo) ------------------------------------------------------------------------
    def frame(self) -> "Song":
        """A new song with this one's title, tempo and meter maps, key, sample rate and sections, and no tracks: what
        a render of some of its tracks (a preview, a level reference) is made from, with those tracks added."""
        out = Song(self.title, self.tempo_map, self.meter_map, self.key, self.sample_rate)
        out.sections = list(self.sections)
        return out

    def copy(self) -> "Song":
        """A structural copy: new lists, sections, tracks and take containers, sharing the immutable parts
        (notes, chords, tempo and meter maps). Editing either song never changes the other; listeners are
        not copied. Costs O(notes) pointer copies (an undo snapshot of a 3-minute song takes well under 1 ms)."""
        out = Song.__new__(Song)
        out.__dict__.update(self.__dict__)
        out.sections = [replace(s, overrides=copy.deepcopy(s.overrides)) for s in self.sections]
        out.tracks = [replace(t, notes=list(t.notes)) for t in self.tracks]
        out.chords = list(self.chords)
        out.takes = [replace(t, notes={k: list(v) for k, v in t.notes.items()}, params=copy.deepcopy(t.params),
                             tensors=list(t.tensors)) for t in self.takes]
        out.active_takes = dict(self.active_takes)
        out.plan = copy.deepcopy(self.plan)
        out.generation = copy.deepcopy(self.generation)
        out._listeners = []
        return out

    def assign(self, other: "Song") -> None:
        """Make this song a copy of ``other`` (keeping this song's listeners) and notify ``reset`` once."""
        listeners = self._listeners
        self.__dict__.update(other.copy().__dict__)
        self._listeners = listeners
        self.notify("reset", self)

    # --- notifications -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener(event, payload)``; returns a function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def notify(self, event: str, payload: Any = None) -> None:
        for cb in list(self._listeners):
            cb(event, payload)

    # --- time ------------------------------------------------------------------------------------
    @property
    def ppq(self) -> int:
        return PPQ

    def bar_to_tick(self, bar: int) -> int:
        return self.meter_map.bar_to_tick(bar)

    def tick_to_seconds(self, tick: int) -> float:
        return self.tempo_map.tick_to_seconds(tick)

    def tick_to_sample(self, tick: int, sample_rate: int | None = None) -> int:
        return self.tempo_map.tick_to_sample(tick, sample_rate or self.sample_rate)

    @property
    def length_bars(self) -> int:
        ends = [s.end_bar for s in self.sections]
        if ends:
            return max(ends)
        last = self.last_note_end_tick()
        bar, off = self.meter_map.tick_to_bar(last)
        return bar + (1 if off else 0)

    @property
    def end_tick(self) -> int:
        """End of the last section (or of the last note when there are no sections)."""
        return max(self.bar_to_tick(self.length_bars), 0 if self.sections else self.last_note_end_tick())

    def last_note_end_tick(self) -> int:
        return max((n.end_tick for t in self.tracks for n in t.notes), default=0)

    @property
    def duration_seconds(self) -> float:
        return self.tick_to_seconds(self.end_tick)

    def section_ticks(self, section: Section) -> tuple[int, int]:
        """(start_tick, end_tick) of a section."""
        return self.bar_to_tick(section.start_bar), self.bar_to_tick(section.end_bar)

    # --- edits -----------------------------------------------------------------------------------
    def set_tempo_map(self, tempo_map: TempoMap) -> None:
        self.tempo_map = tempo_map
        self.notify("tempo", tempo_map)

    def set_meter_map(self, meter_map: MeterMap) -> None:
        self.meter_map = meter_map
        self.notify("meter", meter_map)

    def set_key(self, key: Key) -> None:
        self.key = key
        self.notify("key", key)

    def set_key_changes(self, changes: Iterable[KeyChange]) -> None:
        """Replace the key changes after the start (``key`` holds until the first one)."""
        self.key_changes = tuple(sorted(changes, key=_tick))
        self.notify("key", self.key)

    def key_at(self, tick: int) -> Key:
        """The key sounding at ``tick``."""
        key = self.key
        for c in self.key_changes:
            if c.start_tick > tick:
                break
            key = c.key
        return key

    def add_section(self, section: Section, index: int | None = None) -> Section:
        self.sections.insert(len(self.sections) if index is None else index, section)
        self.notify("sections", self.sections)
        return section

    def remove_section(self, section_id: str) -> Section:
        s = self.section(section_id)
        self.sections.remove(s)
        self._drop_takes(lambda t: t.section_id == s.id)
        self.notify("sections", self.sections)
        return s

    def add_track(self, track: Track, index: int | None = None) -> Track:
        self.tracks.insert(len(self.tracks) if index is None else index, track)
        self.notify("tracks", self.tracks)
        return track

    def remove_track(self, track_id: str) -> Track:
        t = self.track(track_id)
        self.tracks.remove(t)
        self._drop_takes(lambda tk: tk.track_id == t.id)
        for tk in self.takes:  # whole-section takes keep their other tracks
            tk.notes.pop(t.id, None)
        self.notify("tracks", self.tracks)
        return t

    def _drop_takes(self, predicate: Callable[[Take], bool]) -> None:
        """Remove takes (and active-take entries) that refer to a deleted section or track."""
        dropped = {tk.id for tk in self.takes if predicate(tk)}
        self.takes = [tk for tk in self.takes if tk.id not in dropped]
        self.active_takes = {k: v for k, v in self.active_takes.items() if v not in dropped}

    def update_track(self, track_id: str, **changes: Any) -> Track:
        """Change track properties (name, program, gain_db, pan, mute, solo, ...) and notify."""
        t = self.track(track_id)
        new = replace(t, **changes)  # validates
        for k in changes:
            setattr(t, k, getattr(new, k))
        self.notify("track", t)
        return t

    def add_notes(self, track_id: str, notes: Iterable[Note]) -> None:
        """Add notes to a track. An added note replaces a note of its pitch starting on the same tick, and a note
        still sounding when a note of its pitch starts ends there (``resolve_overlaps``)."""
        t = self.track(track_id)
        added = list(notes)
        starts = {(n.start_tick, n.pitch) for n in added}
        t.notes = resolve_overlaps([n for n in t.notes if (n.start_tick, n.pitch) not in starts] + added)
        self.notify("notes", t)

    def remove_notes(self, track_id: str, notes: Iterable[Note]) -> None:
        t = self.track(track_id)
        for n in notes:
            t.notes.remove(n)
        self.notify("notes", t)

    def replace_notes(self, track_id: str, start_tick: int, end_tick: int, notes: Iterable[Note]) -> list[Note]:
        """Replace the notes starting in [start_tick, end_tick) with ``notes``; returns the removed ones. A note
        still sounding when a note of its pitch starts ends there (``resolve_overlaps``), across the range's
        edges too."""
        t = self.track(track_id)
        removed = t.notes_in(start_tick, end_tick)
        keep = [n for n in t.notes if not (start_tick <= n.start_tick < end_tick)]
        t.notes = resolve_overlaps(keep + list(notes))
        self.notify("notes", t)
        return removed

    def set_controls(self, track_id: str, controls: Iterable[Control]) -> Track:
        """Replace a track's controller lanes (sorted by tick)."""
        return self.update_track(track_id, controls=tuple(sorted(controls, key=_tick)))

    def set_lyrics(self, track_id: str, lyrics: Iterable[Lyric]) -> Track:
        """Replace a track's lyrics (sorted by tick)."""
        return self.update_track(track_id, lyrics=tuple(sorted(lyrics, key=_tick)))

    def set_chords(self, chords: list[Chord]) -> None:
        self.chords = sorted(chords, key=lambda c: c.start_tick)
        self.notify("chords", self.chords)

    def add_take(self, take: Take, activate: bool = True) -> Take:
        """Store a take; when ``activate``, its notes replace the section's notes on its tracks."""
        self.section(take.section_id)
        self.takes.append(take)
        if activate:
            self.activate_take(take.id)
        self.notify("takes", take)
        return take

    def activate_take(self, take_id: str) -> None:
        take = self.take(take_id)
        section = self.section(take.section_id)
        start, end = self.section_ticks(section)
        for track_id, notes in take.notes.items():
            self.replace_notes(track_id, start, end, notes)
        self.active_takes[f"{take.section_id}/{take.track_id or '*'}"] = take.id
        self.notify("takes", take)

    def delete_take(self, take_id: str) -> Take:
        take = self.take(take_id)
        self.takes.remove(take)
        for k, v in list(self.active_takes.items()):
            if v == take_id:
                del self.active_takes[k]
        self.notify("takes", take)
        return take

    # --- lookup ----------------------------------------------------------------------------------
    def track(self, track_id: str) -> Track:
        for t in self.tracks:
            if t.id == track_id or t.name == track_id:
                return t
        raise KeyError(f"no track {track_id!r}")

    def section(self, ref: str | int) -> Section:
        """Section by id, by label ('chorus' = first chorus, 'chorus 2' = second) or by 0-based index."""
        for s in self.sections:
            if s.id == ref:
                return s
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            i = int(ref)
            if 0 <= i < len(self.sections):
                return self.sections[i]
            raise KeyError(f"no section number {i}; the song has {len(self.sections)}")
        label, _, nth = ref.strip().rpartition(" ")
        if not (label and nth.isdigit()):
            label, nth = ref.strip(), "1"
        matches = [s for s in self.sections if s.label.lower() == label.lower()]
        if 1 <= int(nth) <= len(matches):
            return matches[int(nth) - 1]
        raise KeyError(f"no section {ref!r}; sections are {[s.label for s in self.sections]}")

    def take(self, take_id: str) -> Take:
        for t in self.takes:
            if t.id == take_id:
                return t
        raise KeyError(f"no take {take_id!r}")

    def audible_tracks(self) -> list[Track]:
        """Tracks that sound, honouring mute and solo."""
        soloed = [t for t in self.tracks if t.solo]
        return soloed if soloed else [t for t in self.tracks if not t.mute]
