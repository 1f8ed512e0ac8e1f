"""Help ▸ About: the version from pyproject.toml, and the licence and third-party notices it opens."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QTextBrowser

from tests.test_version import pyproject_version


def test_about_shows_the_version_and_opens_the_notices_and_the_licence(window, qtbot):
    window.show_about()
    about = window.findChild(QDialog, "aboutDialog")
    assert about is not None and about.isVisible()
    text = about.findChild(QLabel, "aboutText").text()
    assert f"Melodex Studio {pyproject_version()}" in text and "MIT" in text

    about.findChild(QPushButton, "noticesButton").click()
    notices = about.findChild(QDialog, "noticesDialog")
    assert notices.isVisible() and notices.windowTitle() == "Third-Party Notices"
    shown = notices.findChild(QTextBrowser, "documentText").toPlainText()
    assert "Qt and PySide6 (LGPL-3.0)" in shown and "PySide6_Essentials" in shown and "torch" in shown

    about.findChild(QPushButton, "licenceButton").click()
    licence = about.findChild(QDialog, "licenceDialog").findChild(QTextBrowser, "documentText").toPlainText()
    assert licence.startswith("MIT License") and "Melodex Studio contributors" in licence
    about.findChild(QPushButton, "whatWorksButton").click()
    works = about.findChild(QDialog, "firstRunDialog")
    assert works.isVisible() and "structure-small" in works.findChild(QLabel, "firstRunChecks").text()
    for name in ("noticesButton", "licenceButton", "whatWorksButton"):
        assert about.findChild(QPushButton, name).toolTip()
