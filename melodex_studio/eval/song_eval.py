"""`melodex eval songs PROMPTS.jsonl`: generate one song per prompt, read it back and measure what a musician
would check in the piano roll.

Each line of the prompts file is a JSON object: ``{"prompt": "...", "key": "F major", "meter": "12/8",
"bpm": 66, "form": [["A", 8], ...], "instruments": ["piano", ...]}``; every field but ``prompt`` is optional
and, when given, is what the song is checked against (otherwise the parsed plan is: it is what was asked).

Per song: tempo (the song's quarter-note tempo map in the plan's felt beat, every per-section tempo), meter,
key estimated from the notes (Krumhansl-Schmuckler on duration-weighted pitch classes of the pitched tracks)
and whether the last chord's bass is the tonic, form (labels and bars), instruments, chords per bar and
chords shorter than a beat, melody chord tones on strong beats, bass roots on downbeats, polyphony of the
monophonic parts (melody, bass), notes outside the instrument's range (``song.ranges``), backbeat (snare
or clap on 2 and 4 of 4/4 bars in backbeat grooves), and whether the exported MIDI's notes are the
document's notes. The summary gives rates and means over the prompts, and the same melody measures for a
baseline melody of random notes in the requested key on the generated rhythm.
"""
from __future__ import annotations

import bisect
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mido

from ..prompt.parse import parse_prompt
from ..prompt.plan import StylePlan, felt_bpm, is_compound
from ..song.harmony import CHORD_INTERVALS
from ..song.model import Key, Note, Song
from ..song.ranges import instrument_range

# Chord qualities -> intervals above the root (as the structure tokens name them).
CHORD_PCS = CHORD_INTERVALS
# Krumhansl-Kessler key profiles (major, minor), tonic first.
KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
BACKBEAT_GROOVES = ("rock", "funk", "boom_bap", "four_on_floor", "shuffle")  # one drop: snare on 3
SNARES = (37, 38, 39, 40)  # side stick, snare, hand clap, electric snare
MONOPHONIC_ROLES = ("melody", "bass")


# --- measures on a Song --------------------------------------------------------------------------------------
def _corr(a: list[float], b: tuple[float, ...]) -> float:
    ma, mb = sum(a) / 12, sum(b) / 12
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    den = (sum((x - ma) ** 2 for x in a) * sum((y - mb) ** 2 for y in b)) ** 0.5
    return num / den if den else 0.0


def estimate_key(song: Song) -> Key | None:
    """Krumhansl-Schmuckler: the key whose profile correlates best with the duration-weighted pitch classes
    of the pitched tracks (None for a song without pitched notes)."""
    hist = [0.0] * 12
    for t in song.tracks:
        if not t.is_drum:
            for n in t.notes:
                hist[n.pitch % 12] += n.duration_ticks
    if not any(hist):
        return None
    best = max(((_corr(hist[tonic:] + hist[:tonic], prof), tonic, mode) for tonic in range(12)
                for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR))), key=lambda x: x[0])
    return Key(best[1], best[2])


def ends_on_tonic(song: Song, key: Key) -> bool:
    """The lowest pitched note sounding at the last pitched onset is the tonic."""
    notes = [n for t in song.tracks if not t.is_drum for n in t.notes]
    if not notes:
        return False
    last = max(n.start_tick for n in notes)
    sounding = [n for n in notes if n.start_tick <= last < n.end_tick]
    return min(sounding, key=lambda n: n.pitch).pitch % 12 == key.tonic


def beat_ticks(song: Song) -> int:
    m = song.meter_map.meter_at_bar(0)
    unit = song.ppq * 4 // m.denominator
    return unit * 3 if is_compound((m.numerator, m.denominator)) else song.ppq


class _Chords:
    def __init__(self, song: Song):
        self.chords = sorted(song.chords, key=lambda c: c.start_tick)
        self.starts = [c.start_tick for c in self.chords]

    def at(self, tick: int):
        i = bisect.bisect_right(self.starts, tick) - 1
        if i >= 0 and self.chords[i].start_tick + self.chords[i].duration_ticks > tick:
            return self.chords[i]
        return None


def chord_tones_on_strong_beats(song: Song, notes: list[Note]) -> tuple[int, int]:
    """(chord tones, notes) among ``notes`` starting on a strong beat (beat 1 and the bar's middle beat in
    even meters, beat 1 otherwise) while a chord sounds."""
    chords, beat = _Chords(song), beat_ticks(song)
    hit = total = 0
    for n in notes:
        bar, within = song.meter_map.tick_to_bar(n.start_tick)
        bar_len = song.meter_map.meter_at_bar(bar).ticks_per_bar
        beats = max(1, bar_len // beat)
        strong = within == 0 or (beats % 2 == 0 and beats >= 4 and within == bar_len // 2)
        c = chords.at(n.start_tick) if strong else None
        if c is None:
            continue
        total += 1
        hit += int(n.pitch % 12 in {(c.root + x) % 12 for x in CHORD_PCS.get(c.quality, (0, 4, 7))})
    return hit, total


def bass_roots_on_downbeats(song: Song, notes: list[Note]) -> tuple[int, int]:
    """(roots, downbeats): the lowest bass note starting on each bar's first tick vs the chord's root (its
    slash bass when it has one)."""
    chords = _Chords(song)
    lowest: dict[int, int] = {}
    for n in notes:
        _bar, within = song.meter_map.tick_to_bar(n.start_tick)
        if within == 0:
            lowest[n.start_tick] = min(lowest.get(n.start_tick, 128), n.pitch)
    hit = total = 0
    for tick, p in lowest.items():
        c = chords.at(tick)
        if c is None:
            continue
        total += 1
        hit += int(p % 12 == (c.bass if c.bass is not None else c.root))
    return hit, total


def max_polyphony(notes: list[Note]) -> int:
    """Most notes sounding at once."""
    ev = sorted([(n.start_tick, 1) for n in notes] + [(n.end_tick, -1) for n in notes])
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


def backbeat(song: Song) -> tuple[int, int]:
    """(bars with a snare or clap on beats 2 and 4, 4/4 bars with drums)."""
    drums = [n for t in song.tracks if t.is_drum and t.role == "drums" for n in t.notes]
    if not drums:
        return 0, 0
    q = song.ppq
    by_bar: dict[int, set[int]] = {}
    for n in drums:
        bar, within = song.meter_map.tick_to_bar(n.start_tick)
        m = song.meter_map.meter_at_bar(bar)
        if (m.numerator, m.denominator) != (4, 4):
            continue
        s = by_bar.setdefault(bar, set())
        if n.pitch in SNARES and within in (q, 3 * q):
            s.add(within)
    return sum(1 for s in by_bar.values() if len(s) == 2), len(by_bar)


def midi_notes(song: Song) -> list[list[tuple[int, int, int, int]]]:
    """Per track, the (start, pitch, duration, velocity) notes of the song's exported type-1 MIDI file, read
    back with mido."""
    from ..io.midi import song_to_midifile

    buf = io.BytesIO()
    song_to_midifile(song).save(file=buf)
    buf.seek(0)
    mid = mido.MidiFile(file=buf)
    out = []
    for track in mid.tracks[1:]:
        now, on, notes = 0, {}, []
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                on[(msg.channel, msg.note)] = (now, msg.velocity)
            elif msg.type in ("note_off", "note_on") and (msg.channel, msg.note) in on:
                start, vel = on.pop((msg.channel, msg.note))
                notes.append((start, msg.note, now - start, vel))
        out.append(sorted(notes))
    return out


def midi_equals_document(song: Song) -> tuple[bool, int]:
    """(equal, notes that differ): the exported MIDI's notes against the document's, track by track."""
    got = midi_notes(song)
    diff = 0
    for t, notes in zip(song.tracks, got):
        doc = Counter((n.start_tick, n.pitch, n.duration_ticks, n.velocity) for n in t.notes)
        mid = Counter(notes)
        diff += sum(((doc - mid) + (mid - doc)).values())
    return diff == 0 and len(got) == len(song.tracks), diff


def _role_notes(song: Song, role: str) -> list[Note]:
    return [n for t in song.tracks if not t.is_drum and t.role == role for n in t.notes]


def measure_song(song: Song, plan: StylePlan, want: dict[str, Any]) -> dict[str, Any]:
    """Every measure of one generated song against what was requested (``want`` overrides the plan)."""
    m = song.meter_map.meter_at_bar(0)
    meter = f"{m.numerator}/{m.denominator}"
    req_key = Key.parse(want["key"]) if want.get("key") else plan.key
    req_meter = want.get("meter") or f"{plan.meter[0]}/{plan.meter[1]}"
    req_bpm = float(want.get("bpm") or plan.tempo_bpm)
    req_form = [list(x) for x in want["form"]] if want.get("form") else [[s.label, s.bars] for s in plan.form]
    req_ins = list(want["instruments"]) if want.get("instruments") else plan.stated_instruments
    bpm = felt_bpm(song.tempo_map.bpm_at(0), (m.numerator, m.denominator))
    tempi = [(song.meter_map.tick_to_bar(c.tick)[0], round(c.bpm, 3)) for c in song.tempo_map.changes]
    est = estimate_key(song)
    form = [[s.label, s.length_bars] for s in song.sections]
    names = [t.name for t in song.tracks if not t.is_drum]
    suggested = [i.name for i in plan.instruments if not i.stated and not i.is_drum]  # the plan says so
    bars = max(1, song.length_bars)
    beat = beat_ticks(song)
    mel = _role_notes(song, "melody")
    bass = _role_notes(song, "bass")
    ct, ct_n = chord_tones_on_strong_beats(song, mel)
    br, br_n = bass_roots_on_downbeats(song, bass)
    poly = {r: max((max_polyphony(t.notes) for t in song.tracks if t.role == r and not t.is_drum), default=0)
            for r in MONOPHONIC_ROLES}
    oor: dict[str, int] = {}
    for t in song.tracks:
        lo, hi = instrument_range(t.program, t.is_drum)
        k = sum(1 for n in t.notes if not lo <= n.pitch <= hi)
        if k:
            oor[t.name] = oor.get(t.name, 0) + k
    bb, bb_n = backbeat(song) if plan.drum_groove in BACKBEAT_GROOVES else (0, 0)
    equal, diff = midi_equals_document(song)
    n_notes = sum(len(t.notes) for t in song.tracks)
    return {
        "tempo_bpm": round(bpm, 3), "requested_bpm": req_bpm, "tempo_ok": abs(bpm - req_bpm) < 0.01,
        "tempo_map": tempi, "section_tempo_ok": tempi == [(song.meter_map.tick_to_bar(plan.tempo_map().changes[i].tick)[0],
                                                          round(c.bpm, 3)) for i, c in enumerate(plan.tempo_map().changes)],
        "meter": meter, "requested_meter": req_meter, "meter_ok": meter == req_meter,
        "key": est.name if est else None, "requested_key": req_key.name, "key_ok": est == req_key,
        "ends_on_tonic": ends_on_tonic(song, req_key),
        "form": form, "requested_form": req_form, "form_ok": form == req_form,
        "instruments": names, "requested_instruments": req_ins, "suggested_instruments": suggested,
        "instruments_ok": all(i in names for i in req_ins) and (len(req_ins) < 2 or all(
            n in req_ins or n in suggested for n in names)),
        "chords_per_bar": round(len(song.chords) / bars, 3),
        "chords_shorter_than_beat": sum(1 for c in song.chords if c.duration_ticks < beat),
        "melody_chord_tones": round(ct / ct_n, 3) if ct_n else None, "melody_strong_notes": ct_n,
        "bass_roots": round(br / br_n, 3) if br_n else None, "bass_downbeats": br_n,
        "max_polyphony": poly, "monophonic_ok": all(v <= 1 for v in poly.values()),
        "out_of_range": oor, "out_of_range_notes": sum(oor.values()), "notes": n_notes,
        "backbeat": round(bb / bb_n, 3) if bb_n else None,
        "midi_equal": equal, "midi_note_differences": diff,
    }


def random_in_key_melody(song: Song, key: Key, seed: int) -> tuple[int, int]:
    """Baseline: the melody's rhythm with random pitches of the requested key's scale (same octave band);
    (chord tones, strong-beat notes) as ``chord_tones_on_strong_beats`` counts them."""
    rng = random.Random(seed)
    scale = key.scale_pitch_classes()
    mel = _role_notes(song, "melody")
    fake = [Note(n.start_tick, 60 + rng.choice(scale), n.duration_ticks, n.velocity) for n in mel]
    return chord_tones_on_strong_beats(song, fake)


# --- the run ----------------------------------------------------------------------------------------------
def read_prompts(path: str | Path) -> list[dict[str, Any]]:
    """The prompt objects of a JSONL file (blank lines and lines starting with # are skipped)."""
    out = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{i}: not JSON ({e.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), str):
            raise ValueError(f"{path}:{i}: each line must be an object with a \"prompt\" string")  # noqa: TRY004
        out.append(obj)
    return out


def _mean(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(sum(xs) / len(xs), 3) if xs else None


def _rate(xs: list[bool]) -> float | None:
    return round(sum(map(bool, xs)) / len(xs), 3) if xs else None


def summarise(songs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [s for s in songs if "error" not in s]
    return {
        "songs": len(songs), "failed": len(songs) - len(ok),
        **{f"{k}_rate": _rate([s[k] for s in ok]) for k in (
            "tempo_ok", "section_tempo_ok", "meter_ok", "key_ok", "ends_on_tonic", "form_ok", "instruments_ok",
            "monophonic_ok", "midi_equal")},
        "chords_per_bar": _mean([s["chords_per_bar"] for s in ok]),
        "chords_shorter_than_beat": sum(s["chords_shorter_than_beat"] for s in ok),
        "songs_with_suggested_instruments": sum(1 for s in ok if s["suggested_instruments"]),
        "melody_chord_tones": _mean([s["melody_chord_tones"] for s in ok]),
        "melody_chord_tones_random_in_key": _mean([s.get("baseline_melody_chord_tones") for s in ok]),
        "bass_roots": _mean([s["bass_roots"] for s in ok]),
        "backbeat": _mean([s["backbeat"] for s in ok]),
        "max_polyphony_melody": max([s["max_polyphony"]["melody"] for s in ok], default=0),
        "max_polyphony_bass": max([s["max_polyphony"]["bass"] for s in ok], default=0),
        "out_of_range_notes": sum(s["out_of_range_notes"] for s in ok),
        "notes": sum(s["notes"] for s in ok),
        "midi_note_differences": sum(s["midi_note_differences"] for s in ok),
    }


def run_songs(prompts: list[dict[str, Any]], model: str | None = None, seed: int = 0, device: str = "cpu",
              limit: int | None = None, log: Callable[[str], None] | None = None,
              fix_parts: bool = False) -> dict[str, Any]:
    """Generate and measure one song per prompt (seed ``seed + i``); returns {"songs": [...], "summary": {...}}.
    ``fix_parts`` applies ``song.idiom.fit_parts`` (instrument ranges, monophonic melody and bass) to each
    generated song before measuring it: the numbers of that post-generation step."""
    from ..engine.generation import generate_song
    from ..errors import MelodexError

    out = []
    for i, obj in enumerate(prompts[:limit] if limit else prompts):
        t0 = time.perf_counter()
        plan = parse_prompt(obj["prompt"])
        rec: dict[str, Any] = {"prompt": obj["prompt"], "seed": seed + i}
        try:
            song, _ = generate_song(plan, seed=seed + i, device=device, model_path=model, prompt=obj["prompt"])
        except MelodexError as e:
            rec["error"] = str(e)
            out.append(rec)
            continue
        if fix_parts:
            from ..song.idiom import fit_parts

            rec["notes_fitted"] = fit_parts(song)
        rec.update(measure_song(song, plan, obj))
        hit, n = random_in_key_melody(song, Key.parse(rec["requested_key"]), seed + i)
        rec["baseline_melody_chord_tones"] = round(hit / n, 3) if n else None
        rec["seconds"] = round(time.perf_counter() - t0, 2)
        out.append(rec)
        if log:
            log(f"[{i + 1}] {obj['prompt'][:48]!r}: key {rec['key']} (asked {rec['requested_key']}), "
                f"form {'ok' if rec['form_ok'] else 'DIFFERS'}, {rec['seconds']} s")
    return {"songs": out, "summary": summarise(out)}


def format_summary(rep: dict[str, Any]) -> str:
    s = rep["summary"]
    lines = [f"{len(rep['songs'])} songs ({s['failed']} failed)"]
    for k, v in s.items():
        if k not in ("songs", "failed"):
            lines.append(f"  {k:34s} {v}")
    return "\n".join(lines)
