"""`melodex-studio`: the desktop app entry point.

Importing this module must not import torch (start-up stays fast); the engine loads models lazily.
"""
from __future__ import annotations

import argparse
import sys

from ..cli import _VersionAction


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="melodex-studio")
    parser.add_argument("project", nargs="?", help="a .melodex project to open")
    parser.add_argument("--smoke-test", action="store_true", help="start, show the window, process events and exit")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Melodex Studio")
    app.setOrganizationName("Melodex")
    app.setDesktopFileName("io.melodex.Studio")  # the desktop entry (resources/): its icon in the task bar
    from .theme import apply_theme

    theme = str(QSettings().value("theme", "dark"))
    apply_theme(app, theme)
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    if args.project:
        window.open_project(args.project)
    elif not args.smoke_test:
        QTimer.singleShot(0, window.offer_untitled_recovery)
    if not args.smoke_test:  # the first start shows what works on this machine (the smoke test changes no setting);
        # its checks run on a thread: the window is usable meanwhile
        from .first_run import show_first_run_later

        QTimer.singleShot(0, lambda: show_first_run_later(window, theme=theme))
    if args.smoke_test:
        QTimer.singleShot(200, app.quit)
        app.exec()
        print(f"smoke test ok: window {window.width()}x{window.height()}, title {window.windowTitle()!r}")
        return 0
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
