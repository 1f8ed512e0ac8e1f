"""StylePlan: what the musician asked for, as editable fields shared by the models and the GUI.

Every field records whether the user stated it (``plan.stated`` holds field names) or whether it was
filled in from defaults (genre, mood, length). The plan serialises to a plain JSON-able dict
(``to_dict``/``from_dict``) which the project file stores as ``song.plan``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..song.model import Key

# Field names that can be stated (the keys of ``StylePlan.stated``).
PLAN_FIELDS = (
    "tempo_bpm", "meter", "key", "form", "length_bars", "duration_s", "instruments", "drums",
    "genre", "mood", "energy", "style_text", "production", "drum_groove",
)


def is_compound(meter: tuple[int, int]) -> bool:
    """6/8, 9/8, 12/8 (and 6/16...): the felt beat is a dotted note of three eighths (or sixteenths)."""
    n, d = int(meter[0]), int(meter[1])
    return d >= 8 and n > 3 and n % 3 == 0


def quarter_bpm(tempo_bpm: float, meter: tuple[int, int]) -> float:
    """The plan's tempo as quarter notes per minute (the convention of ``song.timing.TempoMap``). The plan
    holds the felt beat: a dotted beat in compound meters (12/8 at 66 = 66 dotted quarters = 99 quarter notes
    per minute), quarter notes in every simple meter (4/4, 3/4, 2/2, 7/8)."""
    if is_compound(meter):
        return float(tempo_bpm) * 12 / int(meter[1])
    return float(tempo_bpm)


def felt_bpm(quarter: float, meter: tuple[int, int]) -> float:
    """The inverse of ``quarter_bpm``."""
    return float(quarter) / (quarter_bpm(1.0, meter))


@dataclass
class InstrumentPlan:
    """One instrument of the plan: a display name from the vocabulary ('piano', 'synth bass'),
    its General MIDI program (0..127), a track role ('melody', 'bass', 'chords', 'pad', 'drums'...)
    and whether the user named it (``stated``) or it came from the genre defaults."""

    name: str
    program: int
    role: str
    is_drum: bool = False
    stated: bool = False


@dataclass
class SectionPlan:
    """One section of the form: label and length in bars, plus optional per-section overrides
    (``None`` = inherit the song-level value)."""

    label: str
    bars: int
    energy: float | None = None  # 0..1
    instruments: list[str] | None = None  # names of plan instruments playing here
    key: str | None = None  # e.g. "A minor"
    tempo_bpm: float | None = None  # in the felt beat, like StylePlan.tempo_bpm
    style_text: str | None = None


@dataclass
class StylePlan:
    """The whole plan. ``tempo_bpm`` is in the felt beat as a musician writes it (dotted quarters in 6/8,
    9/8 and 12/8; ``quarter_tempo_bpm`` gives the song's quarter-note tempo); ``warnings`` are notes for
    the musician (``melodex plan`` prints them)."""

    tempo_bpm: float = 120.0
    meter: tuple[int, int] = (4, 4)
    key: Key = field(default_factory=Key)
    form: list[SectionPlan] = field(default_factory=list)
    instruments: list[InstrumentPlan] = field(default_factory=list)
    drums: bool = True
    genre: str = "pop"
    mood: str | None = None
    energy: list[float] = field(default_factory=list)  # one value 0..1 per form section
    drum_groove: str = "straight"
    production: list[str] = field(default_factory=list)  # tags: lofi, warm, bright, roomy, dry...
    style_text: str = ""  # words the vocabulary did not know, kept for style conditioning
    length_bars: int | None = None
    duration_s: float | None = None
    stated: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    # Added by the prompt parser (defaults keep older plans loading unchanged):
    tempo_feel: str | None = None  # a tempo word the user wrote ('slow', 'uptempo') when no BPM was given
    instruments_only: bool = False  # "piano solo", "voices only": no default instruments are added
    instruments_excluded: list[str] = field(default_factory=list)  # "no piano": never added as a default

    # --- derived -----------------------------------------------------------------------------------
    @property
    def total_bars(self) -> int:
        return sum(s.bars for s in self.form)

    @property
    def quarter_tempo_bpm(self) -> float:
        """The song's tempo in quarter notes per minute (``song.timing.TempoMap``)."""
        return quarter_bpm(self.tempo_bpm, self.meter)

    def section_tempi(self) -> list[tuple[int, float]]:
        """(start bar, quarter-note BPM) at the song start and wherever a section's tempo differs from
        the one before it (a section without its own tempo goes back to the song tempo)."""
        out: list[tuple[int, float]] = []
        bar = 0
        for s in self.form:
            bpm = quarter_bpm(s.tempo_bpm if s.tempo_bpm else self.tempo_bpm, self.meter)
            if not out or out[-1][1] != bpm:
                out.append((bar, bpm))
            bar += s.bars
        return out or [(0, self.quarter_tempo_bpm)]

    def tempo_map(self):
        """The song's ``TempoMap``: the song tempo, and a change at the first tick of every section whose
        tempo differs from the one before ("chorus 8 at 128 bpm"), in quarter notes per minute."""
        from ..song.timing import MeterMap, TempoChange, TempoMap

        meter = MeterMap(numerator=int(self.meter[0]), denominator=int(self.meter[1]))
        return TempoMap([TempoChange(meter.bar_to_tick(bar), bpm) for bar, bpm in self.section_tempi()])

    def is_stated(self, name: str) -> bool:
        return name in self.stated

    @property
    def stated_instruments(self) -> list[str]:
        """Names of the pitched instruments the user named, deduplicated, in order of first mention."""
        out: list[str] = []
        for ins in self.instruments:
            if ins.stated and not ins.is_drum and ins.name not in out:
                out.append(ins.name)
        return out

    def stated_flags(self) -> dict[str, bool]:
        """{field name: True if the user stated it, False if it is a default} for every PLAN_FIELDS name."""
        return {name: name in self.stated for name in PLAN_FIELDS}

    # --- serialisation -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["meter"] = list(self.meter)
        d["key"] = self.key.name
        d["stated"] = sorted(self.stated)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StylePlan":
        d = dict(d)
        d["meter"] = tuple(int(x) for x in d.get("meter", (4, 4)))
        d["key"] = Key.parse(d["key"]) if isinstance(d.get("key"), str) else Key()
        d["form"] = [SectionPlan(**s) for s in d.get("form", [])]
        d["instruments"] = [InstrumentPlan(**i) for i in d.get("instruments", [])]
        d["stated"] = set(d.get("stated", []))
        d.pop("total_bars", None)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})
