"""The waveform view in the window: the mix of a rendered song and the selected track's stem, drawn from a peak
pyramid whose columns are exactly numpy's min/max of the audio; section lines; the playhead; zoom and scroll
follow the timeline."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.ui.peaks import PeakPyramid
from tests.ui.conftest import PROMPT


def _check_peaks(audio: np.ndarray, peaks) -> None:
    """Every column's min/max is numpy's over the column's frames (both channels)."""
    assert len(peaks.mins) == len(peaks.edges) - 1 > 0
    for i in range(len(peaks.mins)):
        a, b = peaks.edges[i], peaks.edges[i + 1]
        assert b > a
        assert peaks.mins[i] == audio[a:b].min() and peaks.maxs[i] == audio[a:b].max()


@pytest.mark.parametrize("start,end,columns", [(0, 400_000, 1000), (1234, 90_000, 700), (5000, 5300, 800),
                                               (0, 17, 3)])
def test_pyramid_columns_are_the_min_and_max_of_their_frames(start, end, columns):
    audio = np.random.default_rng(1).standard_normal((400_000, 2)).astype(np.float32)
    pyr = PeakPyramid(audio)
    p = pyr.query(start, end, columns)
    _check_peaks(audio, p)
    assert p.edges[0] <= start and p.edges[-1] >= end
    assert len(p.mins) <= 1.25 * columns + 2  # about one column per pixel (whole bins of a level per column)
    assert p.bin_frames <= max(1, (end - start) // columns)


@pytest.fixture
def rendered(window, qtbot):
    """The window after generating a short song with the (tiny) diffusion renderer."""
    w = window
    w.prompt_panel.set_prompt(PROMPT.replace("verse 2, chorus 2", "verse 1, chorus 1").replace(", bass", ""))
    w.prompt_panel.renderer.setCurrentIndex(1)
    w.prompt_panel.steps.setValue(4)
    w.generate()
    assert w.wait_for_jobs(120)
    qtbot.waitUntil(lambda: w.waveform.band_data("mix") is not None, timeout=5000)
    return w


def test_the_waveform_draws_the_mix_and_the_selected_tracks_stem(rendered, qtbot):
    from melodex_studio.engine.proposals import stem_name

    w = rendered
    wf = w.waveform
    assert wf.findChild(type(wf.hint), "waveformHint").isHidden() or wf.stack.currentIndex() == 1
    mix = wf.mix
    # the mix is the sum of the session's decoded stems (unity gain, centre pan), trimmed by the mixer's anti-clip
    # gain when the sum clips
    dry = sum(np.asarray(w.session.audio[stem_name(w.song, t.id)]) for t in w.song.tracks)
    trim = min(1.0, float(np.abs(mix).max() / np.abs(dry).max()))
    assert mix.shape == dry.shape and np.allclose(mix, dry * trim, atol=1e-5)
    ticks, peaks = wf.band_data("mix")
    _check_peaks(mix, peaks)
    assert len(ticks) == len(peaks.mins) >= 0.5 * wf._plot.vb.width()
    # what the curves hold is those peaks, scaled into the band
    hi, lo = wf._bands["mix"]
    scale = wf._drawn["mix"][2]
    assert np.allclose(hi.getData()[1], np.clip(peaks.maxs * scale, -1, 1) * 0.95, atol=1e-5)
    assert np.allclose(lo.getData()[1], np.clip(peaks.mins * scale, -1, 1) * 0.95, atol=1e-5)
    assert wf.band_data("stem") is None

    w.timeline.select_section(0)
    w.timeline.select_track(1)
    qtbot.waitUntil(lambda: wf.band_data("stem") is not None, timeout=3000)
    stem = np.asarray(w.session.audio[stem_name(w.song, w.song.tracks[1].id)])
    _, speaks = wf.band_data("stem")
    _check_peaks(stem, speaks)
    assert [name for name, *_ in wf.band_labels()] == ["Mix", w.song.tracks[1].name]

    # section lines at the section starts (and the song's end), with their names
    starts = [w.song.section_ticks(s)[0] for s in w.song.sections]
    assert wf.section_lines() == [*map(float, starts), float(w.song.section_ticks(w.song.sections[-1])[1])]
    assert wf.section_names() == [s.label for s in w.song.sections]
    w.timeline.rename_section(0, "intro")
    qtbot.waitUntil(lambda: wf.section_names()[0] == "intro", timeout=3000)
    # drawn elided to each section's width: a short section's name never runs over the next one
    w.timeline.rename_section(0, "a very long name for a short section")
    qtbot.waitUntil(lambda: wf.section_names()[0] == "a very long name for a short section", timeout=3000)
    w.timeline.zoom_to_fit()
    qtbot.waitUntil(lambda: wf.shown_section_names()[0] != wf.section_names()[0], timeout=3000)
    shown = wf.shown_section_names()
    for full, text in zip(wf.section_names(), shown):
        assert text == full or (text.endswith("…") and full.startswith(text[:-1])) or text == ""


def test_the_waveform_follows_the_timelines_zoom_scroll_and_playhead(rendered, qtbot):
    w = rendered
    wf, c = w.waveform, w.timeline.canvas
    qtbot.waitUntil(lambda: wf.tick_range[0] == pytest.approx(c.tick_at(0)), timeout=3000)
    for _ in range(3):
        w.timeline.zoom_in()
    c.horizontalScrollBar().setValue(c.horizontalScrollBar().value() + 60)
    qtbot.waitUntil(lambda: wf.tick_range == pytest.approx((c.tick_at(0), c.tick_at(c.viewport().width()))),
                    timeout=3000)
    ticks, peaks = wf.band_data("mix")
    t0, t1 = wf.tick_range
    assert ticks[0] >= t0 - (t1 - t0) / 50 and ticks[-1] <= t1 + (t1 - t0) / 50  # only the visible range is drawn
    _check_peaks(wf.mix, peaks)
    x_range = wf._plot.vb.viewRange()[0]
    assert x_range == pytest.approx([t0, t1], abs=1.0)
    tick = int((t0 + t1) / 2)
    w.set_playhead(tick)
    qtbot.waitUntil(lambda: wf._playhead.value() == tick, timeout=3000)
    # a click on the waveform moves the playhead there (snapped to the bar, as on the ruler)
    from PySide6.QtCore import QPoint, QPointF, Qt

    vb = wf._plot.vb
    x = wf._plot.mapFromScene(vb.mapViewToScene(QPointF(t0 + (t1 - t0) * 0.3, 0))).x()
    qtbot.mouseClick(wf._plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(x), 20))
    expected = c.snapped(t0 + (t1 - t0) * 0.3)
    qtbot.waitUntil(lambda: c.playhead_tick == expected and wf._playhead.value() == expected, timeout=3000)

    # the wheel over the waveform scrolls the timeline sideways, Ctrl+wheel zooms it; the waveform follows
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    def wheel(dy: int, mods=Qt.KeyboardModifier.NoModifier) -> None:
        pos = QPointF(x, 20)
        QApplication.sendEvent(wf._plot.viewport(), QWheelEvent(pos, wf._plot.viewport().mapToGlobal(pos), QPoint(0, 0),
                                                                 QPoint(0, dy), Qt.MouseButton.NoButton, mods,
                                                                 Qt.ScrollPhase.NoScrollPhase, False))

    scroll, zoom = c.horizontalScrollBar().value(), c.scale.px_per_quarter
    wheel(-120)
    assert c.horizontalScrollBar().value() == scroll + 120
    wheel(120, Qt.KeyboardModifier.ControlModifier)
    assert c.scale.px_per_quarter == pytest.approx(zoom * 1.15)
    qtbot.waitUntil(lambda: wf.tick_range == pytest.approx((c.tick_at(0), c.tick_at(c.viewport().width()))),
                    timeout=3000)


def test_no_audio_shows_a_hint_and_a_job_delivering_stems_draws_them(window, qtbot):
    wf = window.waveform
    assert wf.stack.currentWidget() is wf.hint and "Generate" in wf.hint.text()
    assert wf.band_data("mix") is None
    # stems arriving with a running job's progress are drawn as they come; its end brings the song's audio back
    window.prompt_panel.set_prompt(PROMPT)
    window.generate()
    assert window.wait_for_jobs(60)
    source = getattr(window, "audio_source", None)
    if source is not None:  # the window's playback source gives the song's (preview) audio
        assert source.wait(30)
        qtbot.waitUntil(lambda: wf._external is not None, timeout=5000)
    song_audio = wf.mix
    song = window.song
    frames = int(song.duration_seconds * song.sample_rate)
    stem = np.zeros((frames, 2), np.float32)
    stem[: song.sample_rate, 0] = 0.5
    wf.feed_stems({song.tracks[0].id: stem, "not-a-track": stem})
    qtbot.waitUntil(lambda: wf.band_data("mix") is not None, timeout=3000)
    assert wf.stack.currentIndex() == 1
    _, peaks = wf.band_data("mix")
    assert peaks.maxs.max() == pytest.approx(0.5) and peaks.mins.min() == 0.0
    wf._job_ended()
    assert wf.mix is song_audio
