"""Arrangement tokenizer: Song + StylePlan ⇄ a flat list of integer tokens (multi-track, bar-interleaved).

Why our own tokenizer and not ``miditok`` (3.1.0, evaluated from its wheel): miditok's REMI/MMM work on
``symusic`` scores and need ``symusic``, ``tokenizers`` and ``huggingface_hub`` at run time; they have no
tokens for our plan conditioning (genre, mood, energy, instrument set), for section labels with bar counts
or for a chord-symbol track (REMI's chords are detected from notes), and MMM writes whole tracks one after
the other, so "regenerate one track while the others are fixed" cannot walk a bar with all tracks. A
pure-Python vocabulary of ~1,000 tokens keeps the sampler's grammar simple and fast.

Layout (every part after the header is written bar by bar, all tracks of a bar together)::

    BOS GENRE MOOD TEMPO KEY MODE METER DRUMS (TRK_role_n PROG_p)* HDR_END
    per section:  SEC_label ENERGY_e BARS_n NEXT_label
      per bar:    BAR_i  CHORDS (POS CHORD)*  then per track: TRK_role_n  notes
                  pitched notes: POS_p (PITCH_x DV_d_v)+ ...   drums: POS_p (DRUM_c_v)+ ...
    EOS

Units and encodings: positions are 16th-note steps from the bar start (``STEP_TICKS`` = PPQ/4 ticks);
``PITCH_x`` is relative to the key's tonic (MIDI pitch = x + tonic), so one model serves every key;
``DV_d_v`` packs a duration (``DURATIONS`` steps) with a velocity bucket; drums are one token per hit
class and velocity bucket (a fixed one-step duration). Chords last until the next chord or section end.
``quantize_song`` maps any Song onto this grid; ``decode(encode(s)) == quantize_song(s)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..song.model import Chord, Key, Note, Section, Song, Track, resolve_overlaps
from ..song.timing import PPQ, MeterMap, TempoMap, ticks_per_bar

TOKENIZER_VERSION = "mdx-struct-1"
STEP_TICKS = PPQ // 4  # one 16th note
MAX_POSITIONS = 32  # steps per bar (8/4 at most)
MAX_SECTION_BARS = 64
MAX_SLOTS = 4  # tracks of the same role
MAX_NOTES_PER_POS = 6
SECTION_HEADER_LEN = 4  # SEC ENERGY BARS NEXT

GENRES = (  # prompt.vocabulary's genres (+ a few dataset styles); anything else -> GENRE_other
    "pop", "rock", "indie", "punk", "metal", "blues", "jazz", "swing", "bossa nova", "latin", "funk", "soul", "r&b",
    "gospel", "hip hop", "lofi", "trap", "house", "techno", "trance", "drum and bass", "dubstep", "edm", "electronic",
    "synthwave", "disco", "ambient", "chillout", "cinematic", "classical", "folk", "country", "bluegrass", "reggae",
    "ska", "reggaeton", "afrobeat", "chiptune", "world", "chorale", "celtic", "waltz", "other",
)
MOODS = (
    "none", "happy", "sad", "melancholic", "dark", "dreamy", "uplifting", "energetic", "chill", "calm", "epic",
    "romantic", "mysterious", "aggressive", "playful", "nostalgic", "tense", "hopeful", "triumphant", "gentle",
    "groovy", "ethereal", "haunting", "euphoric", "somber", "driving", "upbeat", "bittersweet", "other",
)
TEMPO_EDGES = (60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 180)  # BPM bucket edges
METERS = ((2, 4), (3, 4), (4, 4), (5, 4), (6, 4), (7, 4), (2, 2), (3, 8), (6, 8), (7, 8), (9, 8), (12, 8))
ROLES = ("melody", "counter", "chords", "pad", "bass", "drums", "percussion", "fx")
LABELS = (
    "intro", "verse", "prechorus", "chorus", "postchorus", "bridge", "solo", "break", "build", "drop", "climax",
    "interlude", "outro", "a", "b", "c", "d", "coda", "other",
)
ENERGY_BUCKETS = 5
DURATIONS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64)  # in steps
VELOCITIES = (24, 40, 56, 70, 82, 94, 106, 120)
DRUM_VELOCITIES = (50, 75, 100, 120)
QUALITIES = ("maj", "min", "7", "maj7", "min7", "dim", "aug", "sus2", "sus4", "dim7", "m7b5", "6", "min6", "9", "add9")
# Drum hit classes: canonical GM drum pitch and the pitches that map onto it.
DRUM_CLASSES = (
    (36, (35, 36)), (37, (37,)), (38, (38, 40)), (39, (39,)), (42, (42, 44)), (46, (46,)),
    (45, (41, 43, 45)), (48, (47, 48, 50)), (49, (49, 52, 55, 57)), (51, (51, 53, 59)), (70, (54, 69, 70, 82)),
    (56, ()),  # any other percussion
)


def _build_vocab() -> list[str]:
    v = ["PAD", "BOS", "EOS", "HDR_END", "CHORDS", "DRUMS_on", "DRUMS_off", "MODE_major", "MODE_minor", "NC"]
    v += [f"GENRE_{g}" for g in GENRES] + [f"MOOD_{m}" for m in MOODS]
    v += [f"TEMPO_{i}" for i in range(len(TEMPO_EDGES) + 1)] + [f"KEY_{i}" for i in range(12)]
    v += [f"METER_{n}_{d}" for n, d in METERS]
    v += [f"TRK_{r}_{i}" for r in ROLES for i in range(MAX_SLOTS)] + [f"PROG_{p}" for p in range(128)]
    v += [f"SEC_{lab}" for lab in LABELS] + [f"ENERGY_{i}" for i in range(ENERGY_BUCKETS)]
    v += [f"BARS_{n}" for n in range(1, MAX_SECTION_BARS + 1)] + [f"NEXT_{lab}" for lab in LABELS + ("end",)]
    v += [f"BAR_{i}" for i in range(MAX_SECTION_BARS)] + [f"POS_{p}" for p in range(MAX_POSITIONS)]
    v += [f"CHORD_{r}_{q}" for r in range(12) for q in QUALITIES] + [f"PITCH_{p}" for p in range(128)]
    v += [f"DV_{d}_{vi}" for d in DURATIONS for vi in range(len(VELOCITIES))]
    v += [f"DRUM_{c}_{vi}" for c in range(len(DRUM_CLASSES)) for vi in range(len(DRUM_VELOCITIES))]
    return v


VOCAB: list[str] = _build_vocab()
TOKEN_ID: dict[str, int] = {t: i for i, t in enumerate(VOCAB)}
VOCAB_SIZE = len(VOCAB)


def tid(name: str) -> int:
    return TOKEN_ID[name]


def _first(prefix: str) -> int:
    return next(i for i, t in enumerate(VOCAB) if t.startswith(prefix))


# First ids of the contiguous token families (token = base + index).
POS0, PITCH0, DV0, DRUM0, BAR0, TRK0 = _first("POS_"), _first("PITCH_"), _first("DV_"), _first("DRUM_"), _first("BAR_"), _first("TRK_")
CHORD0, PROG0, SEC0, NEXT0, BARS0, ENERGY0 = _first("CHORD_"), _first("PROG_"), _first("SEC_"), _first("NEXT_"), _first("BARS_"), _first("ENERGY_")
NV = len(VELOCITIES)
NDV = len(VELOCITIES) * len(DURATIONS)
NDRUM = len(DRUM_CLASSES) * len(DRUM_VELOCITIES)
_DRUM_CLASS_OF = {p: i for i, (_, ps) in enumerate(DRUM_CLASSES) for p in ps}


# --- small quantisers ---------------------------------------------------------------------------------
def _nearest(values: tuple, x: float) -> int:
    return min(range(len(values)), key=lambda i: (abs(values[i] - x), i))


def tempo_bucket(bpm: float) -> int:
    return sum(bpm >= e for e in TEMPO_EDGES)


def energy_bucket(e: float | None) -> int:
    return min(ENERGY_BUCKETS - 1, max(0, int(float(0.5 if e is None else e) * ENERGY_BUCKETS)))


def norm_label(label: str) -> str:
    """Vocabulary label for a section label: 'Chorus 2' -> 'chorus', 'pre-chorus' -> 'prechorus'."""
    low = "".join(ch for ch in label.lower() if ch.isalpha())
    for lab in LABELS:
        if low == lab or (len(lab) > 2 and low.startswith(lab)):
            return lab
    return "other"


def norm_quality(q: str) -> str:
    if q in QUALITIES:
        return q
    aliases = {"m": "min", "": "maj", "major": "maj", "minor": "min", "dom7": "7", "m7": "min7", "hdim7": "m7b5",
               "maj9": "maj7", "min9": "min7", "m9": "min7", "7sus4": "sus4", "sus": "sus4", "m6": "min6"}
    if q in aliases:
        return aliases[q]
    return "min" if q.startswith(("min", "m")) and not q.startswith("maj") else "maj"


def meter_positions(numerator: int, denominator: int) -> int:
    """Number of 16th-note steps in a bar, e.g. 4/4 -> 16, 6/8 -> 12."""
    return ticks_per_bar(numerator, denominator) // STEP_TICKS


def drum_class(pitch: int) -> int:
    return _DRUM_CLASS_OF.get(pitch, len(DRUM_CLASSES) - 1)


# --- header: what the tokens are conditioned on -----------------------------------------------------------
@dataclass
class TrackSpec:
    """One track of the arrangement: display name, role, GM program, drum flag; ``slot`` = TRK token."""

    name: str
    role: str
    program: int
    is_drum: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            self.role = "percussion" if self.is_drum else "melody"
        if self.is_drum and self.role not in ("drums", "percussion"):
            self.role = "drums"


@dataclass
class SectionSpec:
    label: str
    bars: int
    energy: float | None = None
    tracks: list[int] | None = None  # indices of the tracks that play; None = all


@dataclass
class Header:
    """Everything the tokens are conditioned on (built from a StylePlan or read off a Song)."""

    genre: str = "other"
    mood: str | None = None
    tempo_bpm: float = 120.0
    key: Key = field(default_factory=Key)
    meter: tuple[int, int] = (4, 4)
    drums: bool = False
    tracks: list[TrackSpec] = field(default_factory=list)
    sections: list[SectionSpec] = field(default_factory=list)
    groove: str | None = None  # the plan's drum groove (not a token: the sampler's prior reads it)

    @property
    def positions(self) -> int:
        return meter_positions(*self.meter)

    @property
    def bar_ticks(self) -> int:
        return ticks_per_bar(*self.meter)

    def slots(self) -> list[int]:
        """TRK token id of each track (role + index among tracks of that role)."""
        seen: dict[str, int] = {}
        out = []
        for t in self.tracks:
            n = seen.get(t.role, 0)
            if n >= MAX_SLOTS:
                raise ValueError(f"more than {MAX_SLOTS} {t.role} tracks")
            seen[t.role] = n + 1
            out.append(tid(f"TRK_{t.role}_{n}"))
        return out

    def validate(self) -> None:
        if tuple(self.meter) not in METERS:
            raise ValueError(f"meter {self.meter[0]}/{self.meter[1]} is not supported; use one of "
                             + ", ".join(f"{n}/{d}" for n, d in METERS))
        for s in self.sections:
            if not 1 <= s.bars <= MAX_SECTION_BARS:
                raise ValueError(f"section {s.label!r} has {s.bars} bars; sections hold 1..{MAX_SECTION_BARS} bars")
        self.slots()


def header_from_plan(plan: Any) -> Header:
    """Header from a ``StylePlan`` (or its ``to_dict()``): tracks in plan instrument order (+ drums)."""
    from ..prompt.plan import StylePlan

    if isinstance(plan, dict):
        plan = StylePlan.from_dict(plan)
    tracks = [TrackSpec(i.name, i.role, int(i.program), bool(i.is_drum)) for i in plan.instruments]
    if plan.drums and not any(t.is_drum for t in tracks):
        tracks.append(TrackSpec("drums", "drums", 0, True))
    if not plan.drums:
        tracks = [t for t in tracks if not t.is_drum]
    names = [t.name for t in tracks]
    sections = []
    for i, s in enumerate(plan.form):
        energy = s.energy if s.energy is not None else (plan.energy[i] if i < len(plan.energy) else None)
        playing = None
        if s.instruments is not None:
            playing = [j for j, n in enumerate(names) if n in s.instruments or tracks[j].is_drum and "drums" in s.instruments]
        sections.append(SectionSpec(s.label, int(s.bars), energy, playing))
    return Header(plan.genre or "other", plan.mood, float(plan.tempo_bpm), plan.key, tuple(plan.meter),
                  bool(plan.drums), tracks, sections, plan.drum_groove)


def header_from_song(song: Song) -> Header:
    """Header read off a Song (its ``song.plan`` gives genre, mood and energies when present)."""
    plan = song.plan or {}
    m = song.meter_map.meter_at_bar(0)
    energies = plan.get("energy") or []
    sections = [SectionSpec(s.label, s.length_bars, s.overrides.get("energy", energies[i] if i < len(energies) else None))
                for i, s in enumerate(song.sections)]
    tracks = [TrackSpec(t.name, t.role, t.program, t.is_drum) for t in song.tracks]
    return Header(plan.get("genre") or "other", plan.get("mood"), song.tempo_map.bpm_at(0), song.key,
                  (m.numerator, m.denominator), any(t.is_drum for t in song.tracks), tracks, sections,
                  plan.get("drum_groove"))


def header_tokens(h: Header) -> list[int]:
    genre = h.genre.lower() if h.genre and h.genre.lower() in GENRES else "other"
    mood = (h.mood or "none").lower()
    mood = mood if mood in MOODS else "other"
    out = [tid("BOS"), tid(f"GENRE_{genre}"), tid(f"MOOD_{mood}"), tid(f"TEMPO_{tempo_bucket(h.tempo_bpm)}"),
           tid(f"KEY_{h.key.tonic}"), tid(f"MODE_{h.key.mode}"), tid(f"METER_{h.meter[0]}_{h.meter[1]}"),
           tid("DRUMS_on" if h.drums else "DRUMS_off")]
    for slot, t in zip(h.slots(), h.tracks):
        out += [slot, PROG0 + (0 if t.is_drum else t.program)]
    return out + [tid("HDR_END")]


def section_tokens(h: Header, i: int) -> list[int]:
    s = h.sections[i]
    nxt = norm_label(h.sections[i + 1].label) if i + 1 < len(h.sections) else "end"
    return [tid(f"SEC_{norm_label(s.label)}"), ENERGY0 + energy_bucket(s.energy), BARS0 + s.bars - 1, tid(f"NEXT_{nxt}")]


# --- Song -> tokens ------------------------------------------------------------------------------------------
def _dur_index(steps: int) -> int:
    return _nearest(DURATIONS, steps)


def bar_contents(song: Song, h: Header) -> list[dict]:
    """Quantised events per bar: [{'chords': [(pos, chord_token)], 'tracks': [[(pos, tok, tok?)...]...]}].

    Each pitched event is (pos, pitch_token, dv_token); each drum event is (pos, drum_token). Bars are
    numbered from 0 over all sections in order; notes outside the sections are dropped.
    """
    bt, tonic = h.bar_ticks, h.key.tonic
    total_bars = sum(s.bars for s in h.sections)
    sec_end_bar: list[int] = []  # sec_end_bar[b] = end bar of the section holding bar b
    b0 = 0
    for s in h.sections:
        sec_end_bar += [b0 + s.bars] * s.bars
        b0 += s.bars
    bars: list[dict] = [{"chords": [], "tracks": [[] for _ in h.tracks]} for _ in range(total_bars)]
    name_to_idx = {t.name: i for i, t in enumerate(song.tracks)}
    for ti, spec in enumerate(h.tracks):
        track = song.tracks[name_to_idx[spec.name]] if spec.name in name_to_idx else song.tracks[ti]
        seen = set()
        for n in sorted(track.notes):
            step = round(n.start_tick / STEP_TICKS)
            bar, pos = divmod(step * STEP_TICKS, bt)
            pos //= STEP_TICKS
            if bar >= total_bars:
                continue
            if spec.is_drum:
                ev = (pos, DRUM0 + drum_class(n.pitch) * len(DRUM_VELOCITIES) + _nearest(DRUM_VELOCITIES, n.velocity))
                key = (bar, pos, (ev[1] - DRUM0) // len(DRUM_VELOCITIES))
            else:
                rel = n.pitch - tonic
                while rel < 0:
                    rel += 12
                left = (sec_end_bar[bar] * bt - bar * bt) // STEP_TICKS - pos
                d = min(_dur_index(max(1, round(n.duration_ticks / STEP_TICKS))), _dur_index(left))
                while DURATIONS[d] > left:
                    d -= 1
                ev = (pos, PITCH0 + rel, DV0 + d * NV + _nearest(VELOCITIES, n.velocity))
                key = (bar, pos, rel)
            if key not in seen:
                seen.add(key)
                bars[bar]["tracks"][ti].append(ev)
    for c in sorted(song.chords, key=lambda c: c.start_tick):
        step = round(c.start_tick / STEP_TICKS)
        bar, pos = divmod(step * STEP_TICKS, bt)
        if bar < total_bars:
            tok = CHORD0 + ((c.root - tonic) % 12) * len(QUALITIES) + QUALITIES.index(norm_quality(c.quality))
            lst = bars[bar]["chords"]
            if lst and lst[-1][0] == pos // STEP_TICKS:
                lst[-1] = (pos // STEP_TICKS, tok)
            else:
                lst.append((pos // STEP_TICKS, tok))
    for b in bars:
        for ti, evs in enumerate(b["tracks"]):
            drum = h.tracks[ti].is_drum
            evs.sort(key=lambda e: (e[0], (e[1] - DRUM0) // len(DRUM_VELOCITIES) if drum else e[1]))
            # keep at most MAX_NOTES_PER_POS per position
            out, count = [], {}
            for e in evs:
                count[e[0]] = count.get(e[0], 0) + 1
                if count[e[0]] <= MAX_NOTES_PER_POS:
                    out.append(e)
            b["tracks"][ti] = out
    return bars


def track_bar_tokens(events: list[tuple]) -> list[int]:
    """Tokens of one track in one bar (without the TRK opener)."""
    out, last = [], -1
    for e in events:
        if e[0] != last:
            out.append(POS0 + e[0])
            last = e[0]
        out.extend(e[1:])
    return out


def chord_bar_tokens(chords: list[tuple[int, int]]) -> list[int]:
    out = []
    for pos, tok in chords:
        out += [POS0 + pos, tok]
    return out


def encode(song: Song, header: Header | None = None) -> list[int]:
    """Song -> token ids (the whole song: header, every section, EOS). See the module docstring."""
    h = header or header_from_song(song)
    h.validate()
    bars = bar_contents(song, h)
    slots = h.slots()
    out = header_tokens(h)
    b = 0
    for si, s in enumerate(h.sections):
        out += section_tokens(h, si)
        for i in range(s.bars):
            out += [BAR0 + i, tid("CHORDS")] + chord_bar_tokens(bars[b]["chords"])
            for ti, slot in enumerate(slots):
                out += [slot] + track_bar_tokens(bars[b]["tracks"][ti])
            b += 1
    return out + [tid("EOS")]


# --- tokens -> Song ----------------------------------------------------------------------------------------------
def decode(tokens: list[int], header: Header) -> Song:
    """Token ids -> Song (sections, tracks named after ``header.tracks``, notes, chords, tempo, key, meter).

    Tempo, track names and section labels come from ``header`` (tokens only carry buckets and normalised
    labels); everything else is read from the tokens. A note still sounding when its pitch is struck again
    in its track ends there (``song.model.resolve_overlaps``), so the song holds what a MIDI channel plays.
    """
    h = header
    bt, tonic = h.bar_ticks, h.key.tonic
    song = Song(tempo_map=TempoMap(bpm=h.tempo_bpm), meter_map=MeterMap(numerator=h.meter[0], denominator=h.meter[1]),
                key=h.key)
    tracks = [Track(name=t.name, role=t.role, program=t.program, is_drum=t.is_drum) for t in h.tracks]
    for t in tracks:
        song.tracks.append(t)
    slot_to_track = {s: i for i, s in enumerate(h.slots())}
    bar, sec_i, start_bar = -1, -1, 0
    cur_track, pos, pitch = None, 0, None
    chords: list[tuple[int, int, int]] = []  # (tick, section end tick, token)
    sec_end_tick = 0
    notes: list[list[Note]] = [[] for _ in tracks]
    i = tokens.index(tid("HDR_END")) + 1 if tid("HDR_END") in tokens else 0
    for tok in tokens[i:]:
        name = VOCAB[tok]
        if SEC0 <= tok < SEC0 + len(LABELS):
            sec_i += 1
            spec = h.sections[sec_i] if sec_i < len(h.sections) else SectionSpec(LABELS[tok - SEC0], 1)
            song.sections.append(Section(spec.label, start_bar, spec.bars))
            sec_end_tick = (start_bar + spec.bars) * bt
            start_bar += spec.bars
        elif BAR0 <= tok < BAR0 + MAX_SECTION_BARS:
            bar += 1
            cur_track = None
        elif name == "CHORDS":
            cur_track = "chords"
        elif tok in slot_to_track:
            cur_track = slot_to_track[tok]
        elif POS0 <= tok < POS0 + MAX_POSITIONS:
            pos = tok - POS0
        elif CHORD0 <= tok < CHORD0 + 12 * len(QUALITIES):
            chords.append((bar * bt + pos * STEP_TICKS, sec_end_tick, tok))
        elif PITCH0 <= tok < PITCH0 + 128:
            pitch = tok - PITCH0 + tonic
        elif DV0 <= tok < DV0 + NDV and isinstance(cur_track, int) and pitch is not None:
            d, v = divmod(tok - DV0, NV)
            if pitch <= 127:
                notes[cur_track].append(Note(bar * bt + pos * STEP_TICKS, pitch, DURATIONS[d] * STEP_TICKS, VELOCITIES[v]))
        elif DRUM0 <= tok < DRUM0 + NDRUM and isinstance(cur_track, int):
            c, v = divmod(tok - DRUM0, len(DRUM_VELOCITIES))
            notes[cur_track].append(Note(bar * bt + pos * STEP_TICKS, DRUM_CLASSES[c][0], STEP_TICKS, DRUM_VELOCITIES[v]))
        elif name == "EOS":
            break
    for t, ns in zip(tracks, notes):  # a pitch struck again while it sounds ends the earlier note
        t.notes = resolve_overlaps(ns)
    out = []
    for j, (tick, end, tok) in enumerate(chords):
        nxt = chords[j + 1][0] if j + 1 < len(chords) and chords[j + 1][0] < end else end
        r, q = divmod(tok - CHORD0, len(QUALITIES))
        out.append(Chord(tick, nxt - tick, (r + tonic) % 12, QUALITIES[q]))
    song.chords = out
    return song


def quantize_song(song: Song, header: Header | None = None) -> Song:
    """The Song as the tokens can hold it (grid, durations, velocities, drum classes, chord spans)."""
    h = header or header_from_song(song)
    q = decode(encode(song, h), h)
    q.title, q.plan, q.generation = song.title, dict(song.plan), dict(song.generation)
    return q
