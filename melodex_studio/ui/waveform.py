"""The waveform view (objectName ``waveformView``), docked under the timeline.

It draws the mix and, when a track is selected on the timeline, that track's stem under it, in step with the
timeline: the same visible bars (zoom and scroll follow the arrangement canvas), section boundaries with
their names, and the playhead. Audio comes in through ``set_audio(mix, sample_rate, stems)``; ``attach``
feeds it from the session's decoded diffusion stems after every change and from the stems a running render
job delivers, so the view works on its own.

Drawing is pyqtgraph (imported on a thread 1.5 s after start and the plot made while the window idles, or on
the first audio if that comes sooner, so window start-up does not pay for either): one
filled min/max envelope per band from a precomputed ``peaks.PeakPyramid``, only for the visible range, one
column per pixel. A 10-minute stereo mix redraws in about 10-20 ms (``benchmarks/bench_waveform.py``); the
pyramid of long audio is made on a worker thread, so new audio never stalls the window.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedLayout, QWidget

from .peaks import PeakPyramid, Peaks
from .theme import Theme, role_color, section_color

SYNC_FRAMES = 2_000_000  # audio up to this long gets its peaks at once (tens of ms); longer on a worker thread
BAND_GAP = 0.25  # between the mix band and the stem band, in band half-heights
EMPTY_HINT = ("No audio yet. Describe a song and press Generate: its mix is drawn here, with the selected "
              "track's stem under it (the Diffusion renderer under Advanced renders the real audio).")
WAITING_HINT = ("No audio for this song yet: its preview is drawn here when it is ready, with the selected track's "
                "stem under it (the Diffusion renderer under Advanced renders the real audio).")


def seconds_to_ticks(song, seconds: np.ndarray) -> np.ndarray:
    """Ticks at ``seconds`` (vectorised over the tempo map's piecewise-constant segments)."""
    tm = song.tempo_map
    knots = [c.tick for c in tm.changes]
    knots.append(knots[-1] + song.ppq * 10_000_000)
    secs = [tm.tick_to_seconds(t) for t in knots]
    return np.interp(seconds, secs, knots)


_importing: list[threading.Thread] = []


def _preload_pyqtgraph() -> None:
    """Import pyqtgraph on a worker thread (once; it takes most of a second), after the window is up."""
    import sys

    if "pyqtgraph" not in sys.modules and not _importing:
        # not a daemon: a daemon thread still importing when the interpreter finalises aborts the process
        # ("Fatal Python error ... finalizing"); quitting within the first seconds waits for the import instead
        _importing.append(threading.Thread(target=lambda: __import__("pyqtgraph"), name="melodex-import-pyqtgraph",
                                           daemon=False))
        _importing[0].start()


def _pyqtgraph_ready() -> bool:
    """True when pyqtgraph is imported (and no thread is still importing it)."""
    import sys

    return "pyqtgraph" in sys.modules and not (_importing and _importing[0].is_alive())


class _Gutter(QWidget):
    """The strip left of the plot (as wide as the track headers): the bands' names and peak levels."""

    def __init__(self, view: WaveformView):
        super().__init__(view)
        self.view = view
        self.setFixedWidth(0)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), Theme.color("panel"))
        p.setPen(Theme.color("line"))
        p.drawLine(self.width() - 1, 0, self.width() - 1, self.height())
        for name, level, top, bottom in self.view.band_labels():
            r = QRectF(8, top, self.width() - 14, bottom - top)
            p.setPen(Theme.color("text"))
            p.drawText(r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
            p.setPen(Theme.color("text_dim"))
            p.drawText(r, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, level)
        p.end()


class WaveformView(QWidget):
    """See the module docstring. ``band_data('mix' | 'stem')`` is what is drawn (unscaled peaks and their ticks)."""

    _built = Signal(object, object, object)  # key, audio, its PeakPyramid: from the worker thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("waveformView")
        self.setMinimumHeight(70)
        self.setToolTip("The rendered mix of the song (and the selected track's stem under it); click to move the "
                        "playhead; wheel to scroll, Ctrl+wheel to zoom (the timeline follows)")
        self.song = None
        self.sample_rate = 44100
        self.mix: np.ndarray | None = None
        self.stems: dict[str, np.ndarray] = {}
        self.track_id: str | None = None
        self.playhead_tick = 0
        self.tick_range = (0.0, 1920.0 * 8)
        self._pyramids: dict[Any, tuple[Any, PeakPyramid]] = {}  # key -> (the array, its pyramid)
        self._drawn: dict[str, tuple[np.ndarray, Peaks, float]] = {}  # band -> (ticks, peaks, scale)
        self._sections_key: tuple = ()
        self._plot = None
        self._canvas = None
        self._session = None
        self._audio_key: tuple | None = None
        self._external: tuple | None = None  # the last audio given to set_audio
        self._followed: tuple = ()

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.gutter = _Gutter(self)
        row.addWidget(self.gutter)
        self.stack = QStackedLayout()
        row.addLayout(self.stack, 1)
        self.hint = QLabel(EMPTY_HINT, objectName="waveformHint", wordWrap=True,
                           alignment=Qt.AlignmentFlag.AlignCenter)
        self.hint.setProperty("role", "hint")
        self.hint.setContentsMargins(24, 8, 24, 8)
        self.stack.addWidget(self.hint)
        self._redraw_timer = QTimer(self, singleShot=True, interval=0)
        self._redraw_timer.timeout.connect(self.redraw)
        self._building: dict[Any, np.ndarray] = {}  # key -> the audio whose pyramid a worker thread makes
        self._built.connect(self._on_built, Qt.ConnectionType.QueuedConnection)

    # --- input -------------------------------------------------------------------------------------
    def set_audio(self, mix: np.ndarray | None, sample_rate: int, stems: Mapping[str, np.ndarray] | None = None) -> None:
        """The mix ((frames, 2) float, or None: no audio) and the dry or processed stems by track id. Once audio
        comes this way (the window's playback source), the view stops feeding itself from the session."""
        self._external = (mix, sample_rate, stems)
        self._audio_key = None
        self._show_audio(mix, sample_rate, stems)

    def _show_audio(self, mix, sample_rate: int, stems) -> None:
        self.mix = None if mix is None or len(mix) == 0 else mix
        self.sample_rate = int(sample_rate)
        self.stems = dict(stems or {})
        live = {id(a) for a in [self.mix, *self.stems.values()] if a is not None}
        self._pyramids = {k: v for k, v in self._pyramids.items() if id(v[0]) in live}
        self.stack.setCurrentIndex(1 if self.mix is not None and self._ensure_plot() else 0)
        self._update_hint()
        self.redraw()

    def set_song(self, song) -> None:
        """The song whose tempo map places the audio, whose sections are drawn."""
        self.song = song
        self._update_hint()
        self._sections_key = ()
        self._schedule()

    def _update_hint(self) -> None:
        has_notes = self.song is not None and any(t.notes for t in self.song.tracks)
        self.hint.setText(WAITING_HINT if has_notes else EMPTY_HINT)

    def set_track(self, track_id: str | None) -> None:
        """Show this track's stem under the mix (None: the mix only)."""
        if track_id != self.track_id:
            self.track_id = track_id
            self._schedule()

    def set_view(self, tick0: float, tick1: float) -> None:
        """The visible ticks (the timeline's)."""
        if (tick0, tick1) != self.tick_range and tick1 > tick0:
            self.tick_range = (float(tick0), float(tick1))
            self._schedule()

    def set_playhead(self, tick: int) -> None:
        self.playhead_tick = int(tick)
        if self._plot is not None:
            self._playhead.setValue(self.playhead_tick)

    def set_gutter(self, px: int) -> None:
        """Width of the name strip on the left, so that the plot lines up with the timeline's canvas."""
        if self.gutter.width() != px:
            self.gutter.setFixedWidth(max(0, int(px)))

    # --- following the window --------------------------------------------------------------------------
    def attach(self, session, timeline, jobs=None, feed: bool = True) -> None:
        """Follow ``timeline`` (visible range, selected track, playhead) and, with ``feed``, show the session's
        current decoded stems after every change and the stems a running job of ``jobs`` delivers."""
        self._session, self._timeline, self._canvas = session, timeline, timeline.canvas
        self._canvas.viewport().installEventFilter(self)
        self._canvas.installEventFilter(self)
        self.set_song(session.song)
        QTimer.singleShot(1500, _preload_pyqtgraph)  # so that the first audio does not wait for the import
        self._warm_timer = QTimer(self, singleShot=True, interval=2500)  # then the plot is made while the window
        self._warm_timer.timeout.connect(self._warm_plot)  # idles (~60 ms), not when a job's first audio comes
        self._warm_timer.start()
        if feed:
            self.feed_from_session()
        session.subscribe(lambda info: self.feed_from_session() if feed else self.set_song(session.song))
        if jobs is not None:  # a render job's stems are drawn as they come; its end brings the song's audio back
            jobs.progress.connect(lambda job, p: self.feed_stems(getattr(p, "stems", None) or {}))
            jobs.ended.connect(lambda job: self._job_ended())
        self._follow()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if t in (QEvent.Type.Paint, QEvent.Type.Resize):
            self._follow()
        return False

    def _follow(self) -> None:
        """Copy the timeline's visible range, selection, playhead and header width (cheap when unchanged)."""
        c = self._canvas
        if c is None:
            return
        right = c.width() - c.viewport().x() - c.viewport().width()  # the canvas's vertical scroll bar
        state = (c.horizontalScrollBar().value(), c.scale.px_per_quarter, c.viewport().width(), c.selected_track,
                 c.playhead_tick, self._timeline.headers.width(), right, c.song)
        if state == self._followed:
            return
        self._followed = state
        if c.song is not self.song:
            self.set_song(c.song)
        self.set_gutter(self._timeline.headers.width())
        self.layout().setContentsMargins(0, 0, max(0, right), 0)
        self.set_track(c.selected_track)
        self.set_view(c.tick_at(0), c.tick_at(c.viewport().width()))
        if c.playhead_tick != self.playhead_tick:
            self.set_playhead(c.playhead_tick)

    def feed_from_session(self) -> None:
        """The session's decoded stems of the current takes (each track that has one), mixed with its mixer
        settings; no audio when no track has one. Recomputed only when the stems or the mixer changed."""
        from ..engine.proposals import stem_array, stem_name

        s = self._session
        if s is None:
            return
        self.set_song(s.song)  # section lines and names follow every change
        if self._external is not None:
            return
        song = s.song
        names = {t.id: stem_name(song, t.id) for t in song.tracks}
        stems = {}
        for tid, name in names.items():
            a = s.audio.get(name) if name else None
            if a is not None:
                stems[tid] = stem_array(a)
        mixer = tuple((t.id, t.gain_db, t.pan, t.mute, t.solo) for t in song.tracks)
        key = (tuple(sorted((k, id(v)) for k, v in stems.items())), mixer, song.sample_rate)
        if key == self._audio_key:
            return
        self._audio_key = key
        self._show_audio(*self._mixed(song, stems), stems)

    def _job_ended(self) -> None:
        if self._audio_key is None or self._audio_key[0] != "job":
            return
        self._audio_key = None
        if self._external is not None:
            self._show_audio(*self._external)
        else:
            self.feed_from_session()

    def feed_stems(self, stems: Mapping[str, np.ndarray]) -> None:
        """Stems a running render job has finished so far (track id -> dry (frames, 2)): drawn as they come."""
        song = self.song
        stems = {k: v for k, v in stems.items() if song is not None and k in {t.id for t in song.tracks}}
        key = ("job", tuple(sorted((k, id(v)) for k, v in stems.items())))
        if not stems or key == self._audio_key:
            return
        self._audio_key = key
        self._show_audio(*self._mixed(song, stems), stems)

    @staticmethod
    def _mixed(song, stems: dict) -> tuple[np.ndarray | None, int]:
        if not stems:
            return None, song.sample_rate
        from ..playback.mixer import mix_song

        frames = max(len(a) for a in stems.values())
        same = {k: (a if len(a) == frames else np.pad(a, ((0, frames - len(a)), (0, 0)))) for k, a in stems.items()}
        return mix_song(song, same)[1], song.sample_rate

    # --- drawing ---------------------------------------------------------------------------------------
    def _warm_plot(self, tries: int = 20) -> None:
        """Make the plot ahead of the first audio once pyqtgraph is imported (it stays behind the hint)."""
        if self._plot is not None:
            return
        if _pyqtgraph_ready():
            self._ensure_plot()
        elif tries > 0:
            self._warm_timer.timeout.disconnect()
            self._warm_timer.timeout.connect(lambda: self._warm_plot(tries - 1))
            self._warm_timer.start(500)

    def _ensure_plot(self) -> bool:
        if self._plot is not None:
            return True
        import pyqtgraph as pg

        pw = _wave_plot_class()()
        pw.setBackground(Theme.color("lane"))
        self._plot = pw
        self._bands = {}
        for band in ("mix", "stem"):
            hi = pg.PlotCurveItem()
            lo = pg.PlotCurveItem()
            pw.addItem(hi)
            pw.addItem(lo)
            self._bands[band] = (hi, lo)
        self._center_lines = [pg.InfiniteLine(angle=0, movable=False) for _ in range(2)]
        for line in self._center_lines:
            line.setVisible(False)
            pw.addItem(line)
        self._section_items: list = []
        self._playhead = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(Theme.color("playhead"), width=1.5))
        self._playhead.setZValue(20)
        pw.addItem(self._playhead)
        pw.viewport().installEventFilter(_PlotInput(self, pw))
        self.stack.addWidget(pw)
        return True

    def _schedule(self) -> None:
        if self._plot is not None and self.mix is not None:
            self._redraw_timer.start()

    def _pyramid(self, key, audio: np.ndarray) -> PeakPyramid | None:
        """The peaks of ``audio``; None while a worker thread computes them (long audio: the GUI stays live)."""
        got = self._pyramids.get(key)
        if got is not None and got[0] is audio:
            return got[1]
        if len(audio) <= SYNC_FRAMES:
            self._pyramids[key] = (audio, PeakPyramid(audio))
            return self._pyramids[key][1]
        if self._building.get(key) is not audio:
            self._building[key] = audio

            def build() -> None:
                pyr = PeakPyramid(audio)
                try:
                    self._built.emit(key, audio, pyr)
                except (RuntimeError, TypeError):  # the view is gone (PySide raises either, by when it went)
                    pass

            threading.Thread(target=build, name="melodex-peaks", daemon=True).start()
        return None

    def _on_built(self, key, audio: np.ndarray, pyr: PeakPyramid) -> None:
        if self._building.get(key) is audio:
            del self._building[key]
        if audio is self.mix or any(a is audio for a in self.stems.values()):
            self._pyramids[key] = (audio, pyr)
            self._schedule()

    def band_labels(self) -> list[tuple[str, str, float, float]]:
        """(name, peak level, top px, bottom px) of each drawn band, for the gutter."""
        if self._plot is None or self.mix is None or not self._drawn:
            return []
        h = self.height()
        rows = [("Mix", "mix")]
        if "stem" in self._drawn and self.song is not None:
            rows.append((self._track_name(), "stem"))
        out = []
        for i, (name, band) in enumerate(rows):
            level = f"peak {round(-20 * np.log10(self._drawn[band][2])):d} dB"
            out.append((name, level, i * h / len(rows), (i + 1) * h / len(rows)))
        return out

    def _track_name(self) -> str:
        tr = next((t for t in self.song.tracks if t.id == self.track_id), None) if self.song else None
        return tr.name if tr is not None else ""

    def band_data(self, band: str = "mix") -> tuple[np.ndarray, Peaks] | None:
        """What ``band`` ('mix' or 'stem') draws now: (tick of each column's centre, the unscaled peaks)."""
        got = self._drawn.get(band)
        return (got[0], got[1]) if got is not None else None

    def redraw(self) -> None:
        """Draw the visible range of the mix (and the selected track's stem) at one column per pixel."""
        self._redraw_timer.stop()
        if self._plot is None or self.mix is None or self.song is None:
            self._drawn = {}
            self.gutter.update()
            return
        import pyqtgraph as pg

        song, sr = self.song, self.sample_rate
        t0, t1 = self.tick_range
        f0 = int(song.tick_to_seconds(max(0, int(t0))) * sr)
        f1 = int(np.ceil(song.tick_to_seconds(max(0, int(np.ceil(t1)))) * sr)) + 1
        columns = max(1, int(self._plot.vb.width() or self._plot.width()))
        stem = self.stems.get(self.track_id) if self.track_id else None
        bands = [("mix", self.mix, "mix")] + ([("stem", stem, self.track_id)] if stem is not None else [])
        pyramids = [self._pyramid(key, audio) for _, audio, key in bands]
        if pyramids[0] is None:  # the new mix's peaks are being computed: drawn when they are ready
            if not self._drawn:
                self.hint.setText("Drawing the waveform…")
                self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        if self._plot.property("theme") != Theme.name:  # the theme changed (View > Light Theme)
            self._plot.setBackground(Theme.color("lane"))
            self._plot.setProperty("theme", Theme.name)
        bands = [(b, p) for (b, _, _), p in zip(bands, pyramids) if p is not None]
        n = len(bands)
        half = 1.0  # band half-height in plot units; bands centred at 0, -(2 + gap), ...
        self._drawn = {}
        neutral = Theme.color("text_dim")  # the mix in grey, the stem in its track's colour
        tr = next((t for t in song.tracks if t.id == self.track_id), None)
        colors = {"mix": neutral, "stem": role_color(tr.role) if tr is not None else Theme.color("accent")}
        for i, (band, pyr) in enumerate(bands):
            peaks = pyr.query(f0, f1, columns)
            center = -i * (2 * half + BAND_GAP)
            scale = 1.0 / max(float(np.abs(pyr.levels[-1][1:]).max()) if pyr.levels else 1.0, 1e-4)
            ticks = seconds_to_ticks(song, peaks.centers / sr)
            self._drawn[band] = (ticks, peaks, scale)
            hi, lo = self._bands[band]
            fill = QColor(colors[band])
            fill.setAlpha(200)
            for curve, values in ((hi, peaks.maxs), (lo, peaks.mins)):
                curve.setData(ticks, center + np.clip(values * scale, -1, 1) * half * 0.95)
                curve.setPen(pg.mkPen(colors[band], width=1))
                curve.setFillLevel(center)
                curve.setBrush(fill)
                curve.setVisible(True)
            self._center_lines[i].setPen(pg.mkPen(Theme.color("grid_bar"), width=1))
            self._center_lines[i].setValue(center)
            self._center_lines[i].setVisible(True)
        for band in ("mix", "stem")[n:]:
            for curve in self._bands[band]:
                curve.setVisible(False)
                curve.setData([], [])
            self._center_lines[1].setVisible(False)
        self._draw_sections(-(n - 1) * (2 * half + BAND_GAP) - half, half)
        self._fit_section_names(columns / max(1.0, t1 - t0))
        self._playhead.setValue(self.playhead_tick)
        vb = self._plot.vb
        vb.setRange(xRange=(t0, t1), yRange=(-(n - 1) * (2 * half + BAND_GAP) - half * 1.02, half * 1.02), padding=0)
        self.gutter.update()

    def _draw_sections(self, bottom: float, top: float) -> None:
        """A line and a name per section start and a dashed line at the end: the items of the last call are
        moved and relabelled (adding and removing pyqtgraph items is what costs), new ones made only for more
        sections."""
        import pyqtgraph as pg

        song = self.song
        key = (tuple((s.label, *song.section_ticks(s)) for s in song.sections), Theme.name, bottom, top)
        if key == self._sections_key:
            return
        self._sections_key = key
        sections = sorted(song.sections, key=lambda x: x.start_bar)
        lines = [i for i in self._section_items if isinstance(i, pg.InfiniteLine)]
        labels = [i for i in self._section_items if isinstance(i, pg.TextItem)]
        end_line = lines.pop() if len(lines) > len(labels) else None  # the dashed line at the song's end
        while len(labels) < len(sections):
            line = pg.InfiniteLine(pos=0, angle=90, movable=False)
            line.setZValue(10)
            label = pg.TextItem("", anchor=(0, 0))
            label.setZValue(11)
            self._plot.addItem(line)
            self._plot.addItem(label)
            lines.append(line)
            labels.append(label)
        for item in lines[len(sections):] + labels[len(sections):]:
            self._plot.removeItem(item)
        del lines[len(sections):], labels[len(sections):]
        for i, (s, line, label) in enumerate(zip(sections, lines, labels)):
            a = song.section_ticks(s)[0]
            color = section_color(s.label, i)
            line.setPen(pg.mkPen(color, width=1))
            line.setValue(a)
            label.fill = pg.mkBrush(color.red(), color.green(), color.blue(), 150)
            label.setColor(Theme.color("text"))
            label.full_name = s.label  # shown elided to the section's width (_fit_section_names)
            label.fit_px = None
            label.setPos(a, top)
        if sections:
            if end_line is None:
                end_line = pg.InfiniteLine(pos=0, angle=90, movable=False)
                self._plot.addItem(end_line)
            end_line.setPen(pg.mkPen(Theme.color("text_faint"), width=1, style=Qt.PenStyle.DashLine))
            end_line.setValue(max(song.section_ticks(s)[1] for s in sections))
        elif end_line is not None:
            self._plot.removeItem(end_line)
            end_line = None
        self._section_items = [x for pair in zip(lines, labels) for x in pair] + ([end_line] if end_line else [])

    def section_lines(self) -> list[float]:
        """Ticks of the drawn section boundaries (each section's start, then the song's end)."""
        import pyqtgraph as pg

        return [float(i.value()) for i in self._section_items if isinstance(i, pg.InfiniteLine)]

    def _fit_section_names(self, px_per_tick: float) -> None:
        """Each section's name elided to its width at this zoom (a short section's name does not run over the
        next one's)."""
        import pyqtgraph as pg

        labels = [i for i in self._section_items if isinstance(i, pg.TextItem)]
        starts = [float(i.value()) for i in self._section_items if isinstance(i, pg.InfiniteLine)]
        for k, label in enumerate(labels):
            width = int((starts[k + 1] - starts[k]) * px_per_tick) - 10 if k + 1 < len(starts) else 1 << 20
            if label.fit_px == width:
                continue
            label.fit_px = width
            text = QFontMetrics(label.textItem.font()).elidedText(label.full_name, Qt.TextElideMode.ElideRight,
                                                                  max(0, width))
            if text != label.textItem.toPlainText():
                label.setText(text)

    def section_names(self) -> list[str]:
        """The sections' names (each drawn elided to its section's width: ``shown_section_names``)."""
        import pyqtgraph as pg

        return [i.full_name for i in self._section_items if isinstance(i, pg.TextItem)]

    def shown_section_names(self) -> list[str]:
        import pyqtgraph as pg

        return [i.textItem.toPlainText() for i in self._section_items if isinstance(i, pg.TextItem)]

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._schedule()


@functools.cache
def _wave_plot_class():
    """A pyqtgraph view holding one ViewBox (no axes, menus or buttons): what the waveform draws in. A
    ``PlotWidget`` with its axes, menus and buttons hidden took 20-45 ms of the GUI thread to make (its context
    menus and control panel are built even when disabled); this takes ~2 ms."""
    import pyqtgraph as pg

    class WavePlot(pg.GraphicsView):
        def __init__(self) -> None:
            super().__init__()
            self.setObjectName("waveformPlot")
            self.vb = pg.ViewBox(enableMenu=False, defaultPadding=0)
            self.vb.setMouseEnabled(x=False, y=False)
            self.setCentralItem(self.vb)

        def addItem(self, item) -> None:
            self.vb.addItem(item)

        def removeItem(self, item) -> None:
            self.vb.removeItem(item)

    return WavePlot


class _PlotInput(QObject):
    """Clicks on the plot move the playhead; the wheel scrolls and zooms the timeline (which the view follows)."""

    def __init__(self, view: WaveformView, plot):
        super().__init__(plot)
        self.view, self.plot = view, plot

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        canvas = self.view._canvas
        if canvas is None:
            return False
        t = event.type()
        if t == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            pos = self.plot.vb.mapSceneToView(self.plot.mapToScene(event.position().toPoint()))
            canvas.playheadMoved.emit(int(canvas.snapped(pos.x())))
            return True
        if t == QEvent.Type.Wheel:  # Ctrl: zoom at the pointer; else scroll sideways (the timeline, which this follows)
            dy, dx = event.angleDelta().y(), event.angleDelta().x()
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                canvas.zoom(1.15 ** (dy / 120), event.position().x())
            else:
                h = canvas.horizontalScrollBar()
                h.setValue(h.value() - (dy or dx))
            return True
        return False
