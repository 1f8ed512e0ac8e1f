"""The "What works" page: on the first start (QSettings ``firstRunDone``) the window shows what the machine has
(models and their hashes, a SoundFont, an audio output, the compute device) and what to install for what is
missing: the same check as ``melodex doctor`` (``engine.checks``)."""
from __future__ import annotations

import re
import threading
from html import escape

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from ..engine.checks import Check, essentials_ok, run_checks
from .theme import colors

SETTING = "firstRunDone"
MARKS = {"ok": ("✓", "solo"), "warning": ("!", "warning"), "missing": ("✗", "danger")}


def _rich(text: str) -> str:
    """Escaped text with `commands` in code type."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def checks_html(checks: list[Check], theme: str = "dark") -> str:
    """One row per check: a mark in the check's colour, the name, what was found and what to install."""
    c = colors(theme)
    rows = []
    for check in checks:
        mark, colour = MARKS[check.status]
        fix = f"<br><span style='color:{c['text_dim']}'>→ {_rich(check.fix)}</span>" if check.fix else ""
        rows.append(f"<tr><td style='color:{c[colour]}; font-weight:bold; padding-right:8px'>{mark}</td>"
                    f"<td style='padding-right:12px'><b>{escape(check.name[:1].upper() + check.name[1:])}</b></td>"
                    f"<td>{_rich(check.detail)}{fix}</td></tr>")
    return "<table cellspacing='6'>" + "".join(rows) + "</table>"


class FirstRunDialog(QDialog):
    """What works on this machine, from ``run_checks()``; non-modal, closed with Close."""

    def __init__(self, parent: QWidget | None = None, checks: list[Check] | None = None, theme: str = "dark"):
        super().__init__(parent)
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to Melodex Studio")
        self.checks = run_checks() if checks is None else checks
        ok = essentials_ok(self.checks)
        summary = QLabel(objectName="firstRunSummary")
        summary.setWordWrap(True)
        summary.setText("<h3>What works on this computer</h3><p>" + (
            "Everything you need to write songs is here. Items marked ! or ✗ only take a part away; the line "
            "under each says how to add it." if ok else
            "Something Melodex Studio needs to write songs is missing: see the ✗ lines and what to install. "
            "Opening and editing projects still works.") + "</p>")
        table = QLabel(objectName="firstRunChecks")
        table.setWordWrap(True)
        table.setTextFormat(Qt.TextFormat.RichText)
        table.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        table.setText(checks_html(self.checks, theme))
        hint = QLabel("Run <code>melodex doctor</code> in a terminal for the same check at any time.")
        hint.setObjectName("firstRunHint")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this page and start making music")
        buttons.rejected.connect(self.close)
        col = QVBoxLayout(self)
        for w in (summary, table, hint, buttons):
            col.addWidget(w)
        self.resize(640, self.sizeHint().height())


def show_first_run(parent: QWidget, settings: QSettings | None = None, theme: str = "dark",
                   checks: list[Check] | None = None) -> FirstRunDialog | None:
    """Show the page once: the first time it is called for ``settings`` (default: the app's QSettings)."""
    settings = settings if settings is not None else QSettings()
    if settings.value(SETTING, False, type=bool):
        return None
    dlg = FirstRunDialog(parent, checks=checks, theme=theme)
    settings.setValue(SETTING, True)
    settings.sync()
    dlg.show()
    return dlg


class _Delivery(QObject):
    done = Signal(object)  # the checks, emitted on the worker thread, received on the GUI thread


def show_first_run_later(window: QWidget, theme: str = "dark") -> None:
    """``show_first_run`` without holding up the window: the checks (model hashes, audio devices, packages: about
    half a second) run on a worker thread and the page opens when they are done, as ``window.first_run_dialog``.
    ``window.first_run_state``: 'checking', then 'shown' or 'skipped' (not the first start)."""
    if QSettings().value(SETTING, False, type=bool):
        window.first_run_state = "skipped"
        return
    window.first_run_state = "checking"
    delivery = _Delivery(window)

    def show(checks) -> None:
        window.first_run_dialog = show_first_run(window, theme=theme, checks=checks)
        window.first_run_state = "shown" if window.first_run_dialog is not None else "skipped"
        delivery.deleteLater()

    delivery.done.connect(show, Qt.ConnectionType.QueuedConnection)
    threading.Thread(target=lambda: delivery.done.emit(run_checks()), name="melodex-first-run-checks",
                     daemon=True).start()
