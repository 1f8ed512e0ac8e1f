"""Screenshots of the views that need a diffusion render (called by ``packaging/screenshots.py``): the selected
section is rendered with the shipped diffusion models and varied once from a middle step, then the waveform
dock (the mix and the selected track's stem), the takes inspector with its Vary slider and File ▸ Export… are
saved."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def _settle(app, n: int = 10) -> None:
    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def shoot_render_views(window, app, save, section: int, track: int) -> None:
    """Render section ``section``, vary it, select clip (section, track) and save 'waveform', 'takes-inspector',
    'export-dialog' through ``save(pixmap, name)``."""
    session = window.session
    sec_id = window.song.sections[section].id
    t0 = time.perf_counter()
    job = window.jobs.start(lambda progress: session.render(section=sec_id, progress=progress), {"section": sec_id})
    if not window.wait_for_jobs(900) or job.status != "done":
        print(f"the diffusion render did not finish ({job.status}); no render screenshots", file=sys.stderr)
        return
    print(f"rendered {window.song.sections[section].label} in {time.perf_counter() - t0:.1f} s")
    window.timeline.select_section(section)
    window.timeline.select_track(track)
    _settle(app)
    panel = window.inspector.takes_panel
    if panel.step() is not None:
        panel.vary_step.setValue(panel.vary_step.maximum() // 2)
        panel.vary_seed.setText("2024")
        panel.vary()
        window.wait_for_jobs(900)
    window.timeline.select_track(track)
    source = getattr(window, "audio_source", None)
    if source is not None:
        source.wait(120)
    _settle(app, 30)
    window.waveform_dock.raise_()
    _settle(app)
    save(window.waveform_dock.grab(), "waveform")
    save(window.inspector_dock.grab(), "takes-inspector")
    from melodex_studio.ui.export_dialog import show_export_dialog

    dlg = show_export_dialog(window)
    dlg.folder.setText(str(Path(tempfile.gettempdir()) / "Melodex exports"))
    dlg.stems.setChecked(True)
    _settle(app)
    save(dlg.grab(), "export-dialog")
    dlg.close()
