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
    tempo_bpm: float | None = None
    style_text: str | None = None


@dataclass
class StylePlan:
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
