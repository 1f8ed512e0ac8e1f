"""Genre style templates (JSON data under ``resources/styles/``) and the arranger that turns one corpus record
(melody + chords + sections, see ``training.corpus``) into a multi-track ``Song`` plus its plan dict.

Template files: ``grooves.json`` (drum patterns and fills per groove family), ``bass.json`` and ``comp.json``
(rhythm + chord-degree step strings), ``genres.json`` (per genre: grooves, bass/comp styles, pad and
counter-melody probabilities, voicing, extensions, moods, instrument names). Tempo ranges, default grooves
and the drums default come from ``prompt.vocabulary.GENRES``; GM programs from ``prompt.vocabulary.INSTRUMENTS``.

All times are ticks at ``PPQ`` = 480. The arrangement is generated in the source's own key and then every
pitched note is moved by ``transpose`` semitones, so a transposition moves all pitched notes by the same
interval (drums are untouched). Randomness comes only from ``random.Random(seed)``.
"""
from __future__ import annotations

import bisect
import functools
import json
import random
from importlib import resources
from typing import Any

from ..prompt.plan import InstrumentPlan, SectionPlan, StylePlan
from ..prompt.vocabulary import GENRES, INSTRUMENTS
from ..song.model import Chord, Key, Note, Section, Song, Track
from ..song.timing import MeterMap, TempoMap, ticks_per_bar
from .corpus import CHORD_QUALITIES

DRUM_NOTES = {
    "kick": 36, "snare": 38, "rim": 37, "clap": 39, "hat": 42, "pedal_hat": 44, "ohat": 46, "ride": 51,
    "crash": 49, "tom_h": 50, "tom_m": 47, "tom_l": 45, "shaker": 70, "tamb": 54, "cowbell": 56,
    "conga_h": 62, "conga_l": 64, "clave": 75,
}
DRUM_VELOCITY = {"X": 118, "x": 96, "o": 72, "g": 42}
SONG_LABELS = ["verse", "chorus", "bridge", "interlude", "solo", "breakdown"]
TUNE_LABELS = ["A", "B", "bridge", "interlude", "theme", "break"]
LABEL_ENERGY = {"intro": 0.3, "outro": 0.3, "verse": 0.5, "chorus": 0.75, "bridge": 0.6, "interlude": 0.45,
                "solo": 0.7, "breakdown": 0.35, "A": 0.5, "B": 0.65, "theme": 0.55, "break": 0.4}
BASS_RANGE = (33, 44)  # source-key register of the bass root (A1..G#2); every bass note is folded into
# [30, 52] before the -5..+6 transposition, so the result stays in [25, 58]


@functools.lru_cache(maxsize=1)
def templates() -> dict[str, dict]:
    """The four template tables, loaded once from ``melodex_studio/resources/styles``."""
    root = resources.files("melodex_studio").joinpath("resources", "styles")
    out = {}
    for name in ("grooves", "bass", "comp", "genres"):
        d = json.loads(root.joinpath(f"{name}.json").read_text())
        d.pop("_doc", None)
        out[name] = d
    return out


def meter_class(n: int, d: int) -> str:
    """'4' (2/4, 4/4), '3' (3/4), '6/8' (3/8, 6/8, 12/8) or '9/8': the key patterns are filed under."""
    if d == 8 and n % 3 == 0:
        return "9/8" if n == 9 else "6/8"
    return "3" if n == 3 else "4"


def _fits(p: dict, mc: str, bar: int) -> bool:
    if p["meter"] != mc:
        return False
    strings = [p["steps"]] if "steps" in p else [v for k, v in p.items() if k in DRUM_NOTES]
    return all((len(s) * p["grid"]) % bar == 0 or bar % (len(s) * p["grid"]) == 0 for s in strings)


def compatible(patterns: list[dict], meter: tuple[int, int]) -> list[dict]:
    mc, bar = meter_class(*meter), ticks_per_bar(*meter)
    return [p for p in patterns if _fits(p, mc, bar)]


@functools.lru_cache(maxsize=None)
def eligible(genre: str, meter: tuple[int, int]) -> dict[str, list[str]]:
    """Groove families, bass styles and comp styles of ``genre`` usable in ``meter`` ({} if none)."""
    t = templates()
    g = t["genres"][genre]
    grooves = [f for f in g["grooves"] if f == "none" or compatible(t["grooves"][f]["patterns"], meter)]
    bass = [s for s in g["bass"] if compatible(t["bass"][s], meter)]
    comp = [s for s in g["comp"] if compatible(t["comp"][s], meter)]
    return {"grooves": grooves, "bass": bass, "comp": comp} if grooves and bass and comp else {}


def _pick_by_energy(rng: random.Random, patterns: list[dict], energy: float) -> dict:
    ranked = sorted(patterns, key=lambda p: abs(p.get("energy", 0.5) - energy) + rng.random() * 0.25)
    return ranked[0]


def _chord_at(chords: list[list], tick: int) -> list | None:
    """The chord sounding at ``tick`` (chords sorted and contiguous), or None past the end."""
    i = bisect.bisect_right(chords, tick, key=lambda c: c[0]) - 1
    return chords[i] if i >= 0 and chords[i][0] <= tick < chords[i][0] + chords[i][1] else None


def _voicing(root: int, quality: str, kind: str, center: int, prev: list[int] | None, rng: random.Random) -> list[int]:
    """MIDI pitches of one chord. close: stacked chord tones, the inversion nearest the previous voicing
    (30 % a random one); spread: root low, fifth, third an octave up; power: root-fifth-octave; shell:
    root, third, seventh."""
    ivs = CHORD_QUALITIES.get(quality, (0, 4, 7))
    base = center - 12 + (root - (center - 12)) % 12
    if kind == "power":
        r = 40 + (root - 40) % 12
        return [r, r + 7, r + 12]
    if kind == "spread":
        r = 43 + (root - 43) % 12
        return sorted({r, r + ivs[2 % len(ivs)], r + 12 + ivs[1]} | ({r + 12 + ivs[3]} if len(ivs) > 3 else set()))
    if kind == "shell":
        r = 45 + (root - 45) % 12
        seventh = ivs[3] if len(ivs) > 3 else (11 if quality == "maj" else 10)
        return [r, r + ivs[1] + 12, r + seventh]
    options = []
    for inv in range(len(ivs)):
        notes = [base + ivs[(inv + k) % len(ivs)] + (12 if inv + k >= len(ivs) else 0) for k in range(len(ivs))]
        while notes[0] < center - 7:
            notes = [x + 12 for x in notes]
        options.append(notes)
    if prev and rng.random() > 0.3:
        mean = sum(prev) / len(prev)
        return min(options, key=lambda o: abs(sum(o) / len(o) - mean))
    return rng.choice(options)


def _steps(string: str, grid: int, lo: int, hi: int, origin: int):
    """(tick, char, hold_steps) of each event of a step string repeated from ``origin`` over [lo, hi)."""
    length = len(string) * grid
    k0 = (lo - origin) // length
    t = origin + k0 * length
    while t < hi:
        for i, ch in enumerate(string):
            tick = t + i * grid
            if ch in ".-" or not (lo <= tick < hi):
                continue
            hold = 1
            while i + hold < len(string) and string[i + hold] == "-":
                hold += 1
            yield tick, ch, hold
        t += length


def _bass_pitch(ch: str, chord: list, nxt: list | None, prev_pitch: int | None, scale_pcs: list[int]) -> int:
    root, q = chord[2], chord[3]
    r = BASS_RANGE[0] + (root - BASS_RANGE[0]) % 12
    ivs = CHORD_QUALITIES.get(q, (0, 4, 7))
    if ch == "5":
        return r + 7
    if ch == "8":
        return r + 12
    if ch == "3":
        return r + ivs[1]
    if ch == "7":
        return r + (ivs[3] if len(ivs) > 3 else 10)
    if ch == "L":  # fifth below, unless that leaves the register (then the fifth above)
        return r - 5 if r - 5 >= BASS_RANGE[0] - 2 else r + 7
    if ch in "AW" and nxt is not None:
        target = BASS_RANGE[0] + (nxt[2] - BASS_RANGE[0]) % 12
        if ch == "A":
            return target - 1 if (prev_pitch or r) < target else target + 1
        below = [p for p in range(target - 4, target) if p % 12 in scale_pcs]
        return below[-1] if below else target - 2
    return r


def _add(notes: list[Note], start: int, pitch: int, dur: int, vel: int) -> None:
    notes.append(Note(int(start), int(min(max(pitch, 0), 127)), int(max(dur, 1)), int(min(max(vel, 1), 127))))


def arrange(rec: dict, genre: str, transpose: int, seed: int) -> tuple[Song, dict, dict]:
    """Arrange one corpus record in ``genre``, moved by ``transpose`` semitones (-5..+6). Returns
    ``(song, plan_dict, info)``; ``info`` names the template choices (groove, bass, comp, voicing)."""
    rng = random.Random(seed)
    t = templates()
    gt, vg = t["genres"][genre], GENRES[genre]
    meter = (int(rec["meter"][0]), int(rec["meter"][1]))
    bar = ticks_per_bar(*meter)
    el = {k: list(v) for k, v in eligible(genre, meter).items()}
    if not el:
        raise ValueError(f"genre {genre!r} has no template for {meter[0]}/{meter[1]}")
    beat = 720 if meter[1] == 8 and meter[0] % 3 == 0 else 1920 // meter[1]
    drum_grooves = [g for g in el["grooves"] if g != "none"]
    drums_on = bool(drum_grooves) and rng.random() < (0.9 if vg.drums else 0.2)
    groove = (drum_grooves[0] if drum_grooves[0] == vg.groove and rng.random() < 0.6 else rng.choice(drum_grooves)) \
        if drums_on else "none"
    bass_style, comp_style = rng.choice(el["bass"]), rng.choice(el["comp"])
    voicing = gt["voicing"] if rng.random() < 0.75 else rng.choice(["close", "spread"])
    use_ext = rng.random() < gt["ext"]
    lo, hi = vg.tempo_bpm
    tempo = float(round(lo + (hi - lo) * rng.random()))
    tonic, src_mode = rec["key"]
    mode = "minor" if src_mode in ("minor", "aeolian", "dorian", "phrygian", "locrian") else "major"
    mood = rng.choice(gt["moods"][1 if mode == "minor" else 0])
    scale_pcs = [(tonic + s) % 12 for s in rec["scale"]]

    # --- form -----------------------------------------------------------------------------------
    intro = rng.choice([1, 2, 2, 4]) if rec["pickup_ticks"] <= bar else 2
    outro = rng.choice([1, 2, 2, 4])
    names = SONG_LABELS if gt["form"] == "song" else TUNE_LABELS
    letters: dict[str, str] = {}
    secs = [("intro", 0, intro)]
    for lab, sb, nb in rec["sections"]:
        letters.setdefault(lab, names[min(len(letters), len(names) - 1)])
        secs.append((letters[lab], intro + sb, nb))
    secs.append(("outro", intro + rec["length_bars"], outro))
    total = intro + rec["length_bars"] + outro
    bias, build = gt["energy"], rng.uniform(0.0, 0.15)
    energies = [round(min(1.0, max(0.05, LABEL_ENERGY.get(lab, 0.5) + bias + build * i / len(secs)
                                   + rng.uniform(-0.08, 0.08))), 2) for i, (lab, _, _) in enumerate(secs)]

    # --- chords and melody (source key) ---------------------------------------------------------
    shift = intro * bar
    chords = [[c[0] + shift, c[1], c[2], c[3]] for c in rec["chords"] if c[0] + c[1] > 0]
    head = [[c[0], min(c[1], shift - c[0]), c[2], c[3]] for c in rec["chords"] if 0 <= c[0] < shift]
    chords = head + chords if head else [[0, shift, tonic, "maj" if mode == "major" else "min"]] + chords
    end_src = shift + rec["length_bars"] * bar
    chords = [c for c in chords if c[0] < end_src]
    chords[0][0] = 0
    for c, nxt in zip(chords, chords[1:]):  # contiguous: a chord lasts until the next one (no gaps)
        c[1] = nxt[0] - c[0]
    chords[-1][1] = end_src - chords[-1][0]
    chords.append([end_src, outro * bar, tonic, "maj" if mode == "major" else "min"])
    if use_ext:
        for c in chords:
            deg = (c[2] - tonic) % 12
            c[3] = {"maj": "7" if deg == 7 else "maj7", "min": "min7", "dim": "hdim7"}.get(c[3], c[3])
    melody = [[s + shift, p, d] for s, p, d in rec["melody"] if s + shift >= 0]

    # --- instruments ----------------------------------------------------------------------------
    ins = gt["instruments"]

    def pick(role: str) -> str:
        return ins[role][0] if rng.random() < 0.5 else rng.choice(ins[role])

    roles = {"melody": pick("melody"), "chords": pick("chords"), "bass": pick("bass")}
    if rng.random() < gt["pad"]:
        roles["pad"] = pick("pad")
    if rng.random() < gt["counter"] or (rec["voices"].get("alto") and rng.random() < 0.5 * (genre == "classical") + gt["counter"]):
        roles["counter"] = pick("counter")
    tracks = {r: Track(name=n, role=r, program=INSTRUMENTS[n].program) for r, n in roles.items()}
    if drums_on:
        tracks["drums"] = Track(name="drums", role="drums", program=rng.choice(gt["kits"]), is_drum=True)

    def sec_of(tick: int) -> int:
        b = tick // bar
        for i, (_, sb, nb) in enumerate(secs):
            if sb <= b < sb + nb:
                return i
        return len(secs) - 1

    # melody: velocity from metric position and section energy
    for s, p, d in melody:
        e = energies[sec_of(s)]
        accent = 10 if s % bar == 0 else 5 if s % beat == 0 else 0
        _add(tracks["melody"].notes, s, p, d, round(72 + 25 * e + accent + rng.uniform(-5, 5)))

    plays: list[dict[str, bool]] = []
    for i, (lab, sb, nb) in enumerate(secs):
        e = energies[i]
        edge = lab in ("intro", "outro")
        plays.append({
            "bass": not (edge and rng.random() < 0.3), "chords": not (e < 0.4 and "pad" in tracks and rng.random() < 0.3),
            "pad": "pad" in tracks and (e < 0.55 or rng.random() < 0.6), "counter": "counter" in tracks and not edge
            and rng.random() < 0.6, "drums": drums_on and not (edge and e < 0.4 and rng.random() < 0.6),
        })

    # bass and comping per section
    prev_voicing: list[int] | None = None
    bass_pats, comp_pats = compatible(t["bass"][bass_style], meter), compatible(t["comp"][comp_style], meter)
    comp_center = rng.choice([60, 62, 64, 65])
    for i, (lab, sb, nb) in enumerate(secs):
        a, b = sb * bar, (sb + nb) * bar
        if plays[i]["bass"]:
            pat = _pick_by_energy(rng, bass_pats, energies[i])
            events = list(_steps(pat["steps"], pat["grid"], a, b, a))
            prev_pitch = None
            for k, (tick, ch, hold) in enumerate(events):
                c = _chord_at(chords, tick)
                if c is None:
                    continue
                nxt_tick = events[k + 1][0] if k + 1 < len(events) else b
                nxt = _chord_at(chords, nxt_tick) if nxt_tick < b else c
                if tick == c[0] and ch in "AW":
                    ch = "R"  # a chord change lands on its root, not on a passing note
                pitch = _bass_pitch(ch, c, nxt, prev_pitch, scale_pcs)
                while pitch > BASS_RANGE[1] + 8:
                    pitch -= 12
                while pitch < BASS_RANGE[0] - 3:
                    pitch += 12
                dur = min(hold * pat["grid"], nxt_tick - tick, b - tick)
                dur = max(dur - (0 if hold > 1 else pat["grid"] // 6), 1)
                vel = round(78 + 22 * energies[i] + (8 if tick % bar == 0 else 0) + rng.uniform(-6, 6))
                _add(tracks["bass"].notes, tick, pitch, dur, vel)
                prev_pitch = pitch
        if plays[i]["chords"]:
            pat = _pick_by_energy(rng, comp_pats, energies[i])
            arp_i, last_chord = 0, None
            for tick, ch, hold in _steps(pat["steps"], pat["grid"], a, b, a):
                c = _chord_at(chords, tick)
                if c is None:
                    continue
                if c is not last_chord:
                    prev_voicing = _voicing(c[2], c[3], voicing, comp_center, prev_voicing, rng)
                    if rng.random() < 0.15 and len(prev_voicing) > 3:
                        prev_voicing = prev_voicing[:-1]  # drop a note
                    arp_i, last_chord = 0, c
                dur = max(min(hold * pat["grid"], c[0] + c[1] - tick, b - tick) - 10, 1)
                vel = round((70 if ch == "x" else 84) + 20 * energies[i] + rng.uniform(-6, 6))
                if ch in "Xx":
                    for p in prev_voicing:
                        _add(tracks["chords"].notes, tick, p, dur, vel - 4)
                else:
                    seq = prev_voicing if ch == "a" else prev_voicing[::-1]
                    _add(tracks["chords"].notes, tick, seq[arp_i % len(seq)] + (12 if ch == "a" and arp_i >= len(seq)
                                                                                 and arp_i % 2 else 0), dur, vel - 8)
                    arp_i += 1
        if plays[i]["pad"]:
            pv = None
            for c in chords:
                s0, s1 = max(c[0], a), min(c[0] + c[1], b)
                if s1 <= s0:
                    continue
                pv = _voicing(c[2], c[3], "spread" if rng.random() < 0.5 else "close", 62, pv, rng)
                for p in pv:
                    _add(tracks["pad"].notes, s0, p + 12 if p < 50 else p, s1 - s0, round(50 + 25 * energies[i]))
        if plays[i]["counter"]:
            alto = rec["voices"].get("alto")
            if alto:
                for s, p, d in alto:
                    if a <= s + shift < b:
                        _add(tracks["counter"].notes, s + shift, p, min(d, b - s - shift), round(60 + 25 * energies[i]))
            else:
                prev = None
                for c in chords:
                    s0, s1 = max(c[0], a), min(c[0] + c[1], b)
                    if s1 <= s0:
                        continue
                    tones = [55 + (c[2] + iv - 55) % 12 for iv in CHORD_QUALITIES.get(c[3], (0, 4, 7))[1:3]]
                    p = min(tones, key=lambda x: abs(x - prev)) if prev else rng.choice(tones)
                    _add(tracks["counter"].notes, s0, p, s1 - s0, round(58 + 25 * energies[i]))
                    prev = p
        if plays[i]["drums"]:
            _drums(tracks["drums"].notes, t["grooves"][groove], meter, a, b, energies[i],
                   last=i == len(secs) - 1, rng=rng)

    # --- transpose and assemble -------------------------------------------------------------------
    song = Song(title=rec.get("title") or rec["id"], tempo_map=TempoMap(bpm=tempo),
                meter_map=MeterMap(numerator=meter[0], denominator=meter[1]),
                key=Key((tonic + transpose) % 12, mode))
    for lab, sb, nb in secs:
        song.sections.append(Section(lab, sb, nb))
    song.chords = [Chord(c[0], c[1], (c[2] + transpose) % 12, c[3]) for c in chords]
    order = ["melody", "counter", "chords", "pad", "bass", "drums"]
    for r in order:
        if r in tracks and tracks[r].notes:
            tr = tracks[r]
            if not tr.is_drum:
                tr.notes = [Note(n.start_tick, n.pitch + transpose, n.duration_ticks, n.velocity) for n in tr.notes]
            tr.notes.sort()
            song.tracks.append(tr)
    form = []
    for i, (lab, sb, nb) in enumerate(secs):
        a, b = sb * bar, (sb + nb) * bar
        names_here = [tr.name for tr in song.tracks if any(a <= n.start_tick < b for n in tr.notes)]
        form.append(SectionPlan(lab, nb, energy=energies[i], instruments=names_here))
    plan = StylePlan(
        tempo_bpm=tempo, meter=meter, key=song.key, form=form,
        instruments=[InstrumentPlan(tr.name, tr.program, tr.role, tr.is_drum) for tr in song.tracks],
        drums="drums" in tracks, genre=genre, mood=mood, energy=energies, drum_groove=groove,
        production=list(vg.production), length_bars=total,
    )
    song.plan = plan.to_dict()
    info = {"genre": genre, "groove": groove, "bass": bass_style, "comp": comp_style, "voicing": voicing,
            "extensions": use_ext}
    return song, song.plan, info


def _drums(out: list[Note], fam: dict, meter: tuple[int, int], a: int, b: int, energy: float, last: bool,
           rng: random.Random) -> None:
    """Drum notes for one section [a, b): the family pattern nearest ``energy``, velocity jitter, added
    ghost snares, thinned hats at low energy, a crash on the first downbeat and a fill in the last bar."""
    bar = ticks_per_bar(*meter)
    pats = compatible(fam["patterns"], meter)
    if not pats:
        return
    pat = _pick_by_energy(rng, pats, energy)
    fills = compatible(fam["fills"], meter) if not last else []
    fill = rng.choice(fills) if fills and rng.random() < 0.7 and b - a >= 2 * bar else None
    fill_len = max(len(v) for k, v in fill.items() if k in DRUM_NOTES) * fill["grid"] if fill else 0
    fill_start = b - min(fill_len, bar) if fill else b
    thin = energy < 0.35 and rng.random() < 0.5
    hits: dict[tuple[int, int], int] = {}
    for voice, string in pat.items():
        if voice not in DRUM_NOTES:
            continue
        for tick, ch, _ in _steps(string, pat["grid"], a, fill_start, a):
            if thin and voice in ("hat", "ride") and (tick - a) % (2 * pat["grid"]) != 0 and pat["grid"] <= 120:
                continue
            hits[(tick, DRUM_NOTES[voice])] = DRUM_VELOCITY.get(ch, 96)
    if fam.get("ghosts") and pat["grid"] == 120:
        for tick in range(a, fill_start, 120):
            if (tick, 38) not in hits and rng.random() < fam["ghosts"] * 0.12 * (0.5 + energy):
                hits[(tick, 38)] = 38
    if fill:
        for voice, string in fill.items():
            if voice in DRUM_NOTES:
                for tick, ch, _ in _steps(string, fill["grid"], fill_start, b, fill_start):
                    hits[(tick, DRUM_NOTES[voice])] = DRUM_VELOCITY.get(ch, 96)
    if fam.get("crash") and energy >= 0.5 and rng.random() < 0.8:
        hits[(a, 49)] = 110
    scale = 0.8 + 0.3 * energy
    for (tick, note), vel in sorted(hits.items()):
        _add(out, tick, note, 60, round(vel * scale + rng.uniform(-8, 8)))
