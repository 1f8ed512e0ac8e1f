"""Small dialogs: the keyboard shortcut sheet, the About box (version, models, device) and the licence texts."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, \
    QTextBrowser, QVBoxLayout, QWidget

from ..appinfo import LICENSE, NOTICES
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
    from ..appinfo import version

    ver = version()
    lines = [f"<h3>Melodex Studio {ver}</h3>", "<p>Describe a song in words; edit the arrangement; render it locally.</p>",
             f"<p><b>Device:</b> {detect_device(session.device)}</p>", "<p><b>Models</b></p><ul>"]
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
            line = line.strip("#-*: ").strip()
            if line.lower().startswith(("licence", "license")):  # a "Licence: ..." line, not prose about data
                return line[:80]
    except OSError:
        pass
    return ""


def show_about(parent: QWidget, session) -> QDialog:
    """The About box (non-modal): ``about_text`` and buttons for the licence and the third-party notices."""
    dlg = QDialog(parent)
    dlg.setObjectName("aboutDialog")
    dlg.setWindowTitle("About Melodex Studio")
    label = QLabel(about_text(session) + "<p>Free software under the MIT licence. It uses Qt (LGPL-3.0) through "
                   "PySide6, PyTorch and other open-source packages: see the third-party notices.</p>", dlg)
    label.setObjectName("aboutText")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    notices = buttons.addButton("Third-Party Notices…", QDialogButtonBox.ButtonRole.ActionRole)
    notices.setObjectName("noticesButton")
    notices.setToolTip("The licences of Qt, PyTorch and every other package, the SoundFont and the models' data")
    licence = buttons.addButton("Licence…", QDialogButtonBox.ButtonRole.ActionRole)
    licence.setObjectName("licenceButton")
    licence.setToolTip("Melodex Studio's own licence (MIT)")
    buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this box")
    notices.clicked.connect(lambda: show_document(dlg, NOTICES, "Third-Party Notices", "noticesDialog"))
    licence.clicked.connect(lambda: show_document(dlg, LICENSE, "Licence", "licenceDialog"))
    works = buttons.addButton("What Works…", QDialogButtonBox.ButtonRole.ActionRole)
    works.setObjectName("whatWorksButton")
    works.setToolTip("Check the models, SoundFont, audio output and device, and what to install (melodex doctor)")
    works.clicked.connect(lambda: _show_what_works(dlg))
    buttons.rejected.connect(dlg.close)
    col = QVBoxLayout(dlg)
    col.addWidget(label)
    col.addWidget(buttons)
    dlg.resize(560, dlg.sizeHint().height())
    dlg.show()
    return dlg


def _show_what_works(parent: QWidget) -> None:
    from .first_run import FirstRunDialog
    from .theme import Theme

    FirstRunDialog(parent, theme=Theme.name).show()


def show_document(parent: QWidget, name: str, title: str, object_name: str) -> QDialog:
    """A licence text (``appinfo.doc_text``) in a scrollable, read-only view; Markdown files as Markdown."""
    from ..appinfo import doc_text

    dlg = QDialog(parent)
    dlg.setObjectName(object_name)
    dlg.setWindowTitle(title)
    view = QTextBrowser(dlg)
    view.setObjectName("documentText")
    view.setOpenExternalLinks(True)
    text = doc_text(name)
    if name.endswith(".md"):
        view.setMarkdown(text)
    else:
        view.setPlainText(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dlg)
    buttons.rejected.connect(dlg.close)
    col = QVBoxLayout(dlg)
    col.addWidget(view)
    col.addWidget(buttons)
    dlg.resize(720, 640)
    dlg.show()
    return dlg
