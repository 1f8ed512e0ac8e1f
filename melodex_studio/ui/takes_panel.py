"""The takes of the selected section (or of one track in it), part of the inspector.

Every take shows what made it: the operation, the model, seed, steps, strength or variation, guidance and
when. A click (or Enter, or "Use") makes a take the one that plays, ★ keeps it (a favourite clean-ups
leave alone), Delete removes it; A/B switches between two chosen takes at each press. Each of these is one
session call, so one undoable change; the panel redraws from the session afterwards.

"Vary" resumes the current diffusion render of the clip (or of the whole section) from a recorded sampler
step with a new seed: early steps give a new render, late steps a close variation. It runs as a window job
(``JobActions.start_vary``); the new take is added to the list when the job is applied.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..engine.session import ProjectSession, TakeInfo
from ..errors import MelodexError

NO_DIFFUSION = ("This clip has no diffusion render to vary: choose the Diffusion renderer under Advanced and "
                "Generate or Regenerate it first")


def take_summary(n: int, t: TakeInfo) -> str:
    """'Take 3 · vary from step 4 · piano · 18:02' (the first line of a take in the list)."""
    what = t.op if t.op != "vary" or "from_step" not in t.details else f"vary from step {t.details['from_step']}"
    scope = t.track if t.track != "all" else "all tracks"
    return f"Take {n} · {what} · {scope} · {_when(t.created)}"


def take_details(t: TakeInfo) -> str:
    """What made the take: model, seed, steps, strength / variation, guidance (its time is in ``take_summary``)."""
    d = t.details
    parts = []
    if t.kind == "render":
        renderer = (d.get("models") or {}).get("renderer", "")
        parts.append("diffusion" + (f" {renderer[:6]}" if renderer else ""))
    else:
        model = d.get("structure_model") or ""
        parts.append("structure" + (f" {str(model).rsplit('/', 1)[-1][:24]}" if model else ""))
    if t.seed is not None:
        parts.append(f"seed {t.seed}")
    if "steps" in d:
        parts.append(f"{d['steps']} steps")
    if "variation" in d:
        parts.append(f"variation {float(d['variation']):g}")
    elif "strength" in d:
        parts.append(f"strength {float(d['strength']):g}")
    if "guidance" in d:
        parts.append(f"guidance {float(d['guidance']):g}")
    if "from_bar" in d and d["from_bar"] is not None:
        parts.append(f"from bar {int(d['from_bar']) + 1}")
    return " · ".join(p for p in parts if p)


def _when(created: str) -> str:
    try:
        at = datetime.fromisoformat(created).astimezone()
    except (TypeError, ValueError):
        return created or ""
    now = datetime.now(timezone.utc).astimezone()
    return at.strftime("%H:%M") if at.date() == now.date() else at.strftime("%d %b %H:%M")


class TakesPanel(QWidget):
    """``show_takes(section_id, track_id)``; ``host`` is the window (``start_vary``, ``jobs``) or None (no Vary)."""

    def __init__(self, session: ProjectSession, on_error: Callable[[str, Exception], None], host=None, parent=None):
        super().__init__(parent)
        self.session, self.on_error, self.host = session, on_error, host
        self.section_id: str | None = None
        self.track_id: str | None = None
        self.ab: tuple[str, str] | None = None  # the two takes A/B switches between
        self._infos: list[TakeInfo] = []
        self._steps: list[int] = []

        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        self.scope = QLabel(objectName="takesScope", wordWrap=True)
        col.addWidget(self.scope)
        self.takes = QListWidget(objectName="takesList")
        self.takes.setToolTip("Every version of this section (or clip) with what made it; ▶ plays, ★ is kept. "
                              "Click a take (or press Enter) to hear it in the song (undoable)")
        self.takes.setMinimumHeight(130)
        self.takes.setWordWrap(True)
        self.takes.setSpacing(2)
        self.takes.setAlternatingRowColors(True)  # a take's two lines read as one item
        self.takes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.takes.itemClicked.connect(lambda item: self._later(self.use_selected))
        self.takes.itemActivated.connect(lambda item: self._later(self.use_selected))
        self.takes.currentRowChanged.connect(lambda _r: self._update_buttons())
        col.addWidget(self.takes)

        row = QHBoxLayout()
        row.setSpacing(4)
        self.use_take = QPushButton("Use", objectName="useTakeButton")
        self.use_take.setToolTip("Make the selected take the one that plays (undoable)")
        self.use_take.clicked.connect(self.use_selected)
        self.keep = QPushButton("☆ Keep", objectName="keepTakeButton", checkable=True)
        self.keep.setToolTip("Keep the selected take as a favourite (clean-ups leave it alone); press again to unkeep")
        self.keep.clicked.connect(self.toggle_keep)
        self.delete = QPushButton("Delete", objectName="deleteTakeButton")
        self.delete.setToolTip("Delete the selected take and its audio data (undo brings it back)")
        self.delete.clicked.connect(self.delete_selected)
        for b in (self.use_take, self.keep, self.delete):
            row.addWidget(b)
        col.addLayout(row)

        ab_row = QHBoxLayout()
        self.ab_button = QPushButton("A/B", objectName="abCompareButton")
        self.ab_button.setToolTip("Compare two takes: the first press takes the one playing as A and the selected "
                                  "one as B; every press switches between them (each switch is undoable)")
        self.ab_button.clicked.connect(self.toggle_ab)
        self.ab_label = QLabel("Select another take, then press A/B", objectName="abLabel", wordWrap=True)
        self.ab_label.setProperty("role", "hint")
        ab_row.addWidget(self.ab_button)
        ab_row.addWidget(self.ab_label, 1)
        col.addLayout(ab_row)

        self.vary_box = QWidget(objectName="varyBox")
        g = QGridLayout(self.vary_box)
        g.setContentsMargins(0, 6, 0, 0)
        g.setHorizontalSpacing(6)
        g.setVerticalSpacing(4)
        self.vary_title = QLabel("Vary the render")
        self.vary_title.setStyleSheet("font-weight: 600;")
        g.addWidget(self.vary_title, 0, 0, 1, 3)
        self.vary_step_label = QLabel(objectName="varyStepLabel")
        self.vary_step_label.setToolTip("The sampler step the variation starts from, of the take's steps")
        g.addWidget(self.vary_step_label, 1, 0, 1, 3)
        self.vary_step = QSlider(Qt.Orientation.Horizontal, objectName="varyStepSlider")
        self.vary_step.setToolTip("The recorded sampler step the variation starts from: early steps give a new "
                                  "render, late steps a close variation of this take")
        self.vary_step.setPageStep(1)
        self.vary_step.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.vary_step.valueChanged.connect(lambda _v: self._show_step())
        g.addWidget(self.vary_step, 2, 0, 1, 3)
        ends = QHBoxLayout()
        self.vary_new = QLabel("◂ new render")
        self.vary_new.setToolTip("Early steps: little of the take is kept, a new render")
        self.vary_close = QLabel("close variation ▸", alignment=Qt.AlignmentFlag.AlignRight)
        self.vary_close.setToolTip("Late steps: most of the take is kept, a close variation")
        for w in (self.vary_new, self.vary_close):
            w.setProperty("role", "hint")
            ends.addWidget(w)
        g.addLayout(ends, 3, 0, 1, 3)
        g.addWidget(QLabel("Seed"), 4, 0)
        self.vary_seed = QLineEdit(objectName="varySeed", placeholderText="random")
        self.vary_seed.setValidator(QRegularExpressionValidator(r"\d{0,18}"))
        self.vary_seed.setToolTip("Noise seed of the variation (empty: a new random one; the same seed gives the "
                                  "same result)")
        g.addWidget(self.vary_seed, 4, 1, 1, 2)
        g.addWidget(QLabel("Strength"), 5, 0)
        self.vary_strength = QDoubleSpinBox(objectName="varyStrength", minimum=0.0, maximum=1.0, singleStep=0.05,
                                            value=1.0, decimals=2)
        self.vary_strength.setToolTip("How much of the remaining noise is new: 1 = a fresh variation from the step, "
                                      "0 = the take again")
        g.addWidget(self.vary_strength, 5, 1, 1, 2)
        self.vary_button = QPushButton("Vary", objectName="varyButton")
        self.vary_button.setToolTip("Make a new take from the chosen step (runs as a job; undoable)")
        self.vary_button.clicked.connect(self.vary)
        g.addWidget(self.vary_button, 6, 0, 1, 3)
        g.setColumnStretch(1, 1)
        col.addWidget(self.vary_box)
        if host is not None and hasattr(host, "jobs"):
            host.jobs.started.connect(lambda _job: self._update_buttons())
            host.jobs.ended.connect(lambda _job: self._later(self._update_buttons))

    # --- what is shown -----------------------------------------------------------------------------
    def show_takes(self, section_id: str | None, track_id: str | None) -> None:
        if (section_id, track_id) != (self.section_id, self.track_id):
            self.ab = None
        self.section_id, self.track_id = section_id, track_id
        self.refresh()

    def infos(self) -> list[TakeInfo]:
        """The takes listed now (oldest first)."""
        return list(self._infos)

    def refresh(self) -> None:
        song = self.session.song
        sec = next((s for s in song.sections if s.id == self.section_id), None)
        tr = next((t for t in song.tracks if t.id == self.track_id), None)
        if sec is None:
            self._infos = []
            self.takes.clear()
            return
        self.scope.setText(f"Takes of {tr.name} in {sec.label}" if tr is not None else f"Takes of {sec.label} "
                           "(all tracks)")
        keep = self.selected_id()
        try:
            self._infos = self.session.takes(section=sec.id, track=tr.id if tr is not None else None)
        except MelodexError:
            self._infos = []
        self.takes.blockSignals(True)
        self.takes.clear()
        for n, t in enumerate(self._infos, start=1):
            mark = ("▶" if t.active else "  ") + (" ★" if t.kept else "")
            item = QListWidgetItem(f"{mark} {take_summary(n, t)}\n{take_details(t)}")
            item.setToolTip(f"{take_summary(n, t)}\n{take_details(t)}\nTake id {t.id}" +
                            ("\nPlays now" if t.active else "\nClick to hear it in the song"))
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            self.takes.addItem(item)
            if t.id == keep:
                self.takes.setCurrentItem(item)
        if not self._infos:
            self.takes.addItem("No takes yet")
            self.takes.item(0).setToolTip("Regenerate Section (or Track) writes a new take; every take is kept")
            self.takes.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
        self.takes.blockSignals(False)
        if self.ab is not None and not {a for a in self.ab} <= {t.id for t in self._infos}:
            self.ab = None
        self._fill_vary(sec, tr)
        self._update_buttons()

    def selected_id(self) -> str | None:
        item = self.takes.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select_take(self, take_id: str) -> None:
        """Select a take in the list (without using it)."""
        for i in range(self.takes.count()):
            if self.takes.item(i).data(Qt.ItemDataRole.UserRole) == take_id:
                self.takes.setCurrentRow(i)

    def _selected_info(self) -> TakeInfo | None:
        tid = self.selected_id()
        return next((t for t in self._infos if t.id == tid), None)

    def _update_buttons(self) -> None:
        t = self._selected_info()
        self.use_take.setEnabled(t is not None and not t.active)
        self.delete.setEnabled(t is not None)
        self.keep.setEnabled(t is not None)
        self.keep.setChecked(bool(t and t.kept))
        self.keep.setText("★ Kept" if t is not None and t.kept else "☆ Keep")
        self.ab_button.setEnabled(self.ab is not None or (t is not None and self._playing_for(t) is not None))
        if self.ab is not None:
            names = {i.id: f"Take {n}" for n, i in enumerate(self._infos, start=1)}
            now = "A" if self._active(self.ab[0]) else "B" if self._active(self.ab[1]) else "neither"
            self.ab_label.setText(f"A: {names.get(self.ab[0])} · B: {names.get(self.ab[1])} · playing {now}")
        else:
            self.ab_label.setText("Select another take, then press A/B")
        busy = self.host is not None and getattr(self.host, "busy", False)
        can = bool(self._steps) and self.host is not None and hasattr(self.host, "start_vary") and not busy
        self.vary_button.setEnabled(can)
        self.vary_step.setEnabled(bool(self._steps))
        tip = ("Make a new take from the chosen step (runs as a job; undoable)" if self._steps else NO_DIFFUSION)
        self.vary_button.setToolTip(tip if not busy else "Wait for the running job to finish")
        self.vary_box.setToolTip("" if self._steps else NO_DIFFUSION)

    def _active(self, take_id: str) -> bool:
        return any(t.id == take_id and t.active for t in self._infos)

    def _playing_for(self, t: TakeInfo) -> TakeInfo | None:
        """The take that plays where ``t`` would (same track and kind), when it is not ``t``."""
        return next((o for o in self._infos if o.active and o.id != t.id and o.track == t.track and o.kind == t.kind),
                    None)

    # --- take actions ---------------------------------------------------------------------------------
    def _later(self, fn) -> None:
        QTimer.singleShot(0, fn)  # out of the list's own signal: the change rebuilds the list

    def _call(self, title: str, fn) -> bool:
        try:
            fn()
            return True
        except MelodexError as e:
            self.on_error(title, e)
            return False

    def use_selected(self) -> None:
        t = self._selected_info()
        if t is not None and not t.active:
            self.use(t.id)

    def use(self, take_id: str) -> None:
        """Make ``take_id`` the take that plays (one undoable change); the list keeps it selected."""
        if self._call("Cannot use the take", lambda: self.session.use_take(take_id)):
            self.refresh()
            self.select_take(take_id)

    def toggle_keep(self) -> None:
        t = self._selected_info()
        if t is not None:
            self._call("Cannot keep the take", lambda: self.session.keep_take(t.id, not t.kept))
            self.refresh()
            self.select_take(t.id)

    def delete_selected(self) -> None:
        t = self._selected_info()
        if t is not None:
            self._call("Cannot delete the take", lambda: self.session.delete_take(t.id))
            self.refresh()

    def toggle_ab(self) -> None:
        """The first press pairs the take playing (A) with the selected one (B) and plays B; each further press
        plays the other one of the pair."""
        if self.ab is None:
            t = self._selected_info()
            other = self._playing_for(t) if t is not None else None
            if other is None:
                return
            self.ab = (other.id, t.id)
        a, b = self.ab
        self.use(b if self._active(a) else a)

    # --- vary -------------------------------------------------------------------------------------
    def _vary_source(self, sec, tr):
        """The current render takes Vary would resume: of the selected track, or of every track."""
        from ..engine.render_takes import current_take

        song = self.session.song
        tracks = [tr] if tr is not None else list(song.tracks)
        takes = [current_take(song, sec, t.id) for t in tracks]
        return takes if takes and all(t is not None for t in takes) else []

    def _fill_vary(self, sec, tr) -> None:
        sources = self._vary_source(sec, tr)
        steps = None
        for take in sources:
            rec = set(take.params.get("state", {}).get("steps_recorded", []))
            steps = rec if steps is None else steps & rec
        old = self._steps[self.vary_step.value()] if self._steps and self.vary_step.value() < len(self._steps) else None
        self._steps = sorted(steps or [])
        self._total = int(sources[0].params.get("steps", 0)) if sources else 0
        self.vary_step.blockSignals(True)
        self.vary_step.setRange(0, max(0, len(self._steps) - 1))
        if self._steps:
            self.vary_step.setValue(self._steps.index(old) if old in self._steps else len(self._steps) // 2)
        self.vary_step.blockSignals(False)
        self.vary_title.setText(f"Vary {tr.name} in {sec.label}" if tr is not None else f"Vary {sec.label} "
                                "(all tracks)")
        self._show_step()

    def step(self) -> int | None:
        """The recorded sampler step the slider points at (None: nothing to vary)."""
        return self._steps[self.vary_step.value()] if self._steps else None

    def set_step(self, step: int) -> None:
        """Point the slider at recorded ``step`` (ValueError when it was not recorded)."""
        self.vary_step.setValue(self._steps.index(step))

    def _show_step(self) -> None:
        k = self.step()
        self.vary_step_label.setText(f"From step {k} of {self._total}" if k is not None else "No recorded steps")

    def vary(self):
        """Start the Vary job for the shown clip (or section); returns the job or None."""
        k = self.step()
        if k is None or self.host is None or self.section_id is None:
            return None
        seed = int(self.vary_seed.text()) if self.vary_seed.text().strip() else None
        tracks = [self.track_id] if self.track_id is not None else None
        return self.host.start_vary(self.section_id, k, seed, tracks, float(self.vary_strength.value()))
