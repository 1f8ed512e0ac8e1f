"""Screenshots of the small dialogs: Help ▸ About (about.png) and the first start's "What works" page
(first-run.png). Called by screenshots.py; the settings flag of the real first start is not touched."""
from __future__ import annotations


def shoot_dialogs(window, app, save, theme: str = "dark") -> None:
    from melodex_studio.ui.dialogs import show_about
    from melodex_studio.ui.first_run import FirstRunDialog

    for make, name in ((lambda: show_about(window, window.session), "about"),
                       (lambda: FirstRunDialog(window, theme=theme), "first-run")):
        dlg = make()
        dlg.show()
        for _ in range(5):
            app.processEvents()
        save(dlg.grab(), name)
        dlg.close()
