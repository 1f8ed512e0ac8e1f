"""A harmonic and idiomatic prior on the structure model's choices: logit biases (and a few masks) added to the
model's logits over the tokens the grammar allows, so that what it writes is in its key and keeps a musician's
harmony, without retraining it.

Per bar the sampler tells the prior where it is (``begin_bar``) and which chords the bar's chord track holds
(``set_chords``); ``bias(state, allowed)`` then returns an additive (n,) float array over ``allowed.ids``
(``-inf`` forbids a token) or None:

- chord track: chords start on beat 1 (always) and, in bars of 4+ even beats, the bar's middle (one or two
  chords a bar, none shorter than a beat); chords are the key's (``song.harmony.DIATONIC``: other chords are
  forbidden, or weighted down in genres that leave the key), weighted toward tonic, subdominant and dominant;
  the song's first chord is the tonic, the penultimate bar leans to the dominant, section ends to a cadence
  (dominant or tonic), and the song's last bar is the tonic chord alone;
- melody: chord tones of the sounding chord on strong beats (and a little elsewhere), the tonic and mediant a
  little over the other degrees; one note at a time in melody and bass;
- bass: the chord's root on beat 1, root or fifth on other strong beats;
- chord and pad parts, counter-melodies: chord tones;
- drums in backbeat grooves in 4/4: a snare (or side stick or clap) on beats 2 and 4.
Everything is a function of the header and the tokens so far, so the same seed still gives the same tokens.
"""
from __future__ import annotations

import numpy as np

from ..song.harmony import (
    CHORD_INTERVALS,
    DIATONIC,
    DOMINANTS,
    PROGRESSIONS,
    chord_change_positions,
    chord_pcs,
    strong_positions,
    tonic_chord,
)
from . import tokens as T
from .grammar import CHROMATIC_GENRES, MAJOR, MINOR, Allowed, SegState

BACKBEAT_GROOVES = ("rock", "funk", "boom_bap", "four_on_floor", "shuffle")
SNARE_CLASSES = (1, 2, 3)  # DRUM_CLASSES indices of side stick (37), snare (38/40), clap (39)

NQ = len(T.QUALITIES)
KEY_PCS = {"major": MAJOR, "minor": MINOR}  # the key's pitch classes above the tonic (minor: + leading tone)


class Weights:
    """Strengths of the prior, in nats added to the model's logits."""

    melody_strong_chord_tone = 1.8
    melody_weak_chord_tone = 0.8
    bass_root_downbeat = 4.0
    bass_root_strong = 2.5
    bass_fifth = 1.0
    bass_weak_chord_tone = 1.0
    harmony_chord_tone = 2.5  # chord and pad parts, counter-melodies
    chord_third = 0.7  # the chord's third over its root and fifth (melody, chord parts): full triads, not power chords
    tonic_degree = 0.5  # every pitched part: the tonic ...
    mediant_degree = 0.5  # ... and the third above it
    off_key_chord = -3.0  # chords outside the key in genres whose grammar leaves the key
    off_key_note = -1.5  # notes outside the key that are not tones of the sounding chord (chromatic genres)
    first_tonic = 4.0
    cadence_dominant = 1.5
    section_end = 1.0


class HarmonyPrior:
    """The prior for one sampling session (one header)."""

    def __init__(self, header: T.Header, weights: type[Weights] = Weights, shared: dict | None = None):
        """``shared``: a dict that outlives the session (``Grammar.prior_cache`` of the grammar whose ``Allowed``
        records the biases are computed for), so sessions with the same header signature reuse the biases."""
        self.h, self.w = header, weights
        self.P = header.positions
        self.mode = header.key.mode
        meter = tuple(header.meter)
        self.strong = frozenset(strong_positions(meter))
        self.changes = frozenset(chord_change_positions(meter))
        self.roles = [t.role for t in header.tracks]
        self.chromatic = (header.genre or "").lower() in CHROMATIC_GENRES
        self.backbeat = (getattr(header, "groove", None) in BACKBEAT_GROOVES and meter == (4, 4)
                         and any(t.is_drum for t in header.tracks))
        self.beats24 = (4, 12)
        bars = [s.bars for s in header.sections]
        self.total_bars = sum(bars)
        self.sec_end = []  # global bar index -> is the last bar of its section
        for n in bars:
            self.sec_end += [False] * (n - 1) + [True]
        # chord tokens: weight of each of the 12*NQ chords
        cw = np.full(12 * NQ, -np.inf if not self.chromatic else self.w.off_key_chord)
        for (r, q), v in DIATONIC[self.mode].items():
            cw[r * NQ + T.QUALITIES.index(q)] = v
        self.chord_w = cw
        mv = np.zeros((12, 12))  # [from root, to root] above the tonic
        for (a, z), v in PROGRESSIONS[self.mode].items():
            mv[a, z] = v
        self.move_w = mv
        tr, tq = tonic_chord(self.mode)
        self.tonic_tok = T.CHORD0 + tr * NQ + T.QUALITIES.index(tq)
        self.dominant_toks = {T.CHORD0 + r * NQ + T.QUALITIES.index(q) for r, q in DOMINANTS}
        third = 4 if self.mode == "major" else 3
        deg = np.zeros(12)
        deg[0], deg[third] = self.w.tonic_degree, self.w.mediant_degree
        if self.chromatic:  # the grammar allows every pitch class: lean to the key's
            deg[[x for x in range(12) if x not in KEY_PCS[self.mode]]] += self.w.off_key_note
        self.degree_w = deg
        sig = (meter, self.backbeat, weights)
        self._cache: dict[tuple, np.ndarray | None] = {} if shared is None else shared.setdefault(sig, {})
        tone = np.zeros((12 * NQ, 12), dtype=bool)  # [chord token - CHORD0, pc above the tonic]: a chord tone
        third = np.zeros((12 * NQ, 12), dtype=bool)  # ... the chord's third
        for r in range(12):
            for qi, q in enumerate(T.QUALITIES):
                tone[r * NQ + qi, list(chord_pcs(r, q))] = True
                third[r * NQ + qi, [(r + x) % 12 for x in (3, 4) if x in CHORD_INTERVALS[q]]] = True
        self.tone_lut, self.third_lut = tone, third
        self.bar = -1  # global bar index
        self.chords: list[tuple[int, int]] = []  # (pos, chord token) of the current bar
        self.carry: int | None = None  # chord sounding at the bar's start (from the previous bar of the section)

    # --- where the sampler is -----------------------------------------------------------------------------
    def begin_section(self) -> None:
        self.carry = None  # chords end with their section

    def begin_bar(self, global_bar: int) -> None:
        if self.chords:
            self.carry = self.chords[-1][1]
        self.bar, self.chords = global_bar, []

    def set_chords(self, content: list[int]) -> None:
        """The chord segment of the current bar (tokens after its opener)."""
        out, pos = [], 0
        for tok in content:
            if T.POS0 <= tok < T.POS0 + T.MAX_POSITIONS:
                pos = tok - T.POS0
            elif T.CHORD0 <= tok < T.CHORD0 + 12 * NQ:
                out.append((pos, tok))
        self.chords = out

    def observe(self, st: SegState, tok: int) -> None:
        """A token the sampler chose in state ``st`` (before the state advances): chords join the bar's chords."""
        if st.kind == "chords" and T.CHORD0 <= tok < T.CHORD0 + 12 * NQ:
            self.chords.append((st.last_pos, tok))

    def chord_at(self, pos: int) -> int | None:
        c = self.carry
        for p, tok in self.chords:
            if p <= pos:
                c = tok
        return c

    # --- biases -----------------------------------------------------------------------------------------
    def bias(self, st: SegState, allowed: Allowed) -> np.ndarray | None:
        """Additive (n,) biases over ``allowed.ids`` for the next token in state ``st`` (None: no bias)."""
        if st.kind == "chords":
            key = self._chord_key(st)
        elif st.kind == "drums":
            if not self.backbeat or self.roles[st.track] != "drums":
                return None
            key = ("drums", st.phase, st.last_pos, st.last_item)
        else:
            role = self.roles[st.track]
            if role == "fx" or st.phase not in ("pos", "item"):
                return None
            pos = st.last_pos
            chord = self.chord_at(pos)
            last = self.bar == self.total_bars - 1
            key = ("pitched", role, st.phase, pos in self.strong, pos == 0, chord, last)
        k = (id(allowed),) + key
        if k not in self._cache:
            self._cache[k] = self._compute(key, st, allowed)
        return self._cache[k]

    def _chord_key(self, st: SegState) -> tuple:
        last = self.bar == self.total_bars - 1
        first = self.bar == 0
        penult = self.bar == self.total_bars - 2
        sec_end = 0 <= self.bar < len(self.sec_end) and self.sec_end[self.bar]
        prev = self.chords[-1][1] if self.chords else self.carry  # the chord before the next one
        return ("chords", st.phase, st.last_pos, first, penult, last, sec_end, prev if st.phase == "pos" else None)

    def _compute(self, key: tuple, st: SegState, allowed: Allowed) -> np.ndarray | None:
        ids = allowed.ids
        b = np.zeros(len(ids))
        if key[0] == "chords":
            _, phase, last_pos, first, penult, last, sec_end, prev = key
            if phase in ("open", "item"):  # next chord position or the end of the segment
                is_pos = (ids >= T.POS0) & (ids < T.POS0 + T.MAX_POSITIONS)
                ok = ~is_pos | np.isin(ids - T.POS0, list(self.changes))
                if last_pos < 0:  # a chord on beat 1 of every bar
                    ok &= ids == T.POS0
                if last and last_pos >= 0:  # the last bar is the tonic alone
                    ok &= ~is_pos
                b[~ok] = -np.inf
            elif phase == "pos":
                is_chord = (ids >= T.CHORD0) & (ids < T.CHORD0 + 12 * NQ)
                b[is_chord] = self.chord_w[ids[is_chord] - T.CHORD0]
                if last or (first and last_pos == 0):
                    b[ids != self.tonic_tok] = -np.inf
                    if first and not last:
                        b[ids == self.tonic_tok] += self.w.first_tonic
                elif penult and last_pos > 0 or penult and len(self.changes) == 1:
                    b[np.isin(ids, list(self.dominant_toks))] += self.w.cadence_dominant
                elif sec_end:
                    b[np.isin(ids, list(self.dominant_toks | {self.tonic_tok}))] += self.w.section_end
                if prev is not None:
                    b[is_chord] += self.move_w[(prev - T.CHORD0) // NQ][(ids[is_chord] - T.CHORD0) // NQ]
                    if last_pos > 0:  # a chord change inside the bar changes the chord
                        b[ids == prev] = -np.inf
            return b if np.isfinite(b).any() else None
        if key[0] == "drums":
            _, phase, last_pos, last_item = key
            is_pos = (ids >= T.POS0) & (ids < T.POS0 + T.MAX_POSITIONS)
            is_drum = (ids >= T.DRUM0) & (ids < T.DRUM0 + T.NDRUM)
            cls = (ids - T.DRUM0) // len(T.DRUM_VELOCITIES)
            pending = last_pos in self.beats24 and last_item < SNARE_CLASSES[0] and phase in ("pos", "item")
            if pending:  # on beats 2 and 4: kick allowed, then a snare before anything else
                ok = is_drum & (cls <= SNARE_CLASSES[-1])
            else:
                nxt = next((p for p in self.beats24 if p > last_pos), None)
                ok = ~is_pos | (ids - T.POS0 <= nxt) if nxt is not None else np.ones(len(ids), bool)
                if nxt is not None:
                    ok &= is_pos | is_drum  # the segment may not end before beat 4's snare
            b[~ok] = -np.inf
            return b if np.isfinite(b).sum() >= 1 else None
        _, role, phase, strong, downbeat, chord, last = key
        is_pitch = (ids >= T.PITCH0) & (ids < T.PITCH0 + 128)
        if phase == "item" and role in ("melody", "bass"):  # one note at a time
            b[is_pitch] = -np.inf
            return b if np.isfinite(b).any() else None
        pc = (ids[is_pitch] - T.PITCH0) % 12
        w = self.w
        add = self.degree_w[pc].copy()
        if chord is not None:
            r = (chord - T.CHORD0) // NQ
            tones = self.tone_lut[chord - T.CHORD0][pc]
            if self.chromatic:  # a tone of the sounding chord is never off key
                add[tones] = np.maximum(add[tones], 0.0)
            if role != "bass":
                add += np.where(self.third_lut[chord - T.CHORD0][pc], w.chord_third, 0.0)
            if role == "melody":
                add += np.where(tones, w.melody_strong_chord_tone if strong else w.melody_weak_chord_tone, 0.0)
            elif role == "bass":
                if downbeat:
                    add += np.where(pc == r, w.bass_root_downbeat, 0.0)
                elif strong:
                    add += np.where(pc == r, w.bass_root_strong, 0.0)
                else:
                    add += np.where(tones, w.bass_weak_chord_tone, 0.0)
                add += np.where(pc == (r + 7) % 12, w.bass_fifth, 0.0)
            else:
                add += np.where(tones, w.harmony_chord_tone, 0.0)
        if phase == "item" and len(add):  # a further note at this position: which one, not whether to add one
            add -= add.max()
        b[is_pitch] = add
        return b
