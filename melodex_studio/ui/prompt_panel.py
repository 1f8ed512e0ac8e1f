"""The prompt panel: a multi-line prompt, the parsed StylePlan as editable fields, seed, renderer, and the
Generate / Regenerate Section / Regenerate Track / Cancel buttons.

Typing re-parses the prompt (``prompt.parse.parse_prompt``, pure Python) after a short pause and shows the
plan; fields the prompt stated are marked in the accent colour, defaults are shown as suggestions. Editing a
field changes the plan the next Generate uses (the prompt text stays as typed); the instruments are a table
(``plan_instruments``). Under the plan, the selected section's own overrides (``section_overrides``, stored in
the song). The buttons trigger the window's actions (declared in ``ui/actions.py``), so the panel itself starts
nothing.
"""
from __future__ import annotations

import copy
import random

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIntValidator
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QPlainTextEdit, QPushButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem, QToolButton,
    QVBoxLayout, QWidget,
)

from ..prompt.parse import parse_prompt
from ..prompt.plan import SectionPlan, StylePlan
from ..prompt.vocabulary import GENRES, MOODS
from ..song import Key, Song
from ..song.limits import SEED_RANGE
from .icons import icon
from .plan_instruments import InstrumentTable, fit_height
from .section_overrides import SectionOverrides

KEYS = [f"{n} {m}" for m in ("major", "minor") for n in ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")]
METERS = ["4/4", "3/4", "2/4", "6/8", "12/8", "5/4", "7/8", "9/8", "2/2"]
EXAMPLE = "dreamy lofi hip hop, 82 bpm, F major, intro 4, verse 8, chorus 8, verse 8, chorus 8, outro 4, soft piano"


def _heading(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setProperty("role", "heading")
    return label


class PromptPanel(QWidget):
    """See module docstring. ``planChanged`` fires when the parsed or edited plan changes."""

    planChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("promptPanel")
        self._plan = parse_prompt("")
        self._filling = False
        self._labels: dict[str, QLabel] = {}
        self._parse_timer = QTimer(self, singleShot=True, interval=250)
        self._parse_timer.timeout.connect(self.parse_now)

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setObjectName("promptEdit")
        self.prompt_edit.setPlaceholderText(f"Describe a song, e.g. “{EXAMPLE}”")
        self.prompt_edit.setToolTip("Describe the song in words: style, mood, tempo (BPM), key, meter, form "
                                    "(“verse 8, chorus 8”) and instruments. The plan below follows as you type.")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setFixedHeight(112)
        self.prompt_edit.textChanged.connect(self._parse_timer.start)

        self.tempo = QDoubleSpinBox(objectName="planTempo", minimum=20.0, maximum=300.0, decimals=1, suffix=" BPM")
        self.tempo.setToolTip("Tempo in beats (quarter notes) per minute")
        self.key = QComboBox(objectName="planKey")
        self.key.addItems(KEYS)
        self.key.setToolTip("Key of the song")
        self.meter = QComboBox(objectName="planMeter")
        self.meter.addItems(METERS)
        self.meter.setToolTip("Time signature (beats per bar / beat unit)")
        self.genre = QComboBox(objectName="planGenre")
        self.genre.addItems(sorted(GENRES))
        self.genre.setToolTip("Genre: decides the default instruments, groove and production")
        self.mood = QComboBox(objectName="planMood")
        self.mood.addItems(["(none)"] + sorted(MOODS))
        self.mood.setToolTip("Mood: shades tempo, mode and energy")
        self.form = QTableWidget(0, 2, objectName="planForm")
        self.form.setHorizontalHeaderLabels(["Section", "Bars"])
        self.form.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.form.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.form.verticalHeader().setVisible(False)
        self.form.verticalHeader().setDefaultSectionSize(24)
        self.form.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.form.setToolTip("The form: one row per section with its length in bars (double-click to edit)")
        self.form.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.form_total = QLabel()
        self.form_total.setProperty("role", "hint")
        add_row, del_row = QToolButton(text="+"), QToolButton(text="−")
        add_row.setToolTip("Add a section at the end of the form")
        del_row.setToolTip("Remove the selected section from the form")
        add_row.clicked.connect(self._add_form_row)
        del_row.clicked.connect(self._remove_form_row)
        self.instruments = InstrumentTable(self)
        self.instruments.edited.connect(self._edit_instruments)
        self.section_overrides = SectionOverrides(self)

        self.seed = QLineEdit(objectName="seedEdit", placeholderText="new each time")
        self.seed.setValidator(QIntValidator(0, 2**31 - 1, self))
        self.seed.setToolTip("Random seed: the same seed, prompt and models give the same song")
        self.seed_lock = QToolButton(checkable=True, objectName="seedLock")
        self.seed_lock.setIcon(icon("unlock"))
        self.seed_lock.setToolTip("Lock the seed (otherwise every Generate rolls a new one)")
        self.seed_lock.toggled.connect(lambda on: self.seed_lock.setIcon(icon("lock" if on else "unlock")))
        self.seed.textEdited.connect(lambda text: self.seed_lock.setChecked(bool(text.strip())))
        dice = QToolButton(objectName="seedDice")
        dice.setIcon(icon("dice"))
        dice.setToolTip("Roll a new seed")
        dice.clicked.connect(self.roll_seed)
        self.renderer = QComboBox(objectName="rendererChoice")
        self.renderer.addItems(["SoundFont preview (instant)", "Diffusion renderer"])
        self.renderer.setToolTip("SoundFont: the score only, played by the instant preview. Diffusion: render "
                                 "every track to audio with the local renderer after generating (slower)")
        self.steps = QSpinBox(objectName="diffusionSteps", minimum=1, maximum=200, value=8)
        self.steps.setToolTip("Diffusion sampler steps (more: slower, finer)")
        self.guidance = QDoubleSpinBox(objectName="diffusionGuidance", minimum=0.0, maximum=20.0, value=2.0,
                                       singleStep=0.25)
        self.guidance.setToolTip("Classifier-free guidance weight of the renderer")

        self.vary_step = QSpinBox(objectName="varyStep", minimum=0, maximum=200, value=4)
        self.vary_step.setToolTip("Vary Section restarts the renderer from this recorded sampler step (lower: more "
                                  "change; the steps a render recorded are listed with its take)")
        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.regen_section_button = QPushButton("Regenerate Section", objectName="regenerateSectionButton")
        self.regen_track_button = QPushButton("Regenerate Track", objectName="regenerateTrackButton")
        self.cancel_button = QPushButton("Cancel", objectName="cancelButton")
        self.warning = QLabel(wordWrap=True)
        self.warning.setProperty("role", "hint")

        # --- layout --------------------------------------------------------------------------------
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(12, 10, 12, 12)
        col.setSpacing(8)
        col.addWidget(_heading("Prompt"))
        col.addWidget(self.prompt_edit)
        col.addWidget(self.warning)
        col.addSpacing(4)
        col.addWidget(_heading("Plan"))
        legend = QLabel("<span style='color:palette(highlight); font-weight:600'>Blue</span>: stated in your prompt · "
                        "grey: a suggestion")
        legend.setProperty("role", "hint")
        col.addWidget(legend)
        grid = QFormLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(6)
        grid.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for name, text, widget in (("tempo_bpm", "Tempo", self.tempo), ("key", "Key", self.key),
                                   ("meter", "Meter", self.meter), ("genre", "Genre", self.genre),
                                   ("mood", "Mood", self.mood)):
            label = QLabel(text)
            self._labels[name] = label
            grid.addRow(label, widget)
        col.addLayout(grid)
        form_head = QHBoxLayout()
        self._labels["form"] = QLabel("Form")
        form_head.addWidget(self._labels["form"])
        form_head.addStretch(1)
        form_head.addWidget(self.form_total)
        form_head.addWidget(add_row)
        form_head.addWidget(del_row)
        col.addLayout(form_head)
        col.addWidget(self.form)
        self._labels["instruments"] = QLabel("Instruments")
        ins_head = QHBoxLayout()
        ins_head.addWidget(self._labels["instruments"])
        ins_head.addStretch(1)
        ins_head.addLayout(self.instruments.buttons())
        col.addLayout(ins_head)
        col.addWidget(self.instruments)
        col.addSpacing(4)
        col.addWidget(_heading("Section"))
        col.addWidget(self.section_overrides)
        col.addSpacing(4)
        col.addWidget(_heading("Generation"))
        seed_row = QHBoxLayout()
        seed_row.setSpacing(4)
        seed_row.addWidget(QLabel("Seed"))
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.seed_lock)
        seed_row.addWidget(dice)
        col.addLayout(seed_row)
        adv_toggle = QToolButton(text="Advanced", checkable=True, objectName="advancedToggle")
        adv_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        adv_toggle.setArrowType(Qt.ArrowType.RightArrow)
        adv_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        adv = QFormLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.addRow("Renderer", self.renderer)
        adv.addRow("Steps", self.steps)
        adv.addRow("Guidance", self.guidance)
        adv.addRow("Vary from step", self.vary_step)
        self.advanced.setVisible(False)
        adv_toggle.toggled.connect(lambda on: (self.advanced.setVisible(on), adv_toggle.setArrowType(
            Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)))
        col.addWidget(adv_toggle)
        col.addWidget(self.advanced)
        col.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        buttons = QGridLayout()
        buttons.setContentsMargins(12, 8, 12, 12)
        buttons.setSpacing(6)
        buttons.addWidget(self.generate_button, 0, 0, 1, 2)
        buttons.addWidget(self.regen_section_button, 1, 0)
        buttons.addWidget(self.regen_track_button, 1, 1)
        buttons.addWidget(self.cancel_button, 2, 0, 1, 2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(scroll, 1)
        outer.addLayout(buttons)

        self.tempo.valueChanged.connect(lambda v: self._edit("tempo_bpm", float(v)))
        self.key.currentTextChanged.connect(lambda t: self._edit("key", Key.parse(t)))
        self.meter.currentTextChanged.connect(self._edit_meter)
        self.genre.currentTextChanged.connect(lambda t: self._edit("genre", t))
        self.mood.currentTextChanged.connect(lambda t: self._edit("mood", None if t == "(none)" else t))
        self.form.itemChanged.connect(lambda item: self._edit_form())
        self.parse_now()

    def attach(self, session, timeline) -> None:
        """Follow ``timeline``'s selected section with its overrides (edited through ``session``)."""
        self.section_overrides.attach(session, timeline)

    # --- buttons <-> actions -------------------------------------------------------------------------
    def bind(self, actions: dict[str, QAction]) -> None:
        """Each button triggers its window action and follows its enabled state, icon and tooltip."""
        for button, action_id in ((self.generate_button, "generate"), (self.regen_section_button, "regenerate_section"),
                                  (self.regen_track_button, "regenerate_track"), (self.cancel_button, "cancel")):
            action = actions[action_id]
            button.setIcon(action.icon())
            button.setToolTip(action.toolTip())
            button.clicked.connect(action.trigger)
            button.setEnabled(action.isEnabled())
            action.changed.connect(lambda b=button, a=action: b.setEnabled(a.isEnabled()))

    # --- the plan ------------------------------------------------------------------------------------
    def prompt_text(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def set_prompt(self, text: str) -> None:
        """Type ``text`` into the prompt and parse it at once."""
        self.prompt_edit.setPlainText(text)
        self.parse_now()

    def plan(self) -> StylePlan:
        """A copy of the plan the next Generate follows (parsed, then edited)."""
        if self._parse_timer.isActive():
            self.parse_now()
        return copy.deepcopy(self._plan)

    def parse_now(self) -> None:
        self._parse_timer.stop()
        self._plan = parse_prompt(self.prompt_text())
        self._fill()
        self.planChanged.emit()

    def show_song(self, song: Song) -> None:
        """Show an opened or generated song's prompt and plan (the prompt is not re-parsed)."""
        if not song.plan:
            return
        try:
            plan = StylePlan.from_dict(song.plan)
        except (TypeError, ValueError, KeyError):
            return
        prompt = song.generation.get("prompt") if isinstance(song.generation, dict) else None
        if prompt and prompt != self.prompt_text():
            self.prompt_edit.blockSignals(True)
            self.prompt_edit.setPlainText(prompt)
            self.prompt_edit.blockSignals(False)
        self._plan = plan
        self._fill()

    def _fill(self) -> None:
        p = self._plan
        self._filling = True
        try:
            self.tempo.setValue(p.tempo_bpm)
            key_name = f"{p.key.tonic_name} {p.key.mode}"
            if self.key.findText(key_name) < 0:
                key_name = next((k for k in KEYS if Key.parse(k) == p.key), KEYS[0])
            self.key.setCurrentText(key_name)
            meter = f"{p.meter[0]}/{p.meter[1]}"
            if self.meter.findText(meter) < 0:
                self.meter.addItem(meter)
            self.meter.setCurrentText(meter)
            if self.genre.findText(p.genre) < 0:
                self.genre.addItem(p.genre)
            self.genre.setCurrentText(p.genre)
            self.mood.setCurrentText(p.mood if p.mood and self.mood.findText(p.mood) >= 0 else "(none)")
            self.form.setRowCount(len(p.form))
            for i, s in enumerate(p.form):
                self.form.setItem(i, 0, QTableWidgetItem(s.label))
                bars = QTableWidgetItem(str(s.bars))
                bars.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.form.setItem(i, 1, bars)
            self._fit_form()
            self.instruments.show_instruments(p.instruments)
            self.warning.setText(" ".join(p.warnings))
            self.warning.setVisible(bool(p.warnings))
        finally:
            self._filling = False
        self._show_stated()

    def _fit_form(self) -> None:
        """The form table as high as its rows (2 to 10 rows; more scroll)."""
        fit_height(self.form, max(2, min(10, self.form.rowCount())))

    def _show_stated(self) -> None:
        p = self._plan
        self.form_total.setText(f"{p.total_bars} bars")
        for name, label in self._labels.items():
            stated = name in p.stated or (name == "instruments" and bool(p.stated_instruments))
            label.setProperty("stated", "true" if stated else "false")
            label.setToolTip("Stated in your prompt" if stated else "A suggestion (not stated in the prompt): "
                                                                     "edit it or describe it in the prompt")
            label.style().unpolish(label)
            label.style().polish(label)

    def _edit(self, name: str, value) -> None:
        if self._filling:
            return
        setattr(self._plan, name, value)
        self._plan.stated.add(name)
        self._show_stated()
        self.planChanged.emit()

    def _edit_instruments(self) -> None:
        """The table's instruments become the plan's; drums play when a drum kit row is in the table."""
        instruments = self.instruments.instruments()
        self._plan.drums = any(i.is_drum for i in instruments)
        self._edit("instruments", instruments)

    def _edit_meter(self, text: str) -> None:
        try:
            num, den = (int(x) for x in text.split("/"))
        except ValueError:
            return
        self._edit("meter", (num, den))

    def _edit_form(self) -> None:
        if self._filling:
            return
        form = []
        for r in range(self.form.rowCount()):
            label, bars = self.form.item(r, 0), self.form.item(r, 1)
            try:
                n = max(1, min(256, int(bars.text()))) if bars is not None else 4
            except ValueError:
                n = 4
            old = self._plan.form[r] if r < len(self._plan.form) else SectionPlan("verse", n)
            form.append(SectionPlan(label.text().strip() if label and label.text().strip() else "verse", n,
                                    old.energy, old.instruments, old.key, old.tempo_bpm, old.style_text))
        self._plan.energy = (self._plan.energy + [0.6] * len(form))[:len(form)]
        self._edit("form", form)

    def _add_form_row(self) -> None:
        r = self.form.rowCount()
        self.form.blockSignals(True)
        self.form.insertRow(r)
        self.form.setItem(r, 0, QTableWidgetItem("verse"))
        self.form.setItem(r, 1, QTableWidgetItem("8"))
        self.form.blockSignals(False)
        self._fit_form()
        self._edit_form()

    def _remove_form_row(self) -> None:
        rows = sorted({i.row() for i in self.form.selectedIndexes()}, reverse=True) or [self.form.rowCount() - 1]
        if self.form.rowCount() <= 1:
            return
        self.form.blockSignals(True)
        for r in rows:
            self.form.removeRow(r)
        self.form.blockSignals(False)
        self._fit_form()
        self._edit_form()

    # --- seed and renderer ---------------------------------------------------------------------------
    def show_section(self, index: int) -> None:
        """Highlight row ``index`` of the form (the section selected on the timeline), when the form matches."""
        if 0 <= index < self.form.rowCount():
            self.form.selectRow(index)
        else:
            self.form.clearSelection()

    def roll_seed(self) -> int:
        seed = random.randrange(0, 2**31 - 1)
        self.seed.setText(str(seed))
        return seed

    def next_seed(self) -> int:
        """The seed of the next job: the field's value when locked (or typed), else a new roll shown in the field."""
        text = self.seed.text().strip()
        if self.seed_lock.isChecked() and text:
            return max(SEED_RANGE[0], min(int(text), SEED_RANGE[1]))
        return self.roll_seed()

    def render_audio(self) -> bool:
        """True when the diffusion renderer is chosen (the job renders audio after the score)."""
        return self.renderer.currentIndex() == 1
