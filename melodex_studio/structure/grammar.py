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
built once per state and cached, so a step costs one dict lookup.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    """Masks for one header (meter, key, tracks); ``mask(state, end_token, steps_left)`` -> bool (vocab,)."""

    def __init__(self, header: T.Header, device: torch.device | str = "cpu"):
        self.header = header
        self.device = torch.device(device)
        self.P = header.positions
        self._cache: dict[tuple, torch.Tensor] = {}
        pcs = set(allowed_pitch_classes(header.key.mode, header.genre))
        tonic = header.key.tonic
        self.track_pitch_ok: list[list[bool]] = []
        for t in header.tracks:
            lo, hi = ROLE_RANGES.get(t.role, (0, 127))
            ok = [(x % 12) in pcs and lo <= x + tonic <= hi and x + tonic <= 127 for x in range(128)]
            if t.role == "fx":
                ok = [lo <= x + tonic <= min(hi, 127) for x in range(128)]
            self.track_pitch_ok.append(ok)

    def _vec(self, ids: list[int]) -> torch.Tensor:
        m = torch.zeros(T.VOCAB_SIZE, dtype=torch.bool)
        if ids:
            m[torch.tensor(ids)] = True
        return m.to(self.device)

    def allowed_ids(self, st: SegState, end_token: int, steps_left: int) -> list[int]:
        """Token ids allowed next (``steps_left`` = 16th steps from the current position to the section end)."""
        P = self.P
        ids: list[int] = []
        if st.phase in ("open", "item"):
            ids += [T.POS0 + p for p in range(st.last_pos + 1, P)]
            ids.append(end_token)
            if st.phase == "item" and st.count < T.MAX_NOTES_PER_POS:
                if st.kind == "pitched":
                    ok = self.track_pitch_ok[st.track]
                    ids += [T.PITCH0 + x for x in range(st.last_item + 1, 128) if ok[x]]
                elif st.kind == "drums":
                    ids += [T.DRUM0 + c * len(T.DRUM_VELOCITIES) + v for c in range(st.last_item + 1, len(T.DRUM_CLASSES))
                            for v in range(len(T.DRUM_VELOCITIES))]
        elif st.phase == "pos":
            if st.kind == "chords":
                ids += list(range(T.CHORD0, T.CHORD0 + 12 * len(T.QUALITIES)))
            elif st.kind == "pitched":
                ok = self.track_pitch_ok[st.track]
                ids += [T.PITCH0 + x for x in range(128) if ok[x]]
            else:
                ids += list(range(T.DRUM0, T.DRUM0 + T.NDRUM))
        elif st.phase == "pitch":
            ids += [T.DV0 + d * T.NV + v for d, steps in enumerate(T.DURATIONS) if steps <= max(1, steps_left)
                    for v in range(T.NV)]
        return ids

    def mask(self, st: SegState, end_token: int, steps_left: int) -> torch.Tensor:
        left = min(steps_left, T.DURATIONS[-1]) if st.phase == "pitch" else 0
        key = (st.kind, st.track, st.phase, st.last_pos, st.last_item, st.count >= T.MAX_NOTES_PER_POS, end_token, left)
        m = self._cache.get(key)
        if m is None:
            m = self._vec(self.allowed_ids(st, end_token, left))
            self._cache[key] = m
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
    g = Grammar.__new__(Grammar)  # pitch tables only
    Grammar.__init__(g, header, "cpu")
    st = SegState(segment_kind(header, track), track)
    for tok in toks:
        left = steps_left_at_bar - max(st.last_pos, 0)
        if tok not in set(g.allowed_ids(st, -1, left)):
            return False
        Grammar.advance(st, tok)
    return st.phase in ("open", "item")
