"""Screenshots of the studio for the README and for looking at the window: generates a ~3-minute song with the
shipped models (or loads a project), then saves PNGs of the main window, the section context menu, the
prompt panel with its parsed plan, the piano roll (a pitched clip and a drum clip) and the mixer.

    python packaging/screenshots.py OUT_DIR [--project X.melodex] [--scale 2] [--theme light]

Runs offscreen (no display needed): QT_QPA_PLATFORM=offscreen unless a platform is set.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

PROMPT = ("warm indie pop with a soulful lead, 104 bpm, A minor, intro 8, verse 16, pre-chorus 8, chorus 16, "
          "verse 16, chorus 16, bridge 8, chorus 16, outro 8, piano, bass, drums, strings")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder for the PNGs")
    ap.add_argument("--project", type=Path, help="load this project instead of generating one")
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (2 = high-DPI)")
    ap.add_argument("--theme", default="dark", choices=("dark", "light"))
    ap.add_argument("--keep", type=Path, help="also save the generated project here (.melodex)")
    ap.add_argument("--size", default="1600x1000", help="window size in logical pixels")
    ap.add_argument("--render", action="store_true", help="also render the selected section with the diffusion "
                    "models and save the waveform, the takes inspector and the export dialog")
    args = ap.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = f"{args.scale:g}"

    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Melodex Studio Screenshots")  # own settings: the user's layout is not used
    app.setOrganizationName("Melodex")
    from PySide6.QtCore import QSettings

    QSettings().clear()  # the default layout, whatever an earlier run left
    from melodex_studio.ui.main_window import MainWindow
    from melodex_studio.ui.theme import apply_theme

    apply_theme(app, args.theme)
    w, h = (int(x) for x in args.size.split("x"))
    window = MainWindow()
    window.resize(w, h)
    window.show()
    app.processEvents()
    if args.project:
        if not window.open_project(args.project):
            return 1
    else:
        window.prompt_panel.set_prompt(args.prompt)
        window.prompt_panel.seed.setText(str(args.seed))
        window.prompt_panel.seed_lock.setChecked(True)
        t0 = time.perf_counter()
        window.generate()
        if not window.wait_for_jobs(600):
            print("generation did not finish in 10 minutes", file=sys.stderr)
            return 1
        print(f"generated in {time.perf_counter() - t0:.1f} s: {window.song.length_bars} bars, "
              f"{window.song.duration_seconds:.0f} s, {len(window.song.tracks)} tracks")
        if args.keep and not window.save_to(args.keep):
            return 1
    song = window.song
    window.timeline.zoom_to_fit()
    window.timeline.select_section(min(3, len(song.sections) - 1))
    window.timeline.select_track(min(1, len(song.tracks) - 1))
    window.set_playhead(song.bar_to_tick(min(10, song.length_bars)))
    for _ in range(5):
        app.processEvents()
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.scale == 1.0 else f"@{args.scale:g}x"
    suffix += "" if args.theme == "dark" else f"-{args.theme}"
    saved = []

    def save(pixmap, name: str) -> None:
        path = args.out / f"{name}{suffix}.png"
        pixmap.save(str(path))
        saved.append(path)

    source = getattr(window, "audio_source", None)  # the waveform shows the preview once it is made
    if source is not None and source.wait(120):
        for _ in range(100):  # the waveform's peaks of long audio come from a worker thread
            app.processEvents()
            time.sleep(0.01)
    save(window.grab(), "main-window")
    save(window.prompt_dock.grab(), "prompt-panel")
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QScrollArea  # the whole panel: plan, instruments table, the section's overrides

    save(window.prompt_panel.findChild(QScrollArea).widget().grab(), "prompt-plan")
    save(window.timeline.grab(QRect(0, 0, 640, min(window.timeline.height(), 460))), "track-headers")
    canvas = window.timeline.canvas
    i = window.timeline.selected_section_index()
    r = canvas.section_rect(i)
    local = QPoint(int(r.center().x()), int(r.center().y()))
    window._section_menu(canvas.viewport().mapToGlobal(local))
    menu = window._last_menu
    for _ in range(5):
        app.processEvents()
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(canvas.viewport().mapTo(window, local), menu.grab())
    painter.end()
    menu.close()
    save(shot, "section-menu")
    for k, name in ((next((k for k, t in enumerate(song.tracks) if not t.is_drum), None), "piano-roll"),
                    (next((k for k, t in enumerate(song.tracks) if t.is_drum), None), "piano-roll-drums")):
        if k is not None:  # the selected section's clip of the first pitched track, then of the drums
            window.open_piano_roll(i, k)
            for _ in range(5):
                app.processEvents()
            save(window.piano_roll_dock.grab(), name)
    from screenshots_mixer import shoot_mixer  # next to this script

    shoot_mixer(window, app, save)  # the mixer dock while the song plays
    from screenshots_dialogs import shoot_dialogs  # next to this script

    shoot_dialogs(window, app, save, args.theme)  # Help > About and the first start's "What works" page
    if args.render:  # the waveform of a real render, the takes inspector with Vary, File > Export...
        from screenshots_render import shoot_render_views  # next to this script

        shoot_render_views(window, app, save, i, min(1, len(song.tracks) - 1))
    window.session.history.mark_clean()
    window.close()
    for p in saved:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
