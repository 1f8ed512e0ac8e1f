"""Prompt text -> StylePlan.

Two passes over the lower-cased text. First, precompiled regular expressions find the structured
statements (sections and forms, tempo, meter, key, length, energy, canonical ``field: value``
clauses); their spans are masked. Second, the remaining words are matched against the vocabulary
(longest phrase first: instruments, ensembles, genres, moods, production words, tempo and groove words).
Every statement is an event at a text position and events are applied in order, so when the text
contradicts itself the later statement wins ("... actually make it 3/4 at 60 bpm"). Written values
beat implied ones ("a waltz in 4/4" stays in 4/4). Unknown words become ``style_text``; nothing a
musician can type is an error: an empty or unrecognised prompt gives the default plan and a warning.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..song.model import Key
from . import vocabulary as V
from .defaults import Statements, build_plan, default_bars, section_instruments
from .plan import SectionPlan, StylePlan

# --- number words ----------------------------------------------------------------------------------
_NUM_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "eighteen": 18, "twenty": 20, "twenty-four": 24, "thirty": 30, "thirty-two": 32,
    "forty": 40, "forty-eight": 48, "fifty": 50, "sixty": 60, "sixty-four": 64, "ninety": 90, "half a": 0.5,
    "couple of": 2, "a couple of": 2, "a few": 3, "several": 3,
}
_NUMW = "|".join(sorted((re.escape(w) for w in _NUM_WORDS), key=len, reverse=True))
_NUM = rf"(?:\d+(?:\.\d+)?|{_NUMW})"


def _num(s: str) -> float:
    s = s.strip()
    return float(s) if s[0].isdigit() else float(_NUM_WORDS[s])


_LABELS = "|".join(sorted((re.escape(k).replace(r"\ ", r"[\s-]?").replace(r"\-", r"[\s-]?")
                           for k in V.SECTION_LABELS), key=len, reverse=True))
_KEYPAT = (r"(?P<letter>[a-g])(?P<acc>#|b(?![a-ln-z])|[\s-](?:sharp|flat)\b)?"
           r"(?P<mode>\s*-?\s*(?:major|minor|maj|min|m|dorian|mixolydian|lydian|phrygian|aeolian|ionian|locrian)"
           r"(?![a-z]))?(?![a-z0-9#])")
_TEMPO_UNIT = r"(?:bpm|b\.p\.m\.?|beats per minute|beats a minute|beats/min)"
_MINOR_MODES = ("minor", "min", "m", "dorian", "phrygian", "aeolian", "locrian")
_EACH = (r"(?:(?:in\s+|for\s+)?(?:every|each)\s+(?:part|section|letter)s?|each|apiece|per section|per part|a piece"
         r"|per letter)")
_REPEAT = r"(?P<rep>\s*(?:x|×)\s*[2-8]\b|\s*\btwice\b|\s*\b[2-8]\s*times\b)"

_SECTION_A = re.compile(
    rf"(?:\[\s*)?\b(?P<count>)(?P<label>{_LABELS})(?:e?s)?(?:\s+\d(?=\s*[:\-]\s*\d))?\s*"
    rf"(?:[:=\-]|of|for)?\s*(?P<bars>\d{{1,3}})(?!\s*(?:/\s*\d|bpm|%|\.\d|:\d|s\b|sec|min|beats))"
    rf"\s*(?:-?\s*(?:bars?|measures?|b)\b)?\s*\)?\s*\]?(?P<each>\s*{_EACH})?{_REPEAT}?")
_SECTION_R = re.compile(rf"\b(?P<label>{_LABELS})(?:e?s)?{_REPEAT}")
# Letter sections written in capitals ("A 8, B 8", "A: 8 bars"), read on the text as written.
_SECTION_L = re.compile(
    rf"(?<![A-Za-z0-9'])(?P<label>[A-E])(?:\s*[:=\-]\s*|\s+)(?P<bars>\d{{1,3}})(?![\d.:/%]|\s*(?:/\s*\d|bpm|b\.p|sec|min"
    rf"|beats|s\b))\s*(?:-?\s*(?:bars?|measures?)\b)?(?P<each>\s*{_EACH})?{_REPEAT}?")
_BARE_LABEL = re.compile(rf"\b(?P<label>{_LABELS})(?:e?s)?\b")
_SECTION_B = re.compile(
    rf"\b(?P<count>)(?P<bars>\d{{1,3}}|{_NUMW})\s*-?\s*(?:bars?|measures?)\s+(?:of\s+)?"
    rf"(?:an?\s+|the\s+)?(?P<label>{_LABELS})(?:e?s)?\b(?P<each>\s*{_EACH})?")
_COUNTED = re.compile(
    rf"(?P<items>(?:(?:\d|{_NUMW})\s+(?:{_LABELS})(?:e?s)?\b(?:\s*(?:,|and|&|then|plus|followed\s+by)\s*)*){{2,}})"
    rf"(?:,?\s*(?:of|at|with|,)?\s*(?P<bars>\d{{1,3}}|{_NUMW})\s*-?\s*(?:bars?|measures?)(?:\s*{_EACH})?)?")
_COUNTED_ITEM = re.compile(rf"(?P<count>\d|{_NUMW})\s+(?P<label>{_LABELS})(?:e?s)?\b")
_FORM_INTRO = re.compile(r"\b(?:form|structure|sections)\s*[:=]\s*$")
_OVERRIDE = re.compile(r"\s*\(([^()]*)\)")
_ATTACHED = re.compile(rf"\s*(?:in\s+(?P<k>{_KEYPAT})|(?:at\s+)?(?P<t>\d{{2,5}}(?:\.\d+)?)\s*{_TEMPO_UNIT}"
                       rf"|(?:in\s+)?(?P<mn>\d{{1,2}})\s*/\s*(?P<md>2|4|8|16)\b(?:\s*(?:time|meter|metre|feel))?)")
_LETTERS = re.compile(
    rf"(?:(?P<total>\d{{1,3}})\s*-?\s*bars?\s+)?\b(?P<letters>(?-i:A(?:[\s,]{{0,2}}[A-E]){{1,11}})|[a][a-e]{{1,11}}(?=\s*(?:form|structure)))"
    rf"\b(?:\s*(?:song\s+)?(?:form|structure|pattern))?(?:[\s,:;(]*(?:with\s+|at\s+|of\s+|in\s+)?"
    rf"(?P<bars>\d{{1,3}}|{_NUMW})\s*-?\s*(?:bars?|measures?)(?:\s*(?:sections?|parts?))?(?P<each>\s*{_EACH})?\)?)?",
    re.I)
_TEMPO = re.compile(
    rf"(?:(?:at|@|around|about|roughly|approx\.?|approximately|~|circa)\s*)?(?P<a>\d{{2,5}}(?:\.\d+)?)"
    rf"(?:\s*(?:-|to)\s*(?P<b>\d{{2,3}}))?\s*-?\s*{_TEMPO_UNIT}(?![a-z])"
    rf"|\b(?:tempo|bpm)\s*(?:of|at|is|=|:)?\s*(?:around|about|~)?\s*(?P<c>\d{{2,5}}(?:\.\d+)?)\b"
    rf"|(?:♩|quarter(?:\s+note)?|q)\s*=\s*(?P<d>\d{{2,3}})")
_METER = re.compile(r"\b(?P<n>\d{1,2})\s*/\s*(?P<d>2|4|8|16)\b(?:\s*(?:time|meter|metre|feel))?")
_KEY = re.compile(rf"\b(?P<pre>(?:in\s+(?:the\s+)?key\s+of|key\s+of|key(?:\s+signature)?\s*[:=]?|in)\s+)?{_KEYPAT}")
_DURATION = re.compile(
    rf"\b(?P<m>{_NUM})\s*-?\s*(?:minutes?|mins?)\b(?:\s*(?:and\s+)?(?P<half>a\s+half)|\s*(?:and\s+)?(?P<ms>\d+)"
    rf"\s*(?:seconds?|secs?|s)\b)?|\b(?P<s>{_NUM})\s*-?\s*(?:seconds?|secs?)\b|\b(?P<s2>\d+)s\s+(?=long|in length)"
    rf"|\b(?P<mm>\d{{1,2}}):(?P<ss>[0-5]\d)\b(?=\s*(?:min|long|minutes|in length))|\bhalf\s+a\s+minute\b"
    rf"|\ba\s+minute\s+and\s+a\s+half\b")
_BARS = re.compile(rf"\b(?P<n>\d{{1,3}}|{_NUMW})\s*-?\s*(?:bars?|measures?)\b(?P<each>\s*{_EACH})?")
_ENERGY = re.compile(
    r"\benergy\s*(?:curve)?\s*[:=]?\s*(?P<list>(?:\d?\.\d+|[01](?![\d.%])|\d{1,3}%)(?:[\s,/]+(?:\d?\.\d+|[01](?![\d.%])"
    r"|\d{1,3}%))*)"
    r"|\benergy\s*(?:level)?\s*[:=]?\s*(?:is\s+)?(?P<lvl>high|low|medium|mid|moderate|full|max(?:imum)?|minimal)\b"
    r"|\b(?P<lvl2>high|low|medium|mid|full|maximum|max)[\s-]energy\b"
    r"|\b(?P<build>build(?:s|ing)(?:\s+up)?|build\s+up|rising|grow(?:s|ing)|swell(?:s|ing)|crescendo(?:ing|s)?"
    r"|ramp(?:s|ing)?\s+up|climb(?:s|ing))(?:\s+(?:slowly|gradually|steadily))?(?:\s+(?:to|into|towards?)\s+"
    r"(?:an?\s+|the\s+)?(?:big\s+|huge\s+|massive\s+|epic\s+|final\s+)?(?:climax|peak|finale|crescendo|explosion"
    r"|high\s+point|ending|end|finish))?(?:\s+(?:at|in|on|by|for)\s+(?:the\s+)?(?:(?:last|final|second|first)\s+)?"
    rf"(?P<peak>{_LABELS}|end|ending|finale))?"
    r"|\b(?:(?:steady|constant|even|flat|consistent)\s+energy|energy\s+(?:stays\s+)?(?:steady|constant|flat))\b")
_GROOVE = re.compile(r"\bgroove\s*[:=]?\s*(?P<g>" + "|".join(V.GROOVE_FAMILIES) + r")\b")
_PRODUCTION = re.compile(r"\bproduction\s*[:=]\s*(?P<p>[a-z0-9 ,&'\-]+)")
_DRUMS_YN = re.compile(r"\bdrums\s*:\s*(?P<v>yes|no|on|off|true|false)\b")
_STYLE = re.compile(r'\bstyle(?:\s+text)?\s*[:=]?\s*"(?P<s>[^"]*)"')
_GAP_JOIN = re.compile(r"^(?:[\s,;/|>+&\-→.]|\band\b|\bthen\b|\bfollowed\s+by\b|\binto\b|\bplus\b|\bform\b"
                       r"|\bstructure\b|\bwith\b|\ban?\b|\bthe\b|:)*$")
_TOKEN = re.compile(r"[a-z0-9#'&]+|[,;:.!?()\[\]/|\x1f\"]")
_BARRIER = set(",;:.!?()[]/|\x1f\"")
_LEVELS = {"high": 0.85, "full": 0.95, "max": 1.0, "maximum": 1.0, "medium": 0.55, "mid": 0.55,
           "moderate": 0.55, "low": 0.25, "minimal": 0.15}


def _norm(phrase: str) -> str:
    return " ".join(_TOKEN.findall(phrase.lower().replace("-", " ")))


_TABLE: dict[str, tuple[str, str]] = {}
for _p, _v in V.alias_table().items():
    _TABLE.setdefault(_norm(_p), _v)
for _w, _m in V.METER_WORDS.items():
    _TABLE.setdefault(_norm(_w), ("meterword", _w))
for _w, _g in V.GROOVE_WORDS.items():
    _TABLE.setdefault(_norm(_w), ("groove", _g))
for _w in V.TEMPO_WORDS:
    _TABLE.setdefault(_norm(_w), ("tempo", _w))
for _w in V.SECTION_LABELS:
    _TABLE.setdefault(_norm(_w), ("label", V.SECTION_LABELS[_w]))
for _w in ("no", "without", "minus", "not", "nor", "except", "sans", "instead of", "drop the", "lose the"):
    _TABLE[_norm(_w)] = ("neg", _w)
for _w in ("only", "just", "solo", "alone", "unaccompanied", "a cappella", "acapella", "a capella"):
    _TABLE[_norm(_w)] = ("only", _w)
_TABLE[_norm("drumless")] = ("nodrums", "")
_TABLE.pop("world", None)
_TABLE[_norm("world music")] = ("genre", "world")
_MAX_N = max(len(k.split()) for k in _TABLE)
_STOP = set("""a an the with and in at for of on to by some plus feat featuring track song tune piece make it
actually please i want like something feel vibe vibes sound sounding kind type very really bit little lots
lot using use played playing over under into then that this is be are my me we our its it's has have as so
but or all long length form structure key tempo time signature meter around about roughly approximately ish
each chords chord progression instruments instrument genre mood style groove maybe also more less
throughout from up give write compose create generate bars bar yes ok okay than which who where when
should would could can will let let's""".split())
_TIMBRE = {"soft", "delicate", "airy", "sweet", "light", "warm", "bright", "heavy"}
_JOINERS = {"or", "nor", "and", "any", "the", "a", "an", "more", "other", ","}


def _key_from(m: re.Match, text: str, pre: str | None) -> Key | None:
    """A Key from a key-pattern match, or None when the letter is just a word ("a gentle waltz")."""
    letter, acc, mode = m.group("letter"), m.group("acc"), m.group("mode")
    upper = text[m.start("letter")].isupper()
    mode_w = (mode or "").strip(" -")
    if mode_w:
        if not (upper or acc or pre) and (len(mode_w) <= 3 or letter == "a"):
            return None
    elif acc:
        if acc[0] in " -" and not (pre or upper or acc[0] == "-"):
            return None
    elif not pre or not (upper or "key" in pre):
        return None
    if acc is None:
        spelled = letter.upper()
    else:
        spelled = letter.upper() + ("#" if ("#" in acc or "sharp" in acc) else "b")
    try:
        return Key.parse(f"{spelled} {'minor' if mode_w in _MINOR_MODES else 'major'}")
    except ValueError:  # pragma: no cover - the pattern only admits note names
        return None


class _Scan:
    """Holds the text, the masked copy and the events (position, kind, payload) of one prompt."""

    def __init__(self, text: str) -> None:
        text = (text.replace("♯", "#").replace("♭", "b").replace("–", "-").replace("—", "-")
                .replace("’", "'").replace("“", '"').replace("”", '"'))
        low = text.lower()
        self.text = text if len(low) == len(text) else low
        self.low = low
        self.mask = list(low)
        self.events: list[tuple[int, str, object]] = []
        self.warnings: list[str] = []
        self.section_meters: list[tuple[str, tuple[int, int]]] = []  # "bridge 4 in 3/4": (label, meter)

    def take(self, start: int, end: int) -> None:
        self.mask[start:end] = "\x1f" * (end - start)

    def free(self, start: int, end: int) -> bool:
        return "\x1f" not in self.mask[start:end]

    def masked(self) -> str:
        return "".join(self.mask)


def _overrides(content: str, sec: SectionPlan) -> tuple[int, int] | None:
    """Per-section overrides from "(strings, energy high; in A minor; 90 bpm)"; returns a meter it states."""
    low = content.lower()
    st = _parse_statements(content, nested=True)
    if st.key is not None:
        sec.key = st.key.name
    if st.tempo_bpm:
        sec.tempo_bpm = st.tempo_bpm
    if st.energy_list:
        sec.energy = round(st.energy_list[0], 2)
    elif st.energy_level is not None:
        sec.energy = round(st.energy_level, 2)
    names = [n for k, n, _ in st.instruments if k == "instrument"]
    names += [n for k, n, _ in st.instruments if k != "instrument"]  # resolved later by genre
    if names:
        sec.instruments = names
    words = " ".join(st.style_words).strip()
    if words and "instruments" not in low.split():
        sec.style_text = words
    return st.meter


def _label(word: str) -> str:
    w = re.sub(r"[\s-]+", " ", word)
    for cand in (w, w.replace(" ", "-"), w.replace(" ", "")):
        if cand in V.SECTION_LABELS:
            return V.SECTION_LABELS[cand]
    return word


def _counted(sc: _Scan) -> None:
    """"two verses and two choruses of 8 bars each", "an intro, three verses and an outro"."""
    for m in _COUNTED.finditer(sc.low):
        items = [(_label(i.group("label")), int(_num(i.group("count")))) for i in _COUNTED_ITEM.finditer(m.group("items"))]
        if len(items) < 2 and all(c < 2 for _, c in items):
            continue
        bars = int(_num(m.group("bars"))) if m.group("bars") else None
        secs = [(SectionPlan(lbl, bars or default_bars(lbl)), min(c, 8)) for lbl, c in items]
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "form", _expand_counts(secs)))


def _sections(sc: _Scan) -> None:
    found: list[tuple[int, int, SectionPlan, int, bool]] = []
    for rx in (_SECTION_B, _SECTION_A, _SECTION_L, _SECTION_R):
        for m in rx.finditer(sc.text if rx is _SECTION_L else sc.masked()):
            if not sc.free(m.start(), m.end()):
                continue
            g = m.groupdict()
            label = m.group("label") if rx is _SECTION_L else _label(m.group("label"))
            bars = int(_num(g["bars"])) if g.get("bars") else default_bars(label)
            if not 1 <= bars <= 256:
                continue
            count = int(_num(g["count"])) if g.get("count") else 1
            sec = SectionPlan(label, bars)
            end = m.end()
            while True:
                o = _OVERRIDE.match(sc.low, end)
                a = _ATTACHED.match(sc.low, end)
                if o:
                    meter = _overrides(sc.text[o.start(1):o.end(1)], sec)
                    if meter:
                        sc.section_meters.append((label, meter))
                    end = o.end()
                elif a and a.group("mn"):
                    meter = (int(a.group("mn")), int(a.group("md")))
                    if not 1 <= meter[0] <= 15:
                        break
                    sc.section_meters.append((label, meter))
                    end = a.end()
                elif a and a.group("t"):
                    sec.tempo_bpm = _clamp_tempo(float(a.group("t")), sc.warnings)
                    end = a.end()
                elif a and a.group("k"):
                    km = _KEY.match(sc.low, a.start("k"))
                    key = _key_from(km, sc.text, "in ") if km else None
                    if key is None:
                        break
                    sec.key = key.name
                    end = a.end()
                else:
                    break
            sc.take(m.start(), end)
            reps = _repeats(g.get("rep"))
            for _ in range(reps):  # "chorus 8 x2": the section twice in a row
                found.append((m.start(), end, replace(sec), min(count, 8), bool(g.get("each"))))
    _adjacent_labels(sc, found)
    found.sort(key=lambda f: f[0])
    _group_sections(sc, [(s, e, sec, c, each) for s, e, sec, c, each in found])


def _repeats(text: str | None) -> int:
    if not text:
        return 1
    if "twice" in text:
        return 2
    return int(re.search(r"\d", text).group())


def _adjacent_labels(sc: _Scan, found: list) -> None:
    """Section names without a length next to sections with one ("intro, verse 8 x2, chorus 8, outro")
    belong to the same form, at their default length."""
    changed = bool(found)
    while changed:
        changed = False
        for m in _BARE_LABEL.finditer(sc.masked()):
            near = any(_GAP_JOIN.match(sc.low[e:m.start()]) for _, e, *_ in found if e <= m.start()) or any(
                _GAP_JOIN.match(sc.low[m.end():s]) for s, *_ in found if s >= m.end())
            if near:
                label = _label(m.group("label"))
                sc.take(m.start(), m.end())
                found.append((m.start(), m.end(), SectionPlan(label, default_bars(label)), 1, False))
                changed = True
                break


def _clamp_tempo(bpm: float, warnings: list[str]) -> float:
    """A tempo inside 20..400 BPM; one outside is clamped, with a warning the plan carries."""
    if 20 <= bpm <= 400:
        return bpm
    clamped = 20.0 if bpm < 20 else 400.0
    warnings.append(f"{bpm:g} BPM is outside 20..400 BPM; the tempo is set to {clamped:g} BPM.")
    return clamped


def _group_sections(sc: _Scan, items: list) -> None:
    """Consecutive section items (only separators between them) form one form statement."""
    groups: list[list] = []
    for it in items:
        if groups and _GAP_JOIN.match(sc.low[groups[-1][-1][1]:it[0]]):
            groups[-1].append(it)
        else:
            groups.append([it])
    for g in groups:
        each = next((it[2].bars for it in g if it[4]), None)
        secs = [(replace(it[2], bars=each if each and it[4] else it[2].bars), it[3]) for it in g]
        full = _FORM_INTRO.search(sc.low, max(0, g[0][0] - 16), g[0][0]) is not None
        sc.events.append((g[0][0], "form_full" if full else "form", _expand_counts(secs)))


def _expand_counts(secs: list[tuple[SectionPlan, int]]) -> list[SectionPlan]:
    """"two verses and two choruses" -> verse, chorus, verse, chorus (intro first, outro last)."""
    if all(c == 1 for _, c in secs):
        return [s for s, _ in secs]
    head = [replace(s) for s, c in secs if s.label == "intro"]
    tail = [replace(s) for s, c in secs if s.label in ("outro", "coda")]
    mid = [[s, c] for s, c in secs if s.label not in ("intro", "outro", "coda")]
    out: list[SectionPlan] = []
    while any(c > 0 for _, c in mid):
        for item in mid:
            if item[1] > 0:
                out.append(replace(item[0]))
                item[1] -= 1
    return head + out + tail


def _letters(sc: _Scan) -> None:
    for m in _LETTERS.finditer(sc.text):
        letters = re.sub(r"[\s,]", "", m.group("letters").upper())
        if len(set(letters)) < 2 or not sc.free(m.start("letters"), m.end("letters")):
            continue
        bars = int(_num(m.group("bars"))) if m.group("bars") else None
        if m.group("total"):
            total = int(m.group("total"))
            per = total // len(letters) if total % len(letters) == 0 else 8
        elif bars and not m.group("each") and bars >= 4 * len(letters) and bars % len(letters) == 0:
            per = bars // len(letters)
        else:
            per = bars or 8
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "form", [SectionPlan(ch, per) for ch in letters]))


def _structured(sc: _Scan) -> None:
    """Tempo, meter, key, length, energy and canonical clauses."""
    for m in _STYLE.finditer(sc.masked()):
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "style", sc.text[m.start("s"):m.end("s")].strip()))
    for m in _PRODUCTION.finditer(sc.masked()):
        sc.take(m.start(), m.end())
        tags = [t.strip() for t in m.group("p").split(",") if t.strip()]
        sc.events.append((m.start(), "production_list", tags))
    for m in _DRUMS_YN.finditer(sc.masked()):
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "drums", m.group("v") in ("yes", "on", "true")))
    for m in _GROOVE.finditer(sc.masked()):
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "groove", m.group("g")))
    for m in _TEMPO.finditer(sc.masked()):
        a = m.group("a") or m.group("c") or m.group("d")
        bpm = float(a)
        if m.group("b"):
            bpm = round((bpm + float(m.group("b"))) / 2)
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "tempo", bpm))
    for m in _METER.finditer(sc.masked()):
        n, d = int(m.group("n")), int(m.group("d"))
        if 1 <= n <= 15:
            sc.take(m.start(), m.end())
            sc.events.append((m.start(), "meter", (n, d)))
    for m in _DURATION.finditer(sc.masked()):
        g = m.group
        if g("m"):
            secs = _num(g("m")) * 60 + (30 if g("half") else 0) + (int(g("ms")) if g("ms") else 0)
        elif g("s") or g("s2"):
            secs = _num(g("s") or g("s2"))
        elif g("mm"):
            secs = int(g("mm")) * 60 + int(g("ss"))
        else:
            secs = 30.0 if m.group(0).startswith("half") else 90.0
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "duration", float(secs)))
    for m in _ENERGY.finditer(sc.masked()):
        sc.take(m.start(), m.end())
        if m.group("list"):
            vals = [float(v[:-1]) / 100 if v.endswith("%") else float(v)
                    for v in re.split(r"[\s,/]+", m.group("list").strip())]
            sc.events.append((m.start(), "energy_list" if len(vals) > 1 else "energy_level",
                              vals if len(vals) > 1 else vals[0]))
        elif m.group("lvl") or m.group("lvl2"):
            sc.events.append((m.start(), "energy_level", _LEVELS[m.group("lvl") or m.group("lvl2")]))
        elif m.group("build"):
            peak = m.group("peak")
            peak = V.SECTION_LABELS.get(peak, peak) if peak and peak not in ("end", "ending", "finale") else None
            sc.events.append((m.start(), "energy_shape", ("build", peak)))
        else:
            sc.events.append((m.start(), "energy_shape", ("flat", None)))
    masked = sc.masked()
    for m in _KEY.finditer(masked):
        key = _key_from(m, sc.text, m.group("pre"))
        if key is not None:
            sc.take(m.start(), m.end())
            sc.events.append((m.start(), "key", key))
            mode = (m.group("mode") or "").strip(" -")
            if mode not in ("", "major", "minor", "maj", "min", "m"):
                sc.events.append((m.start(), "word", mode))
    for m in _BARS.finditer(sc.masked()):
        sc.take(m.start(), m.end())
        sc.events.append((m.start(), "each_bars" if m.group("each") else "bars", int(_num(m.group("n")))))


def _words(sc: _Scan) -> None:
    """Vocabulary phrases in what the structured pass left, longest first."""
    toks = [(m.start(), m.group()) for m in _TOKEN.finditer(sc.masked().replace("-", " "))]
    n = len(toks)
    i = 0
    neg = False
    last_ins = -1  # index into events of the last instrument event
    while i < n:
        pos, tok = toks[i]
        if tok in _BARRIER:
            neg = False
            i += 1
            continue
        hit = None
        for k in range(min(_MAX_N, n - i), 0, -1):
            if any(t in _BARRIER for _, t in toks[i:i + k]):
                continue
            phrase = tok if k == 1 else " ".join(t for _, t in toks[i:i + k])
            hit = _TABLE.get(phrase)
            if hit is None and k == 1 and len(tok) > 3 and tok.endswith("s"):
                hit = _TABLE.get(tok[:-1])
                hit = hit if hit and hit[0] in ("instrument", "label") else None
            if hit:
                break
        if hit is None:
            if tok.isdigit() and i + 1 < n and toks[i + 1][1] in ("x",):
                i += 1
            if tok not in _STOP and tok not in _JOINERS and not tok.isdigit() and tok != "x":
                sc.events.append((pos, "word", sc.text[pos:pos + len(tok)]))
            if tok not in _JOINERS:
                neg = False
            i += 1
            continue
        kind, name = hit
        nxt = toks[i + k][1] if i + k < n else ""
        if kind in ("instrument", "ensemble", "context"):
            count = 1
            j = i - 1
            if j >= 0 and toks[j][1] == "x":
                j -= 1
            if j >= 0 and (toks[j][1].isdigit() or toks[j][1] in _NUM_WORDS) and toks[j][1] not in ("a", "an"):
                c = int(_num(toks[j][1]))
                count = c if 1 <= c <= 8 else 1
            if kind == "context" and not name:
                sc.events.append((pos, "word", phrase))
            else:
                sc.events.append((pos, "neg_ins" if neg else "ins", (kind, name, count)))
                last_ins = len(sc.events) - 1
                if nxt in ("solo", "only", "alone") and not (i >= 2 and toks[i - 1][1] in ("a", "an")
                                                             and toks[i - 2][1] == "with"):
                    sc.events.append((pos, "only", None))
                    k += 1
                elif nxt == "solo":
                    k += 1
        elif kind == "neg":
            neg = True
        elif kind == "only":
            if name in ("a cappella", "acapella", "a capella"):
                sc.events.append((pos, "ins", ("instrument", "vocals", 1)))
                sc.events.append((pos, "only", None))
            elif name in ("solo", "just", "only") and nxt and _TABLE.get(nxt, ("",))[0] in ("instrument", "ensemble",
                                                                                           "context"):
                sc.events.append((pos, "only", None))
            elif name in ("only", "alone", "unaccompanied") and last_ins >= 0 and sc.events[last_ins][0] < pos:
                sc.events.append((pos, "only", None))
        elif kind == "mood" and phrase in _TIMBRE and _TABLE.get(nxt, ("",))[0] in ("instrument", "context"):
            sc.events.append((pos, "word", phrase))  # "soft piano": describes the piano, not the song
        elif kind == "nodrums":
            sc.events.append((pos, "drums", False))
        elif kind == "label":
            end_tok = toks[i + k - 1]
            sc.events.append((pos, "label", (name, end_tok[0] + len(end_tok[1]))))
        elif kind == "tempo":
            sc.events.append((pos, "tempo_word", name))
        else:
            sc.events.append((pos, kind, name))
        if kind not in ("instrument", "ensemble", "context", "neg") and phrase not in _JOINERS:
            neg = neg and kind == "neg"
        i += k


def _apply(sc: _Scan, st: Statements, nested: bool) -> None:
    """Apply the events in text order: the later statement wins."""
    labels: list[tuple[int, str]] = []
    each = None
    for pos, kind, val in sorted(sc.events, key=lambda e: e[0]):
        if kind == "tempo":
            st.tempo_bpm = _clamp_tempo(float(val), st.warnings)
        elif kind == "tempo_word":
            st.tempo_feel = val
        elif kind == "meter":
            st.meter = val
        elif kind == "meterword":
            st.meter_word = V.METER_WORDS[val]
        elif kind == "key":
            st.key = val
        elif kind == "form":
            if len(val) == 1 and not nested:
                st.form_hint = val[0]
            else:
                st.form = val
        elif kind == "form_full":
            st.form, st.form_hint = val, None
        elif kind == "label":
            labels.append((pos, val[1], val[0]))
        elif kind == "bars":
            st.length_bars = int(val)
        elif kind == "each_bars":
            each = int(val)
        elif kind == "duration":
            st.duration_s = val
        elif kind == "ins":
            k, name, count = val
            if k == "instrument" and V.INSTRUMENTS[name].is_drum:
                st.drums = True
            if k == "instrument" and name in st.excluded:
                st.excluded.remove(name)
            if k == "ensemble" and "drums" in V.ENSEMBLES[name].members:
                st.drums = True
            st.instruments.append(val)
        elif kind == "neg_ins":
            k, name, _ = val
            if k == "instrument" and V.INSTRUMENTS[name].is_drum:
                st.drums = False
            elif k == "instrument":
                st.excluded.append(name)
                st.instruments = [x for x in st.instruments if x[1] != name]
        elif kind == "only":
            st.instruments_only = True
        elif kind == "drums":
            st.drums = val
        elif kind == "genre":
            st.genre = val
        elif kind == "mood":
            st.mood = val
        elif kind == "groove":
            st.groove = val
        elif kind == "energy_level":
            st.energy_level, st.energy_list = float(val), None
        elif kind == "energy_list":
            st.energy_list = [float(v) for v in val]
        elif kind == "energy_shape":
            st.energy_shape, st.energy_peak = val
        elif kind == "production":
            if val not in st.production:
                st.production.append(val)
        elif kind == "production_list":
            st.production = list(dict.fromkeys(val))
        elif kind == "style":
            st.style_words.append(val)
        elif kind == "word":
            st.style_words.append(val)
    _bare_labels(sc, labels, st, each)
    _section_meters(sc, st)
    st.warnings.extend(sc.warnings)


def _section_meters(sc: _Scan, st: Statements) -> None:
    """Meters stated on sections ("verse 8 in 6/8"). A song has one meter: with none stated for the whole song,
    the first section's is the song's; a section asking for another one gets a warning, not silence."""
    if not sc.section_meters:
        return
    if st.meter is None:
        st.meter = sc.section_meters[0][1]
    others = [(label, m) for label, m in sc.section_meters if m != st.meter]
    if others:
        asked = ", ".join(f"the {label} {n}/{d}" for label, (n, d) in others)
        sc.warnings.append(f"Meter changes between sections are not supported yet: the whole song is in "
                           f"{st.meter[0]}/{st.meter[1]} ({asked} was asked for).")


def _bare_labels(sc: _Scan, labels: list[tuple[int, int, str]], st: Statements, each: int | None) -> None:
    """A run of two or more section names without lengths ("intro, verse, chorus, outro") is a form,
    unless a form with lengths was stated."""
    runs: list[list[tuple[int, int, str]]] = []
    for item in labels:
        if runs and _GAP_JOIN.match(sc.low[runs[-1][-1][1]:item[0]]):
            runs[-1].append(item)
        else:
            runs.append([item])
    for r in runs:
        if len(r) >= 2 and not st.form:
            st.form = [SectionPlan(lbl, each or default_bars(lbl)) for _, _, lbl in r]


def _parse_statements(text: str, nested: bool = False) -> Statements:
    sc = _Scan(text)
    st = Statements()
    if not nested:
        _counted(sc)
        _sections(sc)
        _letters(sc)
    _structured(sc)
    _words(sc)
    _apply(sc, st, nested)
    if st.form and not nested:
        for s in st.form:
            if s.instruments:
                s.instruments = section_instruments(s.instruments, st.genre)
    return st


def parse_statements(text: str) -> Statements:
    """Only what the prompt states (see ``defaults.Statements``)."""
    return _parse_statements(text or "")


def parse_prompt(text: str) -> StylePlan:
    """Turn a musician's prompt into a complete StylePlan.

    Args:
        text: free text, e.g. "dreamy lofi hip hop beat with soft piano, 82 bpm, F major".
    Returns:
        a StylePlan whose ``stated`` set names the fields the prompt stated; everything else is a
        default from the genre, mood and length. Never raises for any text: an empty or unrecognised
        prompt gives the default plan with a warning in ``plan.warnings``.
    """
    text = text or ""
    st = parse_statements(text)
    if not text.strip():
        st.warnings.append("The prompt is empty: here is a default plan (pop, 4/4); describe a style, tempo or "
                           "instruments to change it.")
    elif not st.anything():
        st.warnings.append("Nothing in the prompt was recognised as a genre, mood, tempo, key, meter, form or "
                           "instrument, so this is a default plan; the words are kept as style text.")
    return build_plan(st)
