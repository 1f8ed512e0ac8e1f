"""Stated values -> a complete StylePlan: everything the musician did not say is filled in from the
genre, the mood and the length, deterministically.

``Statements`` holds only what the user stated (the parser produces it from text, ``statements_from_plan``
recovers it from a plan). ``build_plan`` is a pure function of it, which is what makes editing a field,
rendering the plan to text and parsing it again give the same plan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..song.model import Key, PITCH_NAMES_FLAT, PITCH_NAMES_SHARP
from . import vocabulary as V
from .plan import InstrumentPlan, SectionPlan, StylePlan, felt_bpm, quarter_bpm


@dataclass
class Statements:
    """What the user stated, field by field (``None`` / empty = not stated). Instrument items are
    ``(kind, name, count)`` with kind 'instrument', 'context' (a genre-dependent word such as "bass")
    or 'ensemble'; ``form_hint`` is a single section ("a 4-bar intro") merged into the default form."""

    tempo_bpm: float | None = None
    tempo_feel: str | None = None
    meter: tuple[int, int] | None = None
    meter_word: tuple[tuple[int, int], str] | None = None
    key: Key | None = None
    form: list[SectionPlan] | None = None
    form_hint: SectionPlan | None = None
    length_bars: int | None = None
    duration_s: float | None = None
    instruments: list[tuple[str, str, int]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    instruments_only: bool = False
    drums: bool | None = None
    genre: str | None = None
    mood: str | None = None
    groove: str | None = None
    energy_level: float | None = None
    energy_shape: str | None = None
    energy_peak: str | None = None
    energy_list: list[float] | None = None
    production: list[str] = field(default_factory=list)
    style_words: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def anything(self) -> bool:
        """True when at least one musical field was stated."""
        return any((self.tempo_bpm, self.tempo_feel, self.meter, self.meter_word, self.key, self.form,
                    self.form_hint, self.length_bars, self.duration_s, self.instruments, self.excluded,
                    self.drums is not None, self.genre, self.mood, self.groove, self.energy_level is not None,
                    self.energy_shape, self.energy_list, self.production))


# --- forms -----------------------------------------------------------------------------------------
_TEMPLATES: dict[str, list[tuple[str, int]]] = {
    "song": [("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("bridge", 8), ("chorus", 8),
             ("outro", 4)],
    "song_short": [("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4)],
    "edm": [("intro", 8), ("build", 8), ("drop", 16), ("breakdown", 8), ("build", 8), ("drop", 16), ("outro", 8)],
    "aaba": [("A", 8), ("A", 8), ("B", 8), ("A", 8)],
    "blues12": [("intro", 4), ("verse", 12), ("verse", 12), ("solo", 12), ("verse", 12), ("outro", 4)],
    "loop": [("intro", 4), ("verse", 16), ("hook", 8), ("verse", 16), ("hook", 8), ("outro", 4)],
    "through": [("A", 8), ("B", 8), ("A", 8), ("C", 8), ("A", 8)],
    "cinematic": [("intro", 8), ("build", 8), ("climax", 16), ("outro", 4)],
    "tune": [("A", 8), ("A", 8), ("B", 8), ("B", 8)],
    "ambient": [("intro", 8), ("A", 16), ("B", 16), ("outro", 8)],
}
_EDGE_LABELS = ("intro", "outro", "coda")
DEFAULT_SECTION_BARS = {"intro": 4, "outro": 4, "coda": 4, "break": 4, "tag": 4, "pre-chorus": 4,
                        "post-chorus": 4, "fill": 2}


def default_bars(label: str) -> int:
    """Bars of a section the user named without a length (intro 4, verse 8...)."""
    return DEFAULT_SECTION_BARS.get(label, 8)


def default_form(template: str, target_bars: int | None = None) -> list[SectionPlan]:
    """Expand a form template (``vocabulary.FORM_TEMPLATES``) to exactly ``target_bars`` bars (or its
    natural length when None): keep intro and outro, cycle the middle sections, give the remainder to
    a last middle section."""
    tpl = _TEMPLATES[template]
    if target_bars is None:
        return [SectionPlan(lbl, n) for lbl, n in tpl]
    target = max(1, int(target_bars))
    head = [s for s in tpl[:1] if s[0] == "intro"]
    tail = [s for s in tpl[-1:] if s[0] in _EDGE_LABELS]
    middle = tpl[len(head): len(tpl) - len(tail)] or tpl
    if sum(n for _, n in head + tail) + middle[0][1] > target:
        head, tail = [], []
        if target < middle[0][1] * 2 and target <= 16:
            return [SectionPlan(middle[0][0], target)]
    out: list[tuple[str, int]] = []
    used = sum(n for _, n in head + tail)
    i = 0
    while used + middle[i % len(middle)][1] <= target:
        out.append(middle[i % len(middle)])
        used += middle[i % len(middle)][1]
        i += 1
    rest = target - used
    if rest >= 4 or not out:
        out.append((middle[i % len(middle)][0], rest))
    elif rest:
        out[-1] = (out[-1][0], out[-1][1] + rest)
    return [SectionPlan(lbl, n) for lbl, n in head + out + tail if n > 0]


def seconds_per_bar(tempo_bpm: float, meter: tuple[int, int]) -> float:
    """Seconds of one bar; tempo in the plan's felt beat (``plan.quarter_bpm``)."""
    return meter[0] * 4.0 / meter[1] * 60.0 / quarter_bpm(tempo_bpm, meter)


# --- energy ----------------------------------------------------------------------------------------
_LABEL_ENERGY = {
    "intro": 0.35, "verse": 0.5, "pre-chorus": 0.62, "chorus": 0.8, "hook": 0.8, "refrain": 0.75,
    "post-chorus": 0.75, "bridge": 0.6, "breakdown": 0.3, "build": 0.65, "drop": 0.95, "climax": 1.0,
    "outro": 0.35, "coda": 0.3, "interlude": 0.45, "solo": 0.7, "instrumental": 0.6, "break": 0.4,
    "vamp": 0.6, "head": 0.6, "theme": 0.6, "tag": 0.5, "A": 0.55, "B": 0.65,
}


def energy_curve(form: list[SectionPlan], shape: str, level: float | None = None,
                 peak: str | None = None) -> list[float]:
    """One energy value (0..1, two decimals) per section for an ``ENERGY_CURVES`` shape; ``level``
    moves the mean; ``peak`` names the section label where a 'build' reaches its climax."""
    n = len(form)
    if n == 0:
        return []
    base = [_LABEL_ENERGY.get(s.label, 0.6) for s in form]
    if shape == "flat":
        vals = [0.6] * n
    elif shape == "calm":
        vals = [0.12 + 0.4 * b for b in base]
    elif shape == "steady_high":
        vals = [0.6 + 0.35 * b for b in base]
    elif shape == "arc":
        vals = [0.35 + 0.5 * math.sin(math.pi * (i + 0.5) / n) for i in range(n)]
    elif shape == "build":
        idx = [i for i, s in enumerate(form) if peak and s.label == peak]
        p = idx[0] if idx else max(range(n), key=lambda i: (base[i], -abs(i - 0.75 * n)))
        if n > 1 and p == 0 and not idx:
            p = n - 1
        vals = [0.25 + 0.75 * (i / p if p else 1.0) if i <= p else 0.85 for i in range(n)]
        if n > 2 and p < n - 1 and form[-1].label in _EDGE_LABELS:
            vals[-1] = 0.4
    else:  # verse_chorus, edm_drop: the labels carry the shape
        vals = base
    if level is not None:
        shift = level - sum(vals) / n
        vals = [v + shift for v in vals]
    return [round(min(1.0, max(0.05, v)), 2) for v in vals]


def resample(values: list[float], n: int) -> list[float]:
    """Stretch a list of energies to ``n`` values (nearest neighbour)."""
    if not values or n <= 0:
        return []
    return [values[min(len(values) - 1, int(i * len(values) / n))] for i in range(n)]


# --- instruments -----------------------------------------------------------------------------------
def _ins(name: str, stated: bool, role: str | None = None) -> InstrumentPlan:
    v = V.INSTRUMENTS[name]
    return InstrumentPlan(name, v.program, role or v.role, v.is_drum, stated)


def resolve_instrument(kind: str, name: str, genre: V.Genre) -> list[str]:
    """Names an instrument item stands for in this genre ('context' "bass" -> 'acoustic bass' in jazz)."""
    if kind == "context":
        return [getattr(genre, name)] if name else []
    if kind == "ensemble":
        ens = V.ENSEMBLES[name]
        classical = genre.name in ("classical", "cinematic")
        return list(ens.classical if (classical and ens.classical) else ens.members)
    return [name]


def section_instruments(names: list[str], genre_name: str | None) -> list[str]:
    """Resolve the instrument words of a per-section override ("bass" -> the genre's bass)."""
    genre = V.GENRES.get(genre_name or "") or V.GENRES[V.DEFAULT_GENRE]
    out: list[str] = []
    for n in names:
        kind = "ensemble" if n in V.ENSEMBLES else "context" if n in ("bass", "guitar", "keys", "sax") else "instrument"
        if kind != "instrument" or n in V.INSTRUMENTS:
            out.extend(r for r in resolve_instrument(kind, n, genre) if r not in out)
    return out


def is_stated_list(st: Statements) -> bool:
    """True when the prompt names two or more different pitched instruments (or an ensemble)."""
    names: set[str] = set()
    for kind, name, _ in st.instruments:
        if kind == "ensemble":
            return True
        if kind == "context" or not V.INSTRUMENTS[name].is_drum:
            names.add(name)
    return len(names) >= 2


def _instruments(st: Statements, genre: V.Genre, drums: bool, genre_stated: bool) -> list[InstrumentPlan]:
    out: list[InstrumentPlan] = []
    for kind, name, count in st.instruments:
        names = resolve_instrument(kind, name, genre)
        need: dict[str, int] = {}
        for n in names:
            need[n] = need.get(n, 0) + max(1, count)
        for n in need:
            if n in st.excluded or (V.INSTRUMENTS[n].is_drum and not drums):
                continue
            for _ in range(need[n] - sum(1 for i in out if i.name == n)):
                out.append(_ins(n, True))
    for sec in st.form or []:
        for n in sec.instruments or []:
            if n in V.INSTRUMENTS and not any(i.name == n for i in out):
                out.append(_ins(n, True))
    pitched = [i for i in out if not i.is_drum]
    # a stated list of two or more pitched instruments is the list: only a stated genre's lead instrument may be
    # suggested (stated=False) when the list has no melody part, nothing else (no pad, bass, brass or kit);
    # one named instrument ("rock, piano") is a feature and the genre's defaults fill the roles it leaves open
    stated_list = is_stated_list(st)
    if not st.instruments_only:
        if not stated_list and (genre_stated or not pitched):
            covered = {i.role for i in pitched}
            for n in genre.instruments:
                role = V.INSTRUMENTS[n].role
                if n not in st.excluded and role not in covered and not any(i.name == n for i in out):
                    out.append(_ins(n, False))
                    covered.add(role)
            roles = {i.role for i in out if not i.is_drum}
            if not roles & {"chords", "pad", "bass"}:
                out.extend(_ins(n, False) for n in V.HARMONY_FALLBACK[:1] if n not in st.excluded)
        elif stated_list and genre_stated and not any(i.role == "melody" for i in pitched):
            # a named genre may suggest its lead instrument when the list has no melody part
            lead = next((n for n in genre.instruments if V.INSTRUMENTS[n].role == "melody"
                         and n not in st.excluded), None)
            if lead:
                out.append(_ins(lead, False))
        roles = {i.role for i in out if not i.is_drum}
        if "melody" not in roles and genre.name not in ("ambient", "lofi", "hip hop", "chillout"):
            # a bass stays the bass: only a counter line, or a chord/pad part among two or more, leads
            movable = [i for i in out if not i.is_drum and i.role in ("counter", "pad", "chords")]
            others = [i for i in out if not i.is_drum and i.role in ("chords", "pad", "bass")]
            pick = next((i for i in movable if i.role == "counter"), None)
            if pick is None and len(others) >= 2:
                pick = next((i for i in reversed(movable) if i.stated), None)
            if pick is not None:
                pick.role = "melody"
            elif not stated_list:
                cand = next((n for n in V.MELODY_FALLBACK if n not in st.excluded
                             and not any(i.name == n for i in out)), None)
                if cand:
                    out.append(_ins(cand, False, "melody"))
    # hand percussion the prompt named ("shaker", "tabla") is the percussion track: no kit is added to it
    if drums and not any(i.is_drum for i in out):
        out.append(_ins("drums", False))
    return out


# --- the plan --------------------------------------------------------------------------------------
def infer_genre(st: Statements) -> str:
    """The genre a prompt that names none probably means (instrument hints, meter words), else pop."""
    for kind, name, _ in st.instruments:
        hint = V.INSTRUMENTS[name].genre_hint if kind == "instrument" else (
            V.ENSEMBLES[name].genre_hint if kind == "ensemble" else None)
        if hint:
            return hint
    if st.meter_word and st.meter_word[1] == "jig_6_8":
        return "folk"
    return V.DEFAULT_GENRE


def default_key(genre: V.Genre, mood: V.Mood | None) -> Key:
    """The genre's tonic in the mood's mode (relative minor/major keeps the key signature)."""
    mode = (mood.mode if mood and mood.mode else genre.mode)
    tonic = Key.parse(genre.tonic).tonic
    if mode != genre.mode:
        tonic = (tonic + (9 if mode == "minor" else 3)) % 12
    return Key(tonic, mode)


_KIT_OPTIONAL = ("cinematic", "world")  # genres whose kit is not a given once the instruments are named


def _default_groove(genre: V.Genre, meter: tuple[int, int], drums: bool, st: Statements) -> str:
    if not drums:
        return "none"
    if st.meter_word and st.meter_word[1]:
        return st.meter_word[1]
    if meter[0] == 3 and meter[1] == 4:
        return "waltz"
    if meter in ((6, 8), (9, 8), (12, 8)):
        return "shuffle" if genre.groove in ("shuffle", "swing", "one_drop") else "jig_6_8"
    return genre.groove if genre.groove != "none" else "rock"


def build_plan(st: Statements) -> StylePlan:
    """Fill every field the user did not state; deterministic in ``st``."""
    stated: set[str] = set()
    named = {n for _, n, _ in st.instruments}
    extra = [n for s in (st.form or []) for n in (s.instruments or []) if n in V.INSTRUMENTS and n not in named]
    if extra:  # instruments named only for one section are instruments of the song too
        st = replace(st, instruments=st.instruments + [("instrument", n, 1) for n in dict.fromkeys(extra)])
    genre = V.GENRES[st.genre or infer_genre(st)]
    mood = V.MOODS.get(st.mood) if st.mood else None
    if st.genre:
        stated.add("genre")
    if mood:
        stated.add("mood")
    meter = st.meter or (st.meter_word[0] if st.meter_word else genre.meter)
    if st.meter or st.meter_word:
        stated.add("meter")
    lo, hi = genre.tempo_bpm
    if st.tempo_bpm:
        tempo = float(st.tempo_bpm)
        stated.add("tempo_bpm")
    else:
        pos = V.TEMPO_WORDS.get(st.tempo_feel or "", mood.tempo_pos if mood else 0.5)
        tempo = float(max(30, min(300, round(lo + pos * (hi - lo)))))
        tempo = float(round(felt_bpm(tempo, meter)))  # the genre's quarter-note tempo, in the felt beat
    key = st.key or default_key(genre, mood)
    if st.key:
        stated.add("key")
    pitched = any(k != "instrument" or not V.INSTRUMENTS[n].is_drum for k, n, _ in st.instruments) or any(
        s.instruments for s in (st.form or []))
    if st.drums is not None:
        drums = st.drums
        stated.add("drums")
    else:
        # a stated list is the list; only a stated beat-driven genre ("deep house ... with electric piano")
        # brings its kit (a cinematic or world prompt with its instruments named gets none)
        drums = genre.drums and not st.instruments_only and (
            not pitched or (bool(st.genre) and not (is_stated_list(st) and genre.name in _KIT_OPTIONAL)))
    groove = st.groove or _default_groove(genre, meter, drums, st)
    if st.groove:
        stated.add("drum_groove")
    warnings = list(st.warnings)
    # form and length
    length_bars = st.length_bars
    if st.form:
        form = [replace(s) for s in st.form]
        stated.add("form")
    else:
        target = length_bars
        if target is None and st.duration_s:
            target = max(1, int(st.duration_s / seconds_per_bar(tempo, meter) + 0.5))
        form = default_form(genre.form, target)
        if st.form_hint:
            form = _merge_hint(form, st.form_hint, target)
            stated.add("form")
    total = sum(s.bars for s in form)
    if length_bars is not None:
        if length_bars == total:
            stated.add("length_bars")
        else:
            warnings.append(f"The form adds up to {total} bars, not the {length_bars} bars asked for; "
                            f"the form wins.")
    if st.duration_s:
        stated.add("duration_s")
    # instruments
    instruments = _instruments(st, genre, drums, bool(st.genre))
    if st.instruments or st.excluded or st.instruments_only or any(s.instruments for s in form):
        stated.add("instruments")
    # energy
    if st.energy_list:
        energy = [round(min(1.0, max(0.0, v)), 2) for v in resample(st.energy_list, len(form))]
    else:
        level = st.energy_level if st.energy_level is not None else None
        energy = energy_curve(form, st.energy_shape or genre.energy_curve, level, st.energy_peak)
    for i, s in enumerate(form):
        if s.energy is not None:
            energy[i] = s.energy
    if st.energy_list or st.energy_level is not None or st.energy_shape:
        stated.add("energy")
    production = list(dict.fromkeys(st.production + list(genre.production) + list(mood.production if mood else ())))
    if st.production:
        stated.add("production")
    style_text = " ".join(st.style_words).strip()
    if style_text:
        stated.add("style_text")
    return StylePlan(
        tempo_bpm=tempo, meter=tuple(meter), key=key, form=form, instruments=instruments, drums=drums,
        genre=genre.name, mood=mood.name if mood else None, energy=energy, drum_groove=groove,
        production=production, style_text=style_text, length_bars=total, duration_s=st.duration_s,
        stated=stated, warnings=warnings, tempo_feel=None if st.tempo_bpm else st.tempo_feel,
        instruments_only=st.instruments_only, instruments_excluded=list(st.excluded),
    )


def _merge_hint(form: list[SectionPlan], hint: SectionPlan, target: int | None) -> list[SectionPlan]:
    """Put one stated section ("a 4-bar intro") into a default form."""
    if hint.label == "intro":
        return [hint] + [s for s in form if s.label != "intro"]
    if hint.label in ("outro", "coda"):
        return [s for s in form if s.label not in ("outro", "coda")] + [hint]
    if any(s.label == hint.label for s in form):
        return [replace(hint) if s.label == hint.label else s for s in form]
    return form + [hint] if target is None else form


def statements_from_plan(plan: StylePlan) -> Statements:
    """Recover what was stated from a plan (the inverse of ``build_plan`` on stated fields)."""
    st = Statements()
    if plan.is_stated("tempo_bpm"):
        st.tempo_bpm = plan.tempo_bpm
    else:
        st.tempo_feel = plan.tempo_feel
    if plan.is_stated("meter"):
        st.meter = tuple(plan.meter)
    if plan.is_stated("key"):
        st.key = plan.key
    if plan.is_stated("form"):
        st.form = [replace(s) for s in plan.form]
    if plan.is_stated("length_bars") and not plan.is_stated("form"):
        st.length_bars = plan.length_bars
    if plan.is_stated("duration_s"):
        st.duration_s = plan.duration_s
    if plan.is_stated("instruments"):
        counts: dict[str, int] = {}
        for i in plan.instruments:
            if i.stated:
                counts[i.name] = counts.get(i.name, 0) + 1
        st.instruments = [("instrument", n, c) for n, c in counts.items()]
        st.excluded = list(plan.instruments_excluded)
        st.instruments_only = plan.instruments_only
    if plan.is_stated("drums"):
        st.drums = plan.drums
    if plan.is_stated("genre"):
        st.genre = plan.genre
    if plan.is_stated("mood"):
        st.mood = plan.mood
    if plan.is_stated("drum_groove"):
        st.groove = plan.drum_groove
    if plan.is_stated("energy"):
        st.energy_list = list(plan.energy)
    if plan.is_stated("production"):
        st.production = list(plan.production)
    if plan.is_stated("style_text"):
        st.style_words = [plan.style_text]
    return st


def key_spelling_ok(name: str) -> bool:
    """True when ``name`` is a tonic spelling we write back ('C#', 'Bb'...)."""
    return name in PITCH_NAMES_SHARP or name in PITCH_NAMES_FLAT
