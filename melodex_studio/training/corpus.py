"""Real melody and harmony from licence-clear music21 corpus collections, extracted once and cached as JSON.

Sources (no download; they ship with music21): Bach chorales (``bach/...``), O'Neill's 1850 collection
(``oneills1850/...``) and Ryan's Mammoth Collection (``ryansMammoth/...``). The Essen folksongs
(non-commercial only) and every other collection are never read.

Each source item becomes a plain dict (the cache record), all times in ticks at ``PPQ`` = 480:

``{"id", "path", "number", "collection", "title", "licence", "meter": [n, d], "key": [tonic_pc, mode],
"scale": [7 pitch classes], "pickup_ticks", "length_bars", "melody": [[start, pitch, dur], ...],
"chords": [[start, dur, root_pc, quality], ...], "sections": [[label, start_bar, bars], ...],
"voices": {"alto"|"tenor"|"bass": [[start, pitch, dur], ...]}, "group": split-group key}``

Tick 0 is the first full bar's downbeat; pickup notes have negative starts (>= -pickup_ticks).
Chorale chords come from ``chordify()`` per beat (``root()``/``quality``), with a template-matching
fallback when a beat holds passing tones; tune chords come from :func:`harmonise`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Callable, Iterable

from ..song.timing import PPQ, ticks_per_bar

# Exact wording of music21's corpus/license.txt (the music21 corpus licence statement), abridged to its
# operative sentences; the collections below carry no per-directory licence file of their own.
MUSIC21_CORPUS_LICENCE = (
    "music21 corpus (corpus/license.txt): 'The BSD licensed music21 software is distributed with a corpus of "
    "encoded compositions which are distributed with the permission of the encoders (and, where needed, the "
    "composers or arrangers) and where permitted under United States copyright law.' 'To the best of our "
    "knowledge, the each piece of music in the corpus is either out of copyright in the United States or is "
    "licensed for use, though there may be restrictions on commercial use.'"
)
LICENCES = {
    "bach": "Public-domain composition (J. S. Bach, d. 1750); encoding shipped with music21. " + MUSIC21_CORPUS_LICENCE,
    "oneills1850": "Public-domain tune collection (F. O'Neill, 1850/1903); ABC transcription by Norbert Paap et al., "
    "shipped with music21. " + MUSIC21_CORPUS_LICENCE,
    "ryansMammoth": "Public-domain tune collection (Ryan's Mammoth Collection, 1883); ABC transcription shipped "
    "with music21. " + MUSIC21_CORPUS_LICENCE,
}
ALLOWED_COLLECTIONS = tuple(LICENCES)
CACHE_VERSION = 1

# Chord qualities used on the chord track, as intervals above the root.
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8), "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "hdim7": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
    "sus4": (0, 5, 7), "sus2": (0, 2, 7),
}
MODE_SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "ionian": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10), "dorian": (0, 2, 3, 5, 7, 9, 10), "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11), "phrygian": (0, 1, 3, 5, 7, 8, 10), "locrian": (0, 1, 3, 5, 6, 8, 10),
}
SUPPORTED_METERS = {(2, 4), (3, 4), (4, 4), (2, 2), (6, 8), (9, 8), (12, 8), (3, 8)}
# Longest source kept, in bars after repeat expansion: music21's expandRepeats occasionally misreads an ABC
# repeat structure and loops (a 32-bar tune became 9,286 bars), so longer items are dropped (13 of 961).
MAX_BARS = 96


# --- source enumeration (no parsing) ------------------------------------------------------------------
def _corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def list_sources(tunes_per_collection: int | None = 300) -> list[tuple[str, int | None]]:
    """Deterministic list of ``(corpus path, tune number or None)``: every Bach chorale, then an evenly
    spaced subset of ``tunes_per_collection`` tunes from each fiddle collection (``None`` = all),
    interleaved (chorale, O'Neill, Ryan, chorale, ...) so that any prefix mixes the three collections.
    Tune numbers are read from the ABC ``X:`` lines, so no file is parsed here."""
    from music21 import corpus

    chorales = [(str(p), None) for p in corpus.chorales.Iterator(returnType="filename")]
    root = _corpus_dir()
    per: list[list[tuple[str, int | None]]] = [chorales]
    for coll in ("oneills1850", "ryansMammoth"):
        tunes: list[tuple[str, int | None]] = []
        for f in sorted((root / coll).glob("*.abc")):
            text = f.read_text(encoding="latin-1")
            for x in re.findall(r"^X:\s*(\d+)", text, re.M):
                tunes.append((f"{coll}/{f.name}", int(x)))
        if tunes_per_collection is not None and len(tunes) > tunes_per_collection:
            step = len(tunes) / tunes_per_collection
            tunes = [tunes[int(i * step)] for i in range(tunes_per_collection)]
        per.append(tunes)
    out: list[tuple[str, int | None]] = []
    for i in range(max(len(p) for p in per)):
        out.extend(p[i] for p in per if i < len(p))
    return out


def source_id(path: str, number: int | None) -> str:
    """Stable id of one source item: ``'bach/bwv269'`` or ``'oneills1850/0001-0050.abc#3'``."""
    return path if number is None else f"{path}#{number}"


# --- harmonisation -------------------------------------------------------------------------------------
def fit_chord(weights: list[float], candidates: Iterable[tuple[int, str]]) -> tuple[int, str, float]:
    """Best (root, quality, score) for 12 pitch-class weights among ``candidates`` (template matching:
    chord tones count +1 (root +1.2), other weighted pitch classes -0.6)."""
    best = (0, "maj", -1e9)
    for root, q in candidates:
        tones = {(root + i) % 12 for i in CHORD_QUALITIES[q]}
        s = sum(w * ((1.2 if pc == root else 1.0) if pc in tones else -0.6) for pc, w in enumerate(weights))
        if s > best[2]:
            best = (root, q, s)
    return best


def diatonic_triads(tonic: int, scale: tuple[int, ...]) -> list[tuple[int, str, float, int]]:
    """Triads on each degree of ``scale`` (relative intervals) as (root_pc, quality, prior, degree);
    priors favour I, V, IV, vi, ii (in that order); minor modes also get a major V."""
    priors = [1.0, 0.45, 0.15, 0.75, 0.9, 0.55, 0.1]
    out = []
    for d in range(7):
        r, t, f = scale[d], scale[(d + 2) % 7], scale[(d + 4) % 7]
        third, fifth = (t - r) % 12, (f - r) % 12
        q = {(4, 7): "maj", (3, 7): "min", (3, 6): "dim", (4, 8): "aug"}.get((third, fifth), "maj")
        out.append(((tonic + r) % 12, q, priors[d], d))
    if scale[2] == 3 and scale[4] == 7:  # minor-ish: harmonic-minor dominant
        out.append(((tonic + 7) % 12, "maj", 0.8, 4))
    return out


def harmonise(melody: list[list[int]], meter: tuple[int, int], tonic: int, scale: tuple[int, ...],
              length_bars: int, phrase_end_bars: Iterable[int]) -> list[list]:
    """Chords for a chordless tune: per half bar (4/4, 12/8, 2/2) or per bar (other meters), the diatonic
    triad maximising the weighted overlap with the melody notes sounding in that window (downbeat onsets
    x2, beat onsets x1.5, others x1; weight = overlap ticks / beat) plus a prior per degree, with a bonus
    for I on the last window of each phrase and for V on the window before it. Consecutive equal chords
    are merged. Returns ``[[start_tick, duration_ticks, root_pc, quality], ...]``."""
    bar = ticks_per_bar(*meter)
    n, d = meter
    windows_per_bar = 2 if (n, d) in {(4, 4), (12, 8), (2, 2)} else 1
    win = bar // windows_per_bar
    beat = PPQ * 3 // 2 if d == 8 and n % 3 == 0 else PPQ * 4 // d
    cands = diatonic_triads(tonic, scale)
    ends = {b * windows_per_bar - 1 for b in phrase_end_bars} | {length_bars * windows_per_bar - 1}
    chords: list[list] = []
    prev = None
    for w in range(length_bars * windows_per_bar):
        lo, hi = w * win, (w + 1) * win
        weights = [0.0] * 12
        for s, p, du in melody:
            ov = min(hi, s + du) - max(lo, s)
            if ov <= 0:
                continue
            pos = (max(s, lo)) % bar
            mw = 2.0 if pos == 0 and s >= lo else 1.5 if pos % beat == 0 and s >= lo else 1.0
            weights[p % 12] += mw * ov / beat
        best, best_s = None, -1e9
        for root, q, prior, deg in cands:
            tones = {(root + i) % 12 for i in CHORD_QUALITIES[q]}
            s = sum(wt * ((1.2 if pc == root else 1.0) if pc in tones else -0.6) for pc, wt in enumerate(weights))
            s += 1.5 * prior
            if w in ends:
                s += 3.0 if deg == 0 else 0.0
            elif w + 1 in ends:
                s += 1.5 if deg == 4 else 0.0
            if prev is not None and (root, q) == prev:
                s += 0.3
            if s > best_s:
                best, best_s = (root, q), s
        assert best is not None
        if chords and (chords[-1][2], chords[-1][3]) == best:
            chords[-1][1] += win
        else:
            chords.append([lo, win, best[0], best[1]])
        prev = best
    return chords


def label_sections(melody: list[list[int]], boundaries: list[int], bar: int) -> list[list]:
    """Sections ``[[label, start_bar, bars], ...]`` from bar boundaries; a section whose melody (pitch
    per 16th step) matches an earlier one on >= 75 % of steps gets the earlier label, else a new letter."""
    def grid(a: int, b: int) -> list[int]:
        g = [-1] * ((b - a) * bar // 120)
        for s, p, du in melody:
            for k in range(max(s, a * bar), min(s + du, b * bar), 120):
                g[(k - a * bar) // 120] = p
        return g

    out: list[list] = []
    grids: list[tuple[str, list[int]]] = []
    for a, b in zip(boundaries, boundaries[1:]):
        g = grid(a, b)
        label = None
        for lab, og in grids:
            if len(og) == len(g) and g and sum(x == y for x, y in zip(g, og)) >= 0.75 * len(g):
                label = lab
                break
        if label is None:
            label = chr(ord("A") + min(len({lab for lab, _ in grids}), 25))
        grids.append((label, g))
        out.append([label, a, b - a])
    return out


# --- extraction ------------------------------------------------------------------------------------------
def _key_info(score) -> tuple[int, str, tuple[int, ...]]:
    from music21 import key

    ks = score.flatten().getElementsByClass(key.KeySignature)
    k = ks[0] if ks and isinstance(ks[0], key.Key) else score.analyze("key")
    mode = k.mode if k.mode in MODE_SCALES else "major"
    return k.tonic.pitchClass, mode, MODE_SCALES[mode]


def _notes(part, origin_q: float) -> list[list[int]]:
    """Monophonic line (highest pitch of any chord), ticks relative to ``origin_q`` (quarter lengths)."""
    out = []
    for n in part.stripTies().flatten().notes:
        dur = round(float(n.quarterLength) * PPQ)
        if dur <= 0:
            continue  # grace notes
        p = max(x.midi for x in n.pitches)
        out.append([round((float(n.offset) - origin_q) * PPQ), p, dur])
    out.sort()
    return out


def _pickup_q(part, bar_q: float) -> float:
    ms = part.getElementsByClass("Measure")
    if ms and float(ms[0].duration.quarterLength) < bar_q - 1e-6:
        return float(ms[0].duration.quarterLength)
    return 0.0


def _chorale_chords(score, origin_q: float, beat_q: float, total_q: float) -> list[list]:
    """Per-beat chords from ``chordify()``: ``root()``/``quality`` of the vertical at each beat when it is
    a recognised triad or seventh chord, else template matching of the beat's duration-weighted pitch
    classes. Equal neighbours are merged."""
    ch = score.chordify().flatten().getElementsByClass("Chord")
    slices = [(float(c.offset), float(c.offset + c.quarterLength), c) for c in ch]
    qmap = {"major": "maj", "minor": "min", "diminished": "dim", "augmented": "aug"}
    cands = [(r, q) for r in range(12) for q in ("maj", "min", "dim", "7", "min7", "hdim7", "dim7")]
    out: list[list] = []
    t = origin_q
    i = 0
    while t < total_q - 1e-6:
        lo, hi = t, min(t + beat_q, total_q)
        weights = [0.0] * 12
        head = None
        while i < len(slices) and slices[i][1] <= lo + 1e-9:
            i += 1
        for s, e, c in slices[i:]:
            if s >= hi:
                break
            ov = min(hi, e) - max(lo, s)
            if ov > 0:
                for p in c.pitches:
                    weights[p.pitchClass] += ov
                if head is None and s <= lo + 1e-9:
                    head = c
        label = None
        if head is not None and len(head.pitches) >= 3:
            if head.isDominantSeventh():
                label = (head.root().pitchClass, "7")
            elif head.isDiminishedSeventh():
                label = (head.root().pitchClass, "dim7")
            elif head.isHalfDiminishedSeventh():
                label = (head.root().pitchClass, "hdim7")
            elif head.isTriad() and head.quality in qmap:
                label = (head.root().pitchClass, qmap[head.quality])
        if label is None and any(weights):
            r, q, _ = fit_chord(weights, cands)
            label = (r, q)
        if label is not None:
            st, du = round((lo - origin_q) * PPQ), round((hi - lo) * PPQ)
            if out and (out[-1][2], out[-1][3]) == label and out[-1][0] + out[-1][1] == st:
                out[-1][1] += du
            else:
                out.append([st, du, label[0], label[1]])
        t += beat_q
    return out


def extract(path: str, number: int | None) -> dict | None:
    """Parse one corpus item with music21 and return its cache record (see module docstring), or ``None``
    when it cannot be used (meter change, unsupported meter, too short, parse failure)."""
    from music21 import corpus, expressions

    coll = path.split("/")[0]
    if coll not in ALLOWED_COLLECTIONS:
        raise ValueError(f"{path}: collection {coll!r} is not on the licence allow-list")
    score = corpus.parse(path, number=number) if number is not None else corpus.parse(path)
    # music21's ABC reader turns the 'L:' unit-length header into a bogus 1/N time signature: skip those
    tss = {ts.ratioString for ts in score.flatten().getElementsByClass("TimeSignature") if ts.numerator > 1}
    if len(tss) != 1:
        return None
    n, d = (int(x) for x in tss.pop().split("/"))
    if (n, d) not in SUPPORTED_METERS:
        return None
    if (n, d) == (2, 2):
        n, d = 4, 4  # cut time: same bar length, written as 4/4
    bar = ticks_per_bar(n, d)
    bar_q = bar / PPQ
    tonic, mode, scale = _key_info(score)
    try:
        expanded = score.expandRepeats()
    except Exception:  # noqa: BLE001 - music21 raises several types on odd repeat marks
        expanded = score
    parts = list(expanded.parts) or [expanded]
    pickup_q = _pickup_q(parts[0], bar_q)
    melody = _notes(parts[0], pickup_q)
    if len(melody) < 8:
        return None
    end = max(s + du for s, _, du in melody)
    length_bars = -(-end // bar)
    if length_bars > MAX_BARS:
        return None
    rec = {
        "id": source_id(path, number), "path": path, "number": number, "collection": coll,
        "title": str(score.metadata.title or "") if score.metadata else "", "licence": LICENCES[coll],
        "meter": [n, d], "key": [tonic, mode], "scale": list(scale), "pickup_ticks": round(pickup_q * PPQ),
        "length_bars": length_bars, "melody": melody, "voices": {},
    }
    if coll == "bach":
        fermata_bars = sorted({-(-(s + du) // bar) for s, du, nn in
                               ((round((float(x.offset) - pickup_q) * PPQ), round(float(x.quarterLength) * PPQ), x)
                                for x in parts[0].stripTies().flatten().notes)
                               if any(isinstance(e, expressions.Fermata) for e in nn.expressions)})
        bounds = [0]
        for b in fermata_bars + [length_bars]:
            if b - bounds[-1] >= 4 and length_bars - b >= 3:
                bounds.append(b)
        if bounds[-1] != length_bars:
            bounds.append(length_bars)
        rec["sections"] = label_sections(melody, bounds, bar)
        beat_q = 1.5 if d == 8 else 4 / d
        rec["chords"] = _chorale_chords(expanded, pickup_q, beat_q, pickup_q + length_bars * bar_q)
        for name, part in zip(("alto", "tenor", "bass"), parts[1:4]):
            rec["voices"][name] = _notes(part, pickup_q)
        intervals = [b[1] - a[1] for a, b in zip(melody, melody[1:16])]
        rec["group"] = "chorale-melody:" + hashlib.sha1(json.dumps(intervals).encode()).hexdigest()[:12]
    else:
        phrase = 8 if length_bars >= 16 else 4
        bounds = list(range(0, length_bars, phrase)) + [length_bars]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] < 3:
            bounds.pop(-2)
        rec["sections"] = label_sections(melody, bounds, bar)
        rec["chords"] = harmonise(melody, (n, d), tonic, scale, length_bars, bounds[1:])
        rec["group"] = rec["id"]
    return rec


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("melodex-studio"))


def load_corpus(sources: list[tuple[str, int | None]], cache_dir: str | os.PathLike | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """Records for ``sources`` (skipping unusable items), parsing only those missing from the JSON cache
    ``<cache_dir>/corpus_v{CACHE_VERSION}.json`` and saving it back atomically. ``progress(stage, i, n)``."""
    cdir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    cfile = cdir / f"corpus_v{CACHE_VERSION}.json"
    cache: dict[str, dict | None] = {}
    if cfile.exists():
        try:
            data = json.loads(cfile.read_text())
            if data.get("version") == CACHE_VERSION:
                cache = data["items"]
        except (OSError, ValueError, KeyError):
            cache = {}
    missing = [(p, x) for p, x in sources if source_id(p, x) not in cache]
    t0 = time.perf_counter()

    def save() -> None:  # atomic; also every 100 items so an interrupted build keeps its work
        tmp = cfile.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": CACHE_VERSION, "items": cache,
                                   "last_parse_seconds": round(time.perf_counter() - t0, 1)}, separators=(",", ":")))
        os.replace(tmp, cfile)

    for i, (p, x) in enumerate(missing):
        try:
            cache[source_id(p, x)] = extract(p, x)
        except Exception:  # noqa: BLE001 - a broken encoding must not stop the build
            cache[source_id(p, x)] = None
        if progress:
            progress("parse", i + 1, len(missing))
        if (i + 1) % 100 == 0:
            save()
    if missing:
        save()
    recs = [cache[source_id(p, x)] for p, x in sources if cache.get(source_id(p, x))]
    return [r for r in recs if r["length_bars"] <= MAX_BARS]
