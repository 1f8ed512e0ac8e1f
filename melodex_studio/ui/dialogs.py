"""Small dialogs: the keyboard shortcut sheet and the About box (version, models, device)."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QMessageBox, QTableWidget, QTableWidgetItem, \
    QVBoxLayout, QWidget

from .actions import shortcut_table
from .status import detect_device


def show_shortcuts(parent: QWidget) -> QDialog:
    """A table of every shortcut (from the action table), non-modal."""
    dlg = QDialog(parent)
    dlg.setObjectName("shortcutsDialog")
    dlg.setWindowTitle("Keyboard Shortcuts")
    rows = shortcut_table()
    table = QTableWidget(len(rows), 3, dlg)
    table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    buttons.rejected.connect(dlg.close)
    col = QVBoxLayout(dlg)
    col.addWidget(table)
    col.addWidget(buttons)
    dlg.resize(520, 560)
    dlg.show()
    return dlg


def about_text(session) -> str:
    """Version, models (name, sha256 prefix, licence from the card) and device, as rich text."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version("melodex-studio")
    except PackageNotFoundError:
        ver = "development"
    lines = [f"<h3>Melodex Studio {ver}</h3>", "<p>Describe a song in words; edit the arrangement; render it locally."
             "</p>", f"<p><b>Device:</b> {detect_device(session.device)}</p>", "<p><b>Models</b></p><ul>"]
    try:
        from ..engine.models import list_models

        for m in list_models():
            licence = _licence(m.card)
            lines.append(f"<li>{m.name} ({m.kind}, {m.parameters / 1e6:.1f} M parameters) · sha256 {m.sha256[:12]}"
                         f"{' · ' + licence if licence else ''}</li>")
    except Exception as e:  # noqa: BLE001 - the About box always opens
        lines.append(f"<li>models could not be listed: {e}</li>")
    lines.append("</ul>")
    return "".join(lines)


def _licence(card) -> str:
    if card is None:
        return ""
    try:
        for line in card.read_text(encoding="utf-8").splitlines():
            if "licen" in line.lower():
                return line.strip("#-*: ").strip()[:80]
    except OSError:
        pass
    return ""


def show_about(parent: QWidget, session) -> None:
    QMessageBox.about(parent, "About Melodex Studio", about_text(session))
