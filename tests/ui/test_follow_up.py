"""The window follows a job's result in steps, one per turn of the event loop (ui/follow_up.py): other timers
run between the steps; a hidden mixer follows when it is shown; track headers are made ahead of need."""
from __future__ import annotations

import time

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QWidget

from melodex_studio.song import Note, Section, Song, Track


def song_of(*names: str) -> Song:
    song = Song(title="steps")
    song.add_section(Section("verse", 0, 2))
    for name in names:
        song.add_track(Track(name, "chords", 0, notes=[Note(0, 60, 480, 90)]))
    return song


class SlowPaint(QWidget):
    """A widget whose paint takes ``ms`` of the GUI thread."""

    def __init__(self, ms: float, log: list):
        super().__init__()
        self.ms, self.log = ms, log

    def paintEvent(self, event):  # noqa: N802 (Qt)
        end = time.perf_counter() + self.ms / 1000
        while time.perf_counter() < end:
            pass
        self.log.append("paint")


def test_steps_run_in_their_order_once_each_and_a_due_timer_runs_between_a_step_and_the_next(qtbot):
    from melodex_studio.ui.follow_up import FollowUp

    log: list[str] = []
    slow = SlowPaint(40, log)
    qtbot.addWidget(slow)
    slow.show()
    qtbot.waitExposed(slow)
    qtbot.wait(50)
    follow = FollowUp(("views", "mixer", "panel"))
    probe = QTimer(interval=20, timerType=Qt.TimerType.PreciseTimer)
    loop = QEventLoop()

    def tick():
        log.append("probe")
        if log.count("probe") == 1:  # a step that causes a 40 ms paint, added just after a tick of the probe
            follow.add("panel", lambda: log.append("panel"))
            follow.add("views", lambda: (log.append("views"), slow.update()))
            follow.add("mixer", lambda: log.append("mixer"))
            follow.add("views", lambda: log.append("views again"))  # already waiting: runs once
        elif not follow.pending:
            loop.quit()

    probe.timeout.connect(tick)
    probe.start()
    QTimer.singleShot(3000, loop.quit)
    loop.exec()
    probe.stop()
    steps = [x for x in log if x not in ("probe", "paint")]
    assert steps == ["views", "mixer", "panel"]
    i = log.index("views")
    # the step's paint, then the probe (due during the paint), then the next step: not the next step first
    assert log[i + 1:i + 4] == ["paint", "probe", "mixer"], log


def test_run_all_runs_what_waits_now(qtbot):
    from melodex_studio.ui.follow_up import FollowUp

    log: list[str] = []
    follow = FollowUp(("a", "b"))
    follow.add("b", lambda: log.append("b"))
    follow.add("a", lambda: log.append("a"))
    follow.discard("b")
    follow.add("c", lambda: log.append("c"))
    follow.run_all()
    assert log == ["a", "c"] and follow.pending == []


def test_a_hidden_mixer_makes_its_strips_when_it_is_shown(window, qtbot):
    view = window.mixer_view
    window.waveform_dock.raise_()  # the mixer behind the waveform, as the window starts
    qtbot.waitUntil(lambda: not view.in_view(), timeout=2000)
    window.set_song(song_of("A", "B"))
    before = list(view.strips)
    window.session.add_track("Lead", "melody", 80)
    assert view.strips == before  # nothing made while hidden
    window.mixer_dock.show()
    window.mixer_dock.raise_()
    qtbot.waitUntil(view.in_view, timeout=2000)
    assert [s.name.text() for s in view.strips] == ["A", "B", "Lead"]
    window.session.update_track(window.song.tracks[0].id, gain_db=-6.0)  # in view: at once
    assert view.strips[0].gain_label.text() == "-6.0 dB"


def test_track_headers_are_made_ahead_of_need_and_reused(window, qtbot):
    from melodex_studio.ui.track_header import SPARE_HEADERS

    panel = window.timeline.headers
    qtbot.waitUntil(lambda: len(panel._spares) + len(panel.headers) >= SPARE_HEADERS, timeout=5000)
    spares = list(panel._spares)
    window.set_song(song_of("A", "B", "C"))
    assert all(h in spares for h in panel.headers)  # shown, not made
    assert [h.name_label.text() for h in panel.headers] == ["A", "B", "C"]
    assert all(h.isVisible() for h in panel.headers)
    window.set_song(song_of("D"))
    assert [h.name_label.text() for h in panel.headers] == ["D"]
    assert len(panel._spares) + len(panel.headers) == SPARE_HEADERS and not any(h.isVisible() for h in panel._spares)


def test_a_generated_song_reaches_every_view_in_steps(generated):
    window = generated
    assert window.follow_up.pending == []  # wait_for_jobs ran what was left
    names = [t.name for t in window.song.tracks]
    assert [h.track.name for h in window.timeline.headers.headers] == names
    assert window.prompt_panel.tempo.value() == window.song.tempo_map.changes[0].bpm
