"""Frame-aligned score features and conditioning vocabularies for the diffusion renderer (numpy only).

Latent frames lie on one grid for the whole song: frame ``f`` covers the samples
``[f * hop, (f + 1) * hop)`` at ``sample_rate`` counted from the song's first sample (tick 0), so that
the latents of consecutive sections join without any timing error. Note and beat positions are mapped
through the tempo map exactly (``TempoMap.tick_to_sample``, exact rational time rounded once), then to a
frame by integer division.

Per frame, ``FEATURE_DIM`` channels:
  [0, 128)    pitch roll: velocity / 127 while the note sounds (frames it overlaps), 0 otherwise
  [128, 256)  onsets: velocity / 127 in the frame where the note starts
  256         onset phase: position of the earliest onset inside the frame, 0..1 (0 when none)
  257, 258    sin, cos of the beat phase (beat = the meter's denominator note) at the frame start
  259, 260    sin, cos of the bar phase at the frame start
  261         beat flag: a beat starts inside the frame
  262         downbeat flag: a bar starts inside the frame
Drum tracks use the same layout (pitch = GM drum key).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..song import PPQ, Section, Song, Track

N_PITCH = 128
ROLL, ONSET = slice(0, 128), slice(128, 256)
ONSET_PHASE, BEAT_SIN, BEAT_COS, BAR_SIN, BAR_COS, BEAT_FLAG, DOWNBEAT_FLAG = range(256, 263)
FEATURE_DIM = 263

# Conditioning vocabularies (index 0 of each embedding table is reserved for "unknown / dropped").
STYLE_TAGS = ("dry", "roomy", "warm", "bright", "lofi", "saturated", "compressed", "punchy", "dark", "wide")
GENRES = (
    "pop", "rock", "jazz", "lofi", "hiphop", "electronic", "classical", "ambient", "funk", "folk",
    "cinematic", "rnb", "metal", "latin", "blues", "country", "reggae", "soul", "house", "techno",
)
DRUM_INSTRUMENT = 128  # instrument index of a drum kit (GM programs are 0..127)
N_INSTRUMENTS = 129


def frame_of_sample(sample: int, hop: int) -> int:
    """Frame index containing ``sample`` (floor division)."""
    return sample // hop


def frame_range(song: Song, start_tick: int, end_tick: int, sample_rate: int, hop: int) -> tuple[int, int]:
    """Song-grid frames [f0, f1) that cover the ticks [start_tick, end_tick) (f1 rounds up)."""
    s0 = song.tempo_map.tick_to_sample(start_tick, sample_rate)
    s1 = song.tempo_map.tick_to_sample(end_tick, sample_rate)
    return s0 // hop, max(s0 // hop + 1, -(-s1 // hop))


def section_frames(song: Song, section: Section, sample_rate: int, hop: int) -> tuple[int, int]:
    """Song-grid frames [f0, f1) of a section."""
    return frame_range(song, *song.section_ticks(section), sample_rate, hop)


def _beat_ticks(song: Song, start_tick: int, end_tick: int) -> tuple[list[int], list[int]]:
    """Ticks of every beat and every bar start in [start_tick, end_tick)."""
    beats, bars = [], []
    bar, _ = song.meter_map.tick_to_bar(max(start_tick, 0))
    while True:
        t0 = song.meter_map.bar_to_tick(bar)
        if t0 >= end_tick:
            break
        m = song.meter_map.meter_at_bar(bar)
        beat_len = PPQ * 4 // m.denominator
        if t0 >= start_tick:
            bars.append(t0)
        for k in range(m.numerator):
            t = t0 + k * beat_len
            if start_tick <= t < end_tick:
                beats.append(t)
        bar += 1
    return beats, bars


@dataclass
class ScoreFeatures:
    """Score of one track over song-grid frames [frame_start, frame_start + T): ``features`` (T, FEATURE_DIM)."""

    features: np.ndarray
    frame_start: int
    sample_rate: int
    hop: int
    onset_frames: list[int] = field(default_factory=list)  # frame of each note onset inside the range

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


def score_features(
    song: Song, track: Track, frame_start: int, frame_end: int, sample_rate: int = 24000, hop: int = 960,
) -> ScoreFeatures:
    """Score features of ``track`` for song-grid frames [frame_start, frame_end).

    Args:
        song: the document (tempo and meter maps give the exact timing).
        track: the track whose notes are read (every note overlapping the range, including notes that
            started earlier and still sound: roll only, no onset).
        frame_start, frame_end: frame range on the song grid (see ``section_frames``).
        sample_rate, hop: the codec's sample rate (Hz) and samples per latent frame.
    Returns:
        ``ScoreFeatures`` with ``features`` (frame_end - frame_start, FEATURE_DIM) float32.
    """
    T = max(0, frame_end - frame_start)
    feats = np.zeros((T, FEATURE_DIM), np.float32)
    tm = song.tempo_map
    onsets = _note_channels(feats, song, track, frame_start, sample_rate, hop, with_onsets=True)

    if T:
        # beat and bar phase at each frame start (tick from the frame's start time)
        for i in range(T):
            tick = tm.seconds_to_tick((frame_start + i) * hop / sample_rate)
            bar, off = song.meter_map.tick_to_bar(int(tick))
            m = song.meter_map.meter_at_bar(bar)
            frac = off + (tick - int(tick))
            beat_len = PPQ * 4 // m.denominator
            beat_phase = (frac / beat_len) % 1.0
            bar_phase = frac / m.ticks_per_bar
            feats[i, BEAT_SIN], feats[i, BEAT_COS] = np.sin(2 * np.pi * beat_phase), np.cos(2 * np.pi * beat_phase)
            feats[i, BAR_SIN], feats[i, BAR_COS] = np.sin(2 * np.pi * bar_phase), np.cos(2 * np.pi * bar_phase)
        t0 = int(np.floor(tm.seconds_to_tick(frame_start * hop / sample_rate))) - PPQ * 8
        t1 = int(np.ceil(tm.seconds_to_tick(frame_end * hop / sample_rate))) + 1
        beats, bars = _beat_ticks(song, max(t0, 0), t1)
        for ticks, ch in ((beats, BEAT_FLAG), (bars, DOWNBEAT_FLAG)):
            for t in ticks:
                f = tm.tick_to_sample(t, sample_rate) // hop
                if frame_start <= f < frame_end:
                    feats[f - frame_start, ch] = 1.0
    return ScoreFeatures(feats, frame_start, sample_rate, hop, sorted(onsets))


def pitch_roll(song: Song, track: Track, frame_start: int, frame_end: int, sample_rate: int = 24000,
               hop: int = 960) -> np.ndarray:
    """The pitch roll channels of ``score_features`` alone, (frame_end - frame_start, 128) float32 (the codec
    decoder's harmonics read only these; the beat and bar phases cost a rational-time conversion per frame)."""
    roll = np.zeros((max(0, frame_end - frame_start), N_PITCH), np.float32)
    _note_channels(roll, song, track, frame_start, sample_rate, hop, with_onsets=False)
    return roll


def _note_channels(feats: np.ndarray, song: Song, track: Track, frame_start: int, sample_rate: int, hop: int,
                   with_onsets: bool) -> list[int]:
    """Write the roll (and with ``with_onsets`` the onset and onset-phase channels) of ``track``'s notes into
    ``feats`` (T, >= 128 or FEATURE_DIM) for frames [frame_start, frame_start + T); returns the onset frames."""
    T = feats.shape[0]
    frame_end = frame_start + T
    tm = song.tempo_map
    onsets: list[int] = []
    first_phase = np.full(T, np.inf)
    # ticks that surely lie outside the frames (a tick of margin for the float conversion): a section's frames
    # skip the exact rational time of the song's other notes
    lo = math.floor(tm.seconds_to_tick(frame_start * hop / sample_rate)) - 1
    hi = math.ceil(tm.seconds_to_tick(frame_end * hop / sample_rate)) + 1
    for n in track.notes:
        if n.end_tick < lo or n.start_tick > hi:
            continue
        s_on = tm.tick_to_sample(n.start_tick, sample_rate)
        s_off = tm.tick_to_sample(n.end_tick, sample_rate)
        f_on = s_on // hop
        f_off = max(f_on + 1, -(-s_off // hop))
        a, b = max(f_on, frame_start), min(f_off, frame_end)
        if a >= b:
            continue
        v = n.velocity / 127.0
        roll = feats[a - frame_start: b - frame_start, n.pitch]
        np.maximum(roll, v, out=roll)
        if with_onsets and frame_start <= f_on < frame_end:
            i = f_on - frame_start
            feats[i, ONSET.start + n.pitch] = max(feats[i, ONSET.start + n.pitch], v)
            first_phase[i] = min(first_phase[i], (s_on - f_on * hop) / hop)
            onsets.append(f_on)
    if with_onsets:
        has = np.isfinite(first_phase)
        feats[has, ONSET_PHASE] = first_phase[has]
    return onsets


# --- conditioning tokens ------------------------------------------------------------------------------

@dataclass
class RenderConditions:
    """Non-score conditions of one render: instrument, production tags and genre (plain attributes)."""

    program: int = 0
    is_drum: bool = False
    tags: Sequence[str] = ()
    genre: str | None = None

    @classmethod
    def from_song(cls, song: Song, track: Track, section: Section | None = None) -> "RenderConditions":
        """Conditions of ``track`` from the song's StylePlan dict (``production``, ``genre``), with a
        section's ``overrides`` (keys 'production', 'genre') taking precedence."""
        plan = dict(song.plan or {})
        if section is not None:
            plan.update({k: v for k, v in section.overrides.items() if k in ("production", "genre") and v})
        return cls(track.program, track.is_drum, tuple(plan.get("production") or ()), plan.get("genre"))


def instrument_index(program: int, is_drum: bool) -> int:
    """0..127 GM program, or ``DRUM_INSTRUMENT`` for a drum kit."""
    return DRUM_INSTRUMENT if is_drum else int(program)


def tag_vector(tags: Sequence[str]) -> np.ndarray:
    """Multi-hot (len(STYLE_TAGS),) float32 of the known tags (unknown tags are ignored)."""
    v = np.zeros(len(STYLE_TAGS), np.float32)
    for t in tags:
        if t.lower() in STYLE_TAGS:
            v[STYLE_TAGS.index(t.lower())] = 1.0
    return v


def genre_index(genre: str | None) -> int:
    """1-based genre index; 0 = unknown or none."""
    g = (genre or "").lower()
    return GENRES.index(g) + 1 if g in GENRES else 0


def encode_conditions(cond: RenderConditions) -> dict[str, np.ndarray | int]:
    """Tokenise conditions: {'instrument': int, 'tags': (n_tags,) float32, 'genre': int}."""
    return {
        "instrument": instrument_index(cond.program, cond.is_drum),
        "tags": tag_vector(cond.tags),
        "genre": genre_index(cond.genre),
    }
