"""Per-section plan overrides in the prompt panel (objectName ``sectionOverrides``): when a section is selected on
the timeline, its own energy, genre, mood and playing instruments, each "as the song" until set.

They live in the song (``Section.overrides``: 'energy' 0..1, 'genre', 'mood', 'instruments' = names of the
tracks that play), are changed with ``session.edit`` (undoable, saved with the project) and are what Regenerate
Section follows: the energy through the section's token header, genre, mood and instruments as the
regeneration's plan overrides (``regenerate_overrides``; ``start_regenerate`` passes them to the engine).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.session import ProjectSession
from ..errors import MelodexError
from ..prompt.vocabulary import GENRES, MOODS
from ..song import Song
from .plan_instruments import fit_height

SONG = "(as the song)"
KEYS = ("energy", "genre", "mood", "instruments")


def set_section_override(session: ProjectSession, section_id: str, key: str, value: Any) -> None:
    """Set (``value`` None: remove) one override of a section, as one undoable change 'Verse: energy 0.8'."""
    sec = session.song.section(section_id)
    if sec.overrides.get(key) == value and (value is not None or key not in sec.overrides):
        return
    shown = "as the song" if value is None else ", ".join(value) if isinstance(value, list) else \
        f"{value:g}" if isinstance(value, float) else str(value)

    def change(song: Song) -> None:
        s = song.section(section_id)
        overrides = dict(s.overrides)
        if value is None:
            overrides.pop(key, None)
        else:
            overrides[key] = value
        s.overrides = overrides
        song.notify("sections", song.sections)

    session.edit(f"{sec.label}: {key} {shown}", change, sections={section_id})


def regenerate_overrides(song: Song, section_id: str, prompt: str | None = None) -> dict:
    """The plan overrides a regeneration of the section follows: genre and mood words of ``prompt`` (as
    ``session.regenerate`` reads them), then the section's own genre and mood; the form with every section's
    instruments override when any section has one. Energy needs none (the token header reads it)."""
    out: dict[str, Any] = {}
    if prompt:
        from ..prompt.parse import parse_prompt

        p = parse_prompt(prompt)
        out = {k: getattr(p, k) for k in ("genre", "mood") if k in p.stated or getattr(p, k)}
    sec = song.section(section_id)
    out.update({k: sec.overrides[k] for k in ("genre", "mood") if sec.overrides.get(k)})
    if any(s.overrides.get("instruments") is not None for s in song.sections):
        plan_form = (song.plan or {}).get("form") or []
        aligned = len(plan_form) == len(song.sections) and all(isinstance(f, dict) for f in plan_form)
        form = [dict(plan_form[i]) if aligned else {"label": s.label, "bars": s.length_bars}
                for i, s in enumerate(song.sections)]
        for f, s in zip(form, song.sections):
            if s.overrides.get("instruments") is not None:
                f["instruments"] = list(s.overrides["instruments"])
        out["form"] = form
    return out


def start_regenerate(session: ProjectSession, section_id: str, track_id: str | None, seed: int | None,
                     prompt: str | None, render: bool, progress):
    """``session.regenerate`` with the section's overrides (the session's own call when it has none)."""
    sec = session.song.section(section_id)
    if not any(sec.overrides.get(k) for k in ("genre", "mood")) and \
            not any(s.overrides.get("instruments") is not None for s in session.song.sections):
        return session.regenerate(section_id, track=track_id, seed=seed, prompt=prompt, render=render,
                                  progress=progress)
    from ..engine import operations as ops

    overrides = regenerate_overrides(session.song, section_id, prompt)
    song, tensors, names = session.song.copy(), dict(session.tensors), set(session.audio)
    opts = session.diffusion if render else None
    return session.start("regenerate", f"Regenerate {sec.label}", lambda ctx: ops.regenerate(
        ctx, song, tensors, names, sec.id, track_id, seed, overrides, None, session.structure_model, opts), progress)


class SectionOverrides(QWidget):
    """See module docstring: ``attach(session, timeline)``, then it follows the timeline's selected section."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sectionOverrides")
        self.session: ProjectSession | None = None
        self.timeline = None
        self.section_id: str | None = None
        self._filling = False
        self.title = QLabel(objectName="overrideTitle")
        self.title.setProperty("role", "hint")
        self.energy = QDoubleSpinBox(objectName="overrideEnergy", minimum=-0.05, maximum=1.0, singleStep=0.05,
                                     decimals=2)
        self.energy.setSpecialValueText(SONG)
        self.energy.setKeyboardTracking(False)  # one change when the typed value is entered, not per keystroke
        self.energy.setToolTip("How intense this section is, 0 (sparse, quiet) to 1 (full, loud); the lowest value "
                               "means as the song's plan says")
        self.genre = QComboBox(objectName="overrideGenre")
        self.genre.addItems([SONG] + sorted(GENRES))
        self.genre.setToolTip("A genre for this section only (Regenerate Section and the renderer follow it)")
        self.mood = QComboBox(objectName="overrideMood")
        self.mood.addItems([SONG] + sorted(MOODS))
        self.mood.setToolTip("A mood for this section only")
        self.instruments = QListWidget(objectName="overrideInstruments")
        self.instruments.setToolTip("The tracks that play in this section (all checked: as the song)")
        form = QFormLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Energy", self.energy)
        form.addRow("Genre", self.genre)
        form.addRow("Mood", self.mood)
        form.addRow("Plays", self.instruments)
        self.fields = QWidget()
        self.fields.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        col.addWidget(self.title)
        col.addWidget(self.fields)
        self.energy.valueChanged.connect(lambda v: self._set("energy", None if v < 0 else round(float(v), 2)))
        self.genre.currentTextChanged.connect(lambda t: self._set("genre", None if t == SONG else t))
        self.mood.currentTextChanged.connect(lambda t: self._set("mood", None if t == SONG else t))
        self.instruments.itemChanged.connect(lambda item: self._set_instruments())
        self._later = QTimer(self, singleShot=True, interval=0)  # after a change: not inside the sender's signal
        self._later.timeout.connect(lambda: self.show_section(self.timeline.selected_section_index()))
        self.show_section(-1)

    def attach(self, session: ProjectSession, timeline) -> None:
        self.session, self.timeline = session, timeline
        timeline.selectionChanged.connect(lambda: self.show_section(timeline.selected_section_index()))
        session.subscribe(lambda info: self._later.start())

    def show_section(self, index: int) -> None:
        song = self.session.song if self.session is not None else None
        sec = song.sections[index] if song is not None and 0 <= index < len(song.sections) else None
        self.section_id = sec.id if sec else None
        self.fields.setVisible(sec is not None)
        if sec is None:
            self.title.setText("Select a section on the timeline to give it its own energy, genre, mood or "
                               "instruments (Regenerate Section follows them)")
            self.title.setWordWrap(True)
            return
        self.title.setText(f"{sec.label} · bars {sec.start_bar + 1}–{sec.end_bar}: Regenerate Section follows these")
        o = sec.overrides
        plan_energy = (song.plan or {}).get("energy") or []
        song_energy = plan_energy[index] if index < len(plan_energy) and len(plan_energy) == len(song.sections) else None
        self._filling = True
        try:
            self.energy.setSpecialValueText(SONG if song_energy is None else f"(as the song: {float(song_energy):.2f})")
            self.energy.setValue(float(o["energy"]) if o.get("energy") is not None else -0.05)
            for combo, key in ((self.genre, "genre"), (self.mood, "mood")):
                value = o.get(key) or SONG
                if combo.findText(value) < 0:
                    combo.addItem(value)
                combo.setCurrentText(value)
            playing = o.get("instruments")
            self.instruments.clear()
            for t in song.tracks:
                item = QListWidgetItem(t.name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if playing is None or t.name in playing
                                   else Qt.CheckState.Unchecked)
                self.instruments.addItem(item)
            fit_height(self.instruments, max(2, min(6, len(song.tracks))), self.instruments.sizeHintForRow(0),
                       header=False)
        finally:
            self._filling = False

    def _set(self, key: str, value) -> None:
        if self._filling or self.session is None or self.section_id is None:
            return
        try:
            set_section_override(self.session, self.section_id, key, value)
        except MelodexError as e:
            self.timeline.on_error("Cannot change the section", e)

    def _set_instruments(self) -> None:
        if self._filling:
            return
        items = [self.instruments.item(i) for i in range(self.instruments.count())]
        on = [it.text() for it in items if it.checkState() == Qt.CheckState.Checked]
        if not on:  # a section needs someone playing: the last uncheck is refused
            self._later.start()
            return
        self._set("instruments", None if len(on) == len(items) else on)
