"""StylePlan -> a short canonical prompt, and field edits.

``plan_to_text`` writes only the stated fields, in a fixed order and a syntax the parser reads back
exactly, so ``parse_prompt(plan_to_text(plan))`` rebuilds the same plan (defaults are a pure function
of the stated fields). ``edit_plan`` is how the GUI changes a field: the field becomes stated and every
default that depends on it is recomputed.
"""
from __future__ import annotations

from typing import Any

from ..errors import PromptError
from ..song.model import Key
from . import vocabulary as V
from .defaults import Statements, build_plan, statements_from_plan
from .plan import SectionPlan, StylePlan


def _num(x: float) -> str:
    return f"{x:g}" if float(x) != int(x) else str(int(x))


def _section(s: SectionPlan) -> str:
    label = f"section {s.label.lower()}" if len(s.label) == 1 else s.label
    parts = []
    if s.instruments:
        parts.append("with " + ", ".join(s.instruments))
    if s.energy is not None:
        parts.append(f"energy {s.energy:.2f}")
    if s.key:
        parts.append(f"in {s.key}")
    if s.tempo_bpm:
        parts.append(f"{_num(s.tempo_bpm)} bpm")
    if s.style_text:
        parts.append(f'style "{s.style_text}"')
    return f"{label} {s.bars}" + (f" ({'; '.join(parts)})" if parts else "")


def statements_to_text(st: Statements) -> str:
    """Canonical text of what was stated (see module docstring)."""
    out: list[str] = []
    if st.genre:
        out.append(f"genre {st.genre if st.genre != 'world' else 'world music'}")
    if st.mood:
        out.append(f"mood {st.mood}")
    if st.tempo_bpm:
        out.append(f"{_num(st.tempo_bpm)} bpm")
    elif st.tempo_feel:
        out.append(st.tempo_feel)
    if st.meter:
        out.append(f"{st.meter[0]}/{st.meter[1]}")
    if st.key:
        out.append(f"in {st.key.name}")
    if st.instruments:
        names = [(f"{c} {n}" if c > 1 else n) for _, n, c in st.instruments]
        if names:
            out.append("instruments: " + ", ".join(names) + (" only" if st.instruments_only else ""))
    elif st.instruments_only:
        out.append("instruments only")
    for n in st.excluded:
        out.append(f"no {n}")
    if st.drums is not None:
        out.append("drums: yes" if st.drums else "drums: no")
    if st.groove:
        out.append(f"groove {st.groove}")
    if st.form:
        out.append("form: " + ", ".join(_section(s) for s in st.form))
    if st.length_bars and not st.form:
        out.append(f"{st.length_bars} bars long")
    if st.duration_s:
        out.append(f"{_num(st.duration_s)} seconds long")
    if st.energy_list:
        out.append("energy " + " ".join(f"{v:.2f}" for v in st.energy_list))
    if st.production:
        out.append("production: " + ", ".join(st.production))
    style = " ".join(st.style_words).strip()
    if style:
        out.append(f'style "{style}"')
    return "; ".join(out)


def plan_to_text(plan: StylePlan) -> str:
    """A short canonical prompt for ``plan`` holding its stated fields (defaults are left out)."""
    return statements_to_text(statements_from_plan(plan))


_VALIDATORS = {
    "tempo_bpm": lambda v: 20 <= float(v) <= 400,
    "meter": lambda v: len(tuple(v)) == 2 and 1 <= int(v[0]) <= 15 and int(v[1]) in (2, 4, 8, 16),
    "genre": lambda v: v in V.GENRES,
    "mood": lambda v: v is None or v in V.MOODS,
    "drum_groove": lambda v: v in V.GROOVE_FAMILIES,
    "length_bars": lambda v: 1 <= int(v) <= 1024,
    "duration_s": lambda v: 1 <= float(v) <= 3600,
}
_MESSAGES = {
    "tempo_bpm": "a tempo between 20 and 400 BPM", "meter": "a meter such as 3/4, 4/4, 6/8 or 12/8",
    "genre": "one of the genres in the list", "mood": "one of the moods in the list",
    "drum_groove": "one of the drum grooves in the list", "length_bars": "a length between 1 and 1024 bars",
    "duration_s": "a duration between 1 second and 1 hour",
}


def edit_plan(plan: StylePlan, field_name: str, value: Any) -> StylePlan:
    """Return a new plan with ``field_name`` set to ``value`` and marked stated; defaults that depend on
    it are recomputed. ``value=None`` un-states the field (it goes back to its default).

    Raises:
        PromptError: the value is not usable (message names what is expected).
    """
    st = statements_from_plan(plan)
    if value is not None and field_name in _VALIDATORS:
        try:
            ok = _VALIDATORS[field_name](value)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise PromptError(f"{value!r} is not usable for {field_name.replace('_', ' ')}: expected "
                              f"{_MESSAGES[field_name]}.")
    try:
        _set(st, field_name, value)
    except (KeyError, ValueError, TypeError) as e:
        raise PromptError(f"{value!r} is not usable for {field_name.replace('_', ' ')} ({e}).") from None
    return build_plan(st)


def _set(st: Statements, name: str, value: Any) -> None:
    if name == "tempo_bpm":
        st.tempo_bpm = None if value is None else float(value)
    elif name == "meter":
        st.meter = None if value is None else (int(value[0]), int(value[1]))
    elif name == "key":
        st.key = None if value is None else (value if isinstance(value, Key) else Key.parse(str(value)))
    elif name == "form":
        st.form = None if value is None else [s if isinstance(s, SectionPlan) else SectionPlan(str(s[0]), int(s[1]))
                                              for s in value]
        if st.form and any(s.bars < 1 for s in st.form):
            raise ValueError("every section needs at least one bar")
    elif name == "length_bars":
        st.length_bars, st.form = (None if value is None else int(value)), None
    elif name == "duration_s":
        st.duration_s = None if value is None else float(value)
        if value is not None:
            st.form, st.length_bars = None, None
    elif name == "instruments":
        names = list(value or [])
        for n in names:
            if n not in V.INSTRUMENTS:
                raise ValueError(f"unknown instrument {n!r}")
        counts: dict[str, int] = {}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        st.instruments = [("instrument", n, c) for n, c in counts.items()]
        st.excluded = [n for n in st.excluded if n not in counts]
    elif name == "drums":
        st.drums = None if value is None else bool(value)
    elif name in ("genre", "mood"):
        setattr(st, name, value)
    elif name == "drum_groove":
        st.groove = value
    elif name == "energy":
        st.energy_list = None if value is None else [round(float(v), 2) for v in value]
        if st.energy_list and not all(0 <= v <= 1 for v in st.energy_list):
            raise ValueError("energy values go from 0 to 1")
    elif name == "production":
        st.production = list(value or [])
    elif name == "style_text":
        st.style_words = [str(value).replace('"', "'")] if value else []
    else:
        raise KeyError(f"no plan field {name!r}")
