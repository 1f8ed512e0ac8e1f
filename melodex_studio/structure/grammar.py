"""Token grammar: which tokens may come next, as boolean masks over the vocabulary.

The sampler walks the arrangement skeleton itself (header, section headers, BAR and track openers are
forced), so the grammar only has to describe the inside of one *segment* (the chord track or one track
in one bar). A segment is a small state machine:

    chords:  (POS_p CHORD)*                      p strictly increasing, p < steps per bar
    pitched: (POS_p (PITCH_x DV_d_v)+)*          x strictly increasing at a position; x in the track's
                                                 role range and in the key (unless the style is chromatic);
                                                 duration <= steps left in the section
    drums:   (POS_p DRUM_c_v+)*                  hit class strictly increasing at a position

and the segment ends when the sampler picks the ``end`` token (the next segment's opener). Masks are
composed once per state from rows precomputed per header and cached, so a step costs one dict lookup.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import tokens as T

# MIDI pitch range per role (inclusive).
ROLE_RANGES = {
    "melody": (48, 100), "counter": (40, 96), "chords": (36, 88), "pad": (28, 92), "bass": (21, 64),
    "fx": (21, 108), "drums": (0, 127), "percussion": (0, 127),
}
# Genres whose melodies and chords may leave the key (blue notes, secondary dominants, chromatic voice leading).
CHROMATIC_GENRES = {"jazz", "swing", "blues", "funk", "soul", "r&b", "gospel", "bossa nova", "latin", "classical", "chorale",
                    "cinematic"}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10, 11)  # natural minor + the leading tone (harmonic minor's raised 7th)


def allowed_pitch_classes(mode: str, genre: str | None) -> tuple[int, ...]:
    """Pitch classes relative to the tonic that the grammar allows for a key mode and genre."""
    if (genre or "").lower() in CHROMATIC_GENRES:
        return tuple(range(12))
    return MAJOR if mode == "major" else MINOR


@dataclass(frozen=True)
class Allowed:
    """Tokens allowed in one state: ``ids`` (sorted), and for computing only the logits it needs, ``spans``
    (contiguous vocabulary row ranges covering ``ids``) and ``take`` (where each id falls in the spans' rows
    laid end to end)."""

    ids: np.ndarray  # (n,) int64
    spans: tuple[tuple[int, int], ...]
    take: np.ndarray  # (n,) int64


SPAN_GAP = 16  # allowed ids closer than this share one span of head rows


def _allowed_record(ids: np.ndarray) -> Allowed:
    n = len(ids)
    if n == 0:
        return Allowed(ids, (), ids)
    brk = np.flatnonzero(np.diff(ids) >= SPAN_GAP) + 1
    starts, ends = np.r_[0, brk], np.r_[brk, n]
    lo, hi = ids[starts], ids[ends - 1] + 1
    offset = np.r_[0, np.cumsum(hi - lo)[:-1]]
    group = np.repeat(np.arange(len(starts)), ends - starts)
    return Allowed(ids, tuple(zip(lo.tolist(), hi.tolist())), ids - lo[group] + offset[group])


@dataclass
class SegState:
    """Where the sampler is inside one segment."""

    kind: str  # 'chords' | 'pitched' | 'drums'
    track: int = -1
    phase: str = "open"  # 'open' (may start a position or end), 'pos' (after POS), 'pitch' (after PITCH), 'item'
    last_pos: int = -1
    last_item: int = -1  # last pitch / drum class at this position
    count: int = 0  # notes at this position


class Grammar:
    """Allowed next tokens for one header (meter, key, tracks), per segment state.

    ``allowed(state, end_token, steps_left)`` -> ``Allowed`` (sorted int64 ids, head-row spans) and
    ``mask(...)`` -> bool (vocab,) tensor. Both are cached per state key; a state seen for the first time is composed from bool
    rows precomputed once per header (positions after p, pitches above x per track, drum classes above c,
    durations within n steps), so no mask is built token by token.
    """

    def __init__(self, header: T.Header, device: torch.device | str = "cpu"):
        self.header = header
        self.device = torch.device(device)
        self.P = P = header.positions
        V = T.VOCAB_SIZE
        self._ids: dict[tuple, Allowed] = {}
        self.prior_cache: dict[tuple, dict] = {}  # prior.HarmonyPrior's biases over this grammar's Allowed records
        self._masks: dict[tuple, torch.Tensor] = {}
        pcs = np.zeros(12, dtype=bool)
        pcs[list(allowed_pitch_classes(header.key.mode, header.genre))] = True
        tonic = header.key.tonic
        x = np.arange(128)
        self.track_pitch_ok: list[np.ndarray] = []  # (128,) bool per track: relative pitch x allowed
        for t in header.tracks:
            lo, hi = ROLE_RANGES.get(t.role, (0, 127))
            inside = (lo <= x + tonic) & (x + tonic <= min(hi, 127))
            self.track_pitch_ok.append(inside if t.role == "fx" else inside & pcs[x % 12])
        above = x[None, :] >= np.arange(129)[:, None]  # (129, 128): pitch x >= j
        self._pitch_from = np.zeros((len(header.tracks), 129, V), dtype=bool)  # [track, j]: allowed pitches >= j
        for i, ok in enumerate(self.track_pitch_ok):
            self._pitch_from[i, :, T.PITCH0:T.PITCH0 + 128] = above & ok
        self._pos_from = np.zeros((P + 1, V), dtype=bool)  # [j]: POS_j .. POS_{P-1}
        self._pos_from[:, T.POS0:T.POS0 + P] = np.arange(P)[None, :] >= np.arange(P + 1)[:, None]
        nd, nv = len(T.DRUM_CLASSES), len(T.DRUM_VELOCITIES)
        self._drum_from = np.zeros((nd + 1, V), dtype=bool)  # [c]: drum hits of class >= c
        hit_class = np.repeat(np.arange(nd), nv)  # (NDRUM,) class of each DRUM token
        self._drum_from[:, T.DRUM0:T.DRUM0 + T.NDRUM] = hit_class[None, :] >= np.arange(nd + 1)[:, None]
        self._chords = np.zeros(V, dtype=bool)
        self._chords[T.CHORD0:T.CHORD0 + 12 * len(T.QUALITIES)] = True
        steps = np.repeat(np.asarray(T.DURATIONS), T.NV)  # (NDV,) duration of each DV token
        self._dv_within = np.zeros((T.DURATIONS[-1] + 1, V), dtype=bool)  # [n]: DV tokens lasting <= max(1, n)
        limit = np.maximum(1, np.arange(T.DURATIONS[-1] + 1))  # a note may always last one step
        self._dv_within[:, T.DV0:T.DV0 + T.NDV] = steps[None, :] <= limit[:, None]

    _shared: dict[tuple, "Grammar"] = {}
    _SHARED_MAX = 16

    @classmethod
    def for_header(cls, header: T.Header, device: torch.device | str = "cpu") -> "Grammar":
        """A Grammar for ``header``, shared with earlier sessions whose header has the same meter, key, genre
        class and track roles (so its per-state cache is already warm)."""
        chromatic = (header.genre or "").lower() in CHROMATIC_GENRES
        sig = (header.positions, header.key.tonic, header.key.mode, chromatic,
               tuple((t.role, t.is_drum) for t in header.tracks), str(torch.device(device)))
        g = cls._shared.get(sig)
        if g is None:
            if len(cls._shared) >= cls._SHARED_MAX:
                cls._shared.pop(next(iter(cls._shared)))
            g = cls._shared[sig] = cls(header, device)
        return g

    def allowed_bool(self, st: SegState, end_token: int, steps_left: int) -> np.ndarray:
        """(vocab,) bool of the tokens allowed next (``steps_left`` = 16th steps from the current position to the
        section end)."""
        if st.phase in ("open", "item"):
            m = self._pos_from[min(st.last_pos + 1, self.P)].copy()
            if end_token >= 0:
                m[end_token] = True
            if st.phase == "item" and st.count < T.MAX_NOTES_PER_POS:
                if st.kind == "pitched":
                    m |= self._pitch_from[st.track, st.last_item + 1]
                elif st.kind == "drums":
                    m |= self._drum_from[st.last_item + 1]
            return m
        if st.phase == "pos":
            if st.kind == "chords":
                return self._chords
            if st.kind == "pitched":
                return self._pitch_from[st.track, 0]
            return self._drum_from[0]
        if st.phase == "pitch":
            return self._dv_within[min(max(steps_left, 0), T.DURATIONS[-1])]
        return np.zeros(T.VOCAB_SIZE, dtype=bool)

    def allowed_ids(self, st: SegState, end_token: int, steps_left: int) -> list[int]:
        """Token ids allowed next, as a list (see ``allowed_bool``)."""
        return np.flatnonzero(self.allowed_bool(st, end_token, steps_left)).tolist()

    @staticmethod
    def _key(st: SegState, end_token: int, steps_left: int) -> tuple:
        left = min(steps_left, T.DURATIONS[-1]) if st.phase == "pitch" else 0
        full = st.count >= T.MAX_NOTES_PER_POS
        return (st.kind, st.track, st.phase, st.last_pos, st.last_item, full, end_token, left)

    def allowed(self, st: SegState, end_token: int, steps_left: int) -> Allowed:
        """The tokens allowed next (ids, head-row spans); cached per state."""
        key = self._key(st, end_token, steps_left)
        a = self._ids.get(key)
        if a is None:
            a = self._ids[key] = _allowed_record(np.flatnonzero(self.allowed_bool(st, end_token, key[-1])))
        return a

    def mask(self, st: SegState, end_token: int, steps_left: int) -> torch.Tensor:
        """(vocab,) bool tensor on the grammar's device; cached per state."""
        key = self._key(st, end_token, steps_left)
        m = self._masks.get(key)
        if m is None:
            m = self._masks[key] = torch.from_numpy(self.allowed_bool(st, end_token, key[-1]).copy()).to(self.device)
        return m

    @staticmethod
    def advance(st: SegState, tok: int) -> None:
        """Update ``st`` after token ``tok`` was emitted inside the segment."""
        if T.POS0 <= tok < T.POS0 + T.MAX_POSITIONS:
            st.last_pos, st.phase, st.last_item, st.count = tok - T.POS0, "pos", -1, 0
        elif T.PITCH0 <= tok < T.PITCH0 + 128:
            st.last_item, st.phase, st.count = tok - T.PITCH0, "pitch", st.count + 1
        elif T.DV0 <= tok < T.DV0 + T.NDV or T.CHORD0 <= tok < T.CHORD0 + 12 * len(T.QUALITIES):
            st.phase = "item"
        elif T.DRUM0 <= tok < T.DRUM0 + T.NDRUM:
            st.last_item, st.phase, st.count = (tok - T.DRUM0) // len(T.DRUM_VELOCITIES), "item", st.count + 1


def segment_kind(header: T.Header, track: int) -> str:
    """'chords' for the chord track (track -1), else 'drums' or 'pitched'."""
    if track < 0:
        return "chords"
    return "drums" if header.tracks[track].is_drum else "pitched"


def check_segment(header: T.Header, track: int, toks: list[int], steps_left_at_bar: int) -> bool:
    """True when ``toks`` (segment content, without opener) is accepted by the grammar."""
    g = Grammar(header, "cpu")
    st = SegState(segment_kind(header, track), track)
    for tok in toks:
        left = steps_left_at_bar - max(st.last_pos, 0)
        if tok not in set(g.allowed_ids(st, -1, left)):
            return False
        Grammar.advance(st, tok)
    return st.phase in ("open", "item")
