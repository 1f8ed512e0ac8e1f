"""Every window action in one table: id, menu, text, shortcut, icon, tooltip and the window method it calls.

``build_actions(window)`` makes the QActions (``window.actions_by_id[id]``) and the menus; toolbar, context
menus and the prompt panel's buttons reuse the same QAction objects, so enabled state, shortcuts and
tooltips agree everywhere. The Help > Keyboard Shortcuts sheet is generated from this table too.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from .icons import icon

K = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    id: str
    menu: str  # "File", "Edit", ... ("" = no menu entry)
    text: str
    slot: str  # MainWindow method name, called without arguments (or with ``checked`` when checkable)
    shortcut: str | K | None = None
    icon: str | None = None
    tip: str = ""
    checkable: bool = False


SEPARATOR = None

ACTIONS: list[ActionSpec | None] = [
    ActionSpec("new", "File", "&New Project", "new_project", K.New, "new", "Start a new, empty project"),
    ActionSpec("open", "File", "&Open Project…", "choose_project", K.Open, "open", "Open a .melodex project"),
    ActionSpec("save", "File", "&Save", "save_project", K.Save, "save", "Save the project"),
    ActionSpec("save_as", "File", "Save &As…", "save_project_as", K.SaveAs, None, "Save the project under a new name"),
    SEPARATOR,
    ActionSpec("import_midi", "File", "&Import MIDI…", "choose_midi", "Ctrl+I", "import-midi",
               "Start a new project from a Standard MIDI File"),
    ActionSpec("export_dialog", "File", "&Export…", "show_export_dialog", "Ctrl+E", "export",
               "MIDI, the mix (WAV / FLAC) and stems of the song or the selected section, with a list of the files"),
    ActionSpec("export_midi", "File", "Export &MIDI…", "choose_export_midi", None, None,
               "Write the arrangement as a Standard MIDI File"),
    ActionSpec("export_wav", "File", "Export Mi&x (WAV)…", "choose_export_wav", "Ctrl+Shift+E", None,
               "Render and write the mix of the whole song as a WAV file"),
    ActionSpec("export_section_wav", "File", "Export &Section as WAV…", "choose_export_section_wav", None, None,
               "Render and write the selected section as a WAV file"),
    ActionSpec("export_section_midi", "File", "Export Section as M&IDI…", "choose_export_section_midi", None, None,
               "Write the selected section (all tracks, from bar 1, with the tempo, meter and key there) as a MIDI file"),
    SEPARATOR,
    ActionSpec("close_project", "File", "&Close Project", "close_project", K.Close, None,
               "Close the project (asks to save unsaved changes)"),
    ActionSpec("quit", "File", "&Quit", "close", K.Quit, None, "Quit Melodex Studio"),
    ActionSpec("undo", "Edit", "&Undo", "undo", K.Undo, "undo", "Undo the last change"),
    ActionSpec("redo", "Edit", "&Redo", "redo", "Ctrl+Shift+Z", "redo", "Redo the change undone last"),
    SEPARATOR,
    ActionSpec("rename_section", "Edit", "Re&name Section", "rename_selected_section", "F2", None,
               "Rename the selected section"),
    ActionSpec("insert_section", "Edit", "&Insert Section After", "insert_section_after", "Ctrl+Shift+I", None,
               "Insert an empty section after the selected one (what follows moves later)"),
    ActionSpec("duplicate_section", "Edit", "D&uplicate Section", "duplicate_selected_section", "Ctrl+D", None,
               "Copy the selected section (notes and chords) right after it"),
    ActionSpec("delete_section", "Edit", "&Delete Section", "delete_selected_section", "Ctrl+Backspace", None,
               "Delete the selected section (its notes stay; undo brings it back)"),
    ActionSpec("generate", "Song", "&Generate", "generate", "Ctrl+Return", "generate",
               "Write a new song from the prompt and plan (replaces the arrangement; undoable)"),
    ActionSpec("regenerate_section", "Song", "Regenerate &Section", "regenerate_section", "Ctrl+R", "regenerate",
               "Write a new take of the selected section (the rest of the song stays)"),
    ActionSpec("regenerate_track", "Song", "Regenerate &Track", "regenerate_track", "Ctrl+Shift+R",
               "regenerate-track", "Write a new take of the selected track in the selected section"),
    ActionSpec("vary_section", "Song", "&Vary Section", "vary_section", "Ctrl+Shift+V", None,
               "New audio takes of the selected section (or clip), resumed from a recorded diffusion step "
               "(Advanced > Vary from step); needs a diffusion render of it"),
    ActionSpec("cancel", "Song", "&Cancel Job", "cancel_job", "Esc", "cancel",
               "Stop the running job (nothing changes)"),
    ActionSpec("play", "Transport", "&Play / Stop", "toggle_play", "Space", "play", "Play from the playhead, or stop"),
    ActionSpec("stop", "Transport", "S&top", "stop_playback", None, "stop",
               "Stop playback (the playhead stays where it stopped)"),
    ActionSpec("play_selection", "Transport", "Play &Selection", "play_selection", "Shift+Space", None,
               "Play from the start of the selected section (else from the playhead)"),
    ActionSpec("rewind", "Transport", "Return to &Start", "rewind", "Home", "rewind", "Move the playhead to bar 1"),
    ActionSpec("loop", "Transport", "&Loop Selected Section", "toggle_loop", "L", "loop",
               "Loop the selected section", checkable=True),
    ActionSpec("audio_settings", "Transport", "&Audio Settings…", "show_audio_settings", None, "settings",
               "Output device, sample rate and buffer size (latency)"),
    ActionSpec("zoom_in", "View", "Zoom &In", "zoom_in", K.ZoomIn, "zoom-in", "Zoom in on the timeline (Ctrl+wheel)"),
    ActionSpec("zoom_out", "View", "Zoom &Out", "zoom_out", K.ZoomOut, "zoom-out", "Zoom out of the timeline"),
    ActionSpec("zoom_fit", "View", "Zoom to &Fit", "zoom_fit", "Ctrl+0", None, "Show the whole song"),
    ActionSpec("piano_roll", "View", "&Piano Roll", "open_piano_roll", "Ctrl+Shift+P", None,
               "Edit the notes of the selected clip in the piano roll (or double-click a clip)"),
    SEPARATOR,
    ActionSpec("light_theme", "View", "&Light Theme", "set_light_theme", None, None, "Switch between the dark and "
               "light themes", checkable=True),
    ActionSpec("shortcuts", "Help", "&Keyboard Shortcuts", "show_shortcuts", "Ctrl+/", "keyboard",
               "All keyboard shortcuts"),
    ActionSpec("about", "Help", "&About Melodex Studio", "show_about", None, "info", "Version, models and device"),
]

MENUS = ("File", "Edit", "Song", "Transport", "View", "Help")


def build_actions(window: QMainWindow) -> tuple[dict[str, QAction], dict[str, QMenu]]:
    """Create every action (connected to ``window.<slot>``) and the menu bar; returns (actions, menus)."""
    actions: dict[str, QAction] = {}
    menus = {name: window.menuBar().addMenu("&" + name) for name in MENUS}
    last_menu = None
    for spec in ACTIONS:
        if spec is None:
            if last_menu is not None:
                menus[last_menu].addSeparator()
            continue
        a = QAction(spec.text, window)
        a.setObjectName(f"action_{spec.id}")
        if spec.icon:
            a.setIcon(icon(spec.icon))
        if spec.shortcut is not None:
            a.setShortcut(QKeySequence(spec.shortcut))
        shortcut = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        a.setToolTip(f"{spec.tip} ({shortcut})" if shortcut and spec.tip else spec.tip or spec.text.replace("&", ""))
        a.setStatusTip(spec.tip)
        a.setCheckable(spec.checkable)
        slot = getattr(window, spec.slot)
        if spec.checkable:
            a.toggled.connect(slot)
        else:
            a.triggered.connect(lambda checked=False, s=slot: s())
        actions[spec.id] = a
        if spec.menu:
            menus[spec.menu].addAction(a)
            last_menu = spec.menu
    return actions, menus


def shortcut_table() -> list[tuple[str, str, str]]:
    """(menu, action, shortcut) rows for the cheat sheet."""
    rows = []
    for spec in ACTIONS:
        if spec is None or spec.shortcut is None:
            continue
        keys = QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText)
        rows.append((spec.menu, spec.text.replace("&", "").rstrip("…"), keys))
    return rows + [("Timeline", "Zoom at the pointer", "Ctrl+Wheel"), ("Timeline", "Lane height", "Alt+Wheel"),
                   ("Timeline", "Scroll sideways", "Shift+Wheel"), ("Timeline", "Previous / next section", "← / →"),
                   ("Timeline", "Previous / next track", "↑ / ↓"), ("Timeline", "Rename section", "Double-click / F2"),
                   ("Timeline", "Select several sections or clips", "Ctrl+Click / Shift+Click"),
                   ("Timeline", "Extend the selection", "Shift+← / → / ↑ / ↓"),
                   ("Timeline", "Delete the selected sections (or clear the selected clips)", "Delete"),
                   ("Timeline", "Drag a clip out as MIDI (WAV: hold Alt)", "Drag"),
                   ("Piano roll", "Open a clip", "Double-click"), ("Piano roll", "Delete notes", "Del / Backspace"),
                   ("Piano roll", "Quantise to the snap", "Q"),
                   ("Piano roll", "Transpose a semitone / an octave", "↑ ↓ / Shift+↑ ↓"),
                   ("Piano roll", "Move a snap step / a bar", "← → / Shift+← →"),
                   ("Piano roll", "Select all / duplicate the notes", "Ctrl+A / Ctrl+D"),
                   ("Piano roll", "Copy while dragging", "Alt+drag"),
                   ("Piano roll", "Zoom time / keys", "Ctrl+Wheel / Shift+Wheel")]
