"""The mixer dock: one strip per track (name, gain fader in dB, pan knob, mute, solo, level meter) and a master
strip (level meter, short-term loudness over 3 s, true peak).

Every edit goes through ``session.update_track`` (one undoable change per gesture: a fader drag commits on
release; while it moves, the player hears the new level at once without a change in the document). Meters read
the playback mixer's per-track and master peaks at display rate; loudness and true peak are computed on the GUI
thread from the mixer's copy of what it delivered, never in the audio callback.
"""
from __future__ import annotations

import math
import sys
import threading

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QDial,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import MelodexError
from ..playback.mixer import Levels

_METERS = "melodex_studio.playback.meters"  # imports pyloudnorm and scipy (~2 s): not at the window's start

GAIN_MIN_DB, GAIN_MAX_DB = -60.0, 12.0  # fader range; steps of 0.5 dB
METER_FLOOR_DB = -60.0
METER_DECAY = 0.82  # per display frame (~30 Hz): about 26 dB/s fall
LUFS_WINDOW_S = 3.0  # short-term loudness (EBU R128)
LOUDNESS_EVERY = 6  # display frames between loudness/true-peak updates (~5 Hz)


def pan_text(pan: float) -> str:
    """C, L30, R100, ... for a pan of -1 .. 1."""
    v = round(pan * 100)
    return "C" if v == 0 else f"{'L' if v < 0 else 'R'}{abs(v)}"


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


class LevelMeter(QWidget):
    """A vertical peak meter, -60..0 dBFS (red over 0 dBFS), with a decaying fall and a peak-hold line."""

    def __init__(self, parent: QWidget | None = None, stereo_width: int = 10):
        super().__init__(parent)
        self.level = 0.0  # linear, as shown (decaying)
        self.hold = 0.0
        self._hold_frames = 0
        self.setFixedWidth(stereo_width)
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def set_peak(self, peak: float) -> None:
        """One meter frame: the level decays towards ``peak``, the hold line stays 45 frames. Repaints only when
        what is drawn changes (silent meters cost the GUI thread nothing at 30 frames a second)."""
        shown = self._shown()
        self.level = max(float(peak), self.level * METER_DECAY)
        if peak >= self.hold or self._hold_frames <= 0:
            self.hold, self._hold_frames = float(peak), 45
        else:
            self._hold_frames -= 1
        if self._shown() != shown:
            self.update()

    def _shown(self) -> tuple[int, int, bool]:
        """What the meter draws, in 1/1000 of its height: level, hold line, clip colour."""
        return round(1000 * self.fraction(self.level)), round(1000 * self.fraction(self.hold)), self.level >= 1.0

    def reset(self) -> None:
        self.level = self.hold = 0.0
        self.update()

    @staticmethod
    def fraction(level: float) -> float:
        db = _db(level)
        return 0.0 if db <= METER_FLOOR_DB else min(1.0, (db - METER_FLOOR_DB) / -METER_FLOOR_DB)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        r = self.rect()
        p.fillRect(r, self.palette().base())
        h = r.height()
        f = self.fraction(self.level)
        top = r.bottom() - f * h
        colour = QColor("#e05050") if self.level >= 1.0 else (QColor("#e0c040") if _db(self.level) > -6 else QColor("#4cbf6a"))
        p.fillRect(QRectF(r.left() + 1, top, r.width() - 2, r.bottom() - top), colour)
        if self.hold > 0:
            y = r.bottom() - self.fraction(self.hold) * h
            p.fillRect(QRectF(r.left(), y, r.width(), 2), colour.lighter(130))
        p.end()


class ChannelStrip(QFrame):
    """One track's strip (objectName ``mixerStrip``, ``track_id``)."""

    def __init__(self, view: MixerView, track):
        super().__init__(view)
        self.view, self.track_id = view, track.id
        self.setObjectName("mixerStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(84)
        self.name = QLabel(objectName="stripName", alignment=Qt.AlignmentFlag.AlignCenter)
        self.pan = QDial(objectName="stripPan", minimum=-100, maximum=100, notchesVisible=True, wrapping=False)
        self.pan.setFixedSize(QSize(40, 40))
        self.pan.setToolTip("Pan: left ↔ right (double-click: centre)")
        self.pan_label = QLabel(objectName="stripPanLabel", alignment=Qt.AlignmentFlag.AlignCenter)
        self.pan_label.setToolTip("Pan position: L100 … C … R100")
        self.gain = QSlider(Qt.Orientation.Vertical, objectName="stripGain")
        self.gain.setRange(int(GAIN_MIN_DB * 2), int(GAIN_MAX_DB * 2))
        self.gain.setPageStep(6)
        self.gain.setToolTip("Gain in dB (drag; the wheel or arrow keys move it in 0.5 dB steps)")
        self.gain_label = QLabel(objectName="stripGainLabel", alignment=Qt.AlignmentFlag.AlignCenter)
        self.meter = LevelMeter(self)
        self.meter.setObjectName("stripMeter")
        self.meter.setToolTip("Level of the track (after gain and pan) while playing")
        self.mute = QToolButton(objectName="stripMute", text="M", checkable=True)
        self.mute.setToolTip("Mute the track")
        self.solo = QToolButton(objectName="stripSolo", text="S", checkable=True)
        self.solo.setToolTip("Solo the track (only soloed tracks play)")
        for b in (self.mute, self.solo):
            b.setFixedSize(QSize(26, 22))

        fader = QHBoxLayout()
        fader.addStretch(1)
        fader.addWidget(self.gain)
        fader.addWidget(self.meter)
        fader.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.mute)
        buttons.addWidget(self.solo)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        lay.addWidget(self.name)
        lay.addWidget(self.pan, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.pan_label)
        lay.addLayout(fader, 1)
        lay.addWidget(self.gain_label)
        lay.addLayout(buttons)
        self.show_track(track)

        self.gain.valueChanged.connect(self._gain_moved)
        self.gain.sliderReleased.connect(self._commit)
        self.pan.valueChanged.connect(self._pan_moved)
        self.pan.sliderReleased.connect(self._commit)
        self.mute.toggled.connect(lambda on: self.view.update_track(self.track_id, mute=on))
        self.solo.toggled.connect(lambda on: self.view.update_track(self.track_id, solo=on))
        self.pan.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.pan and event.type() == event.Type.MouseButtonDblClick:
            self.view.update_track(self.track_id, pan=0.0)
            return True
        return False

    def show_track(self, track) -> None:
        """Show ``track``'s values (without sending edits back)."""
        self.name.ensurePolished()  # the theme's font, not the default one: the text is measured in it
        width = self.width() - 8 - 2 * self.frameWidth()  # the strip's fixed width less the layout's margins
        self.name.setText(self.name.fontMetrics().elidedText(track.name, Qt.TextElideMode.ElideRight, width))
        self.name.setToolTip(f"{track.name} ({track.role})")
        for w, v in ((self.gain, round(max(GAIN_MIN_DB, min(GAIN_MAX_DB, track.gain_db)) * 2)),
                     (self.pan, round(track.pan * 100)), (self.mute, track.mute), (self.solo, track.solo)):
            w.blockSignals(True)
            if isinstance(v, bool):
                w.setChecked(v)
            else:
                w.setValue(int(v))
            w.blockSignals(False)
        self.gain_label.setText(f"{track.gain_db:+.1f} dB")
        self.pan_label.setText(pan_text(track.pan))

    def gain_db(self) -> float:
        return self.gain.value() / 2.0

    def pan_value(self) -> float:
        return self.pan.value() / 100.0

    def _gain_moved(self) -> None:
        self.gain_label.setText(f"{self.gain_db():+.1f} dB")
        if self.gain.isSliderDown():
            self.view.hear(self.track_id, gain_db=self.gain_db())
        else:
            self._commit()

    def _pan_moved(self) -> None:
        self.pan_label.setText(pan_text(self.pan_value()))
        if self.pan.isSliderDown():
            self.view.hear(self.track_id, pan=self.pan_value())
        else:
            self._commit()

    def _commit(self) -> None:
        self.view.update_track(self.track_id, gain_db=self.gain_db(), pan=self.pan_value())


class MasterStrip(QFrame):
    """The master strip (objectName ``masterStrip``): stereo meter, short-term LUFS, true peak."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("masterStrip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(112)
        title = QLabel("Master", alignment=Qt.AlignmentFlag.AlignCenter)
        self.meter = LevelMeter(self, 16)
        self.meter.setObjectName("masterMeter")
        self.meter.setToolTip("Peak level of the mix (red: over 0 dBFS)")
        self.lufs = QLabel("— LUFS", objectName="masterLufs", alignment=Qt.AlignmentFlag.AlignCenter)
        self.lufs.setToolTip("Short-term loudness of the last 3 seconds (EBU R128), LUFS")
        self.true_peak = QToolButton(objectName="masterTruePeak", text="TP — dB")
        self.true_peak.setToolTip("Highest true (inter-sample) peak since the last reset, dBTP; click to reset")
        self.true_peak.clicked.connect(self.reset_true_peak)
        self.true_peak_dbtp = -math.inf
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(title)
        lay.addWidget(self.meter, 1, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.lufs)
        lay.addWidget(self.true_peak)

    def set_loudness(self, lufs: float) -> None:
        self.lufs.setText(f"{lufs:.1f} LUFS" if math.isfinite(lufs) else "— LUFS")

    def add_true_peak(self, dbtp: float) -> None:
        if dbtp > self.true_peak_dbtp:
            self.true_peak_dbtp = dbtp
            self.true_peak.setText(f"TP {dbtp:+.1f} dB")
            self.true_peak.setProperty("over", dbtp > -1.0)
            self.true_peak.setStyleSheet("color: #e05050;" if dbtp > -1.0 else "")

    def reset_true_peak(self) -> None:
        self.true_peak_dbtp = -math.inf
        self.true_peak.setText("TP — dB")
        self.true_peak.setStyleSheet("")


_loading: list[threading.Thread] = []


def load_meters_in_background() -> threading.Thread:
    """Import ``playback.meters`` on a daemon thread (once); the GUI thread keeps running meanwhile."""
    if not _loading:
        import importlib

        _loading.append(threading.Thread(target=importlib.import_module, args=(_METERS,), daemon=True,
                                         name="melodex-meters-import"))
        _loading[0].start()
    return _loading[0]


class MixerView(QWidget):
    """See the module docstring. ``player`` is the window's ``playback.player.Player`` (None: no meters)."""

    def __init__(self, session, player=None, parent: QWidget | None = None, on_error=None):
        super().__init__(parent)
        self.setObjectName("mixerView")
        self.session, self.player, self.on_error = session, player, on_error
        self.strips: list[ChannelStrip] = []
        self.master = MasterStrip(self)
        self._row = QHBoxLayout()
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(2)
        self._row.addStretch(1)
        inner = QWidget()
        inner.setLayout(self._row)
        scroll = QScrollArea(objectName="mixerStrips", widgetResizable=True)
        scroll.setWidget(inner)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.master)
        self.timer = QTimer(self, interval=33)
        self.timer.timeout.connect(self.update_meters)
        self.timer.start()
        self._frames = 0
        self._measured = 0  # mixer frames already measured for the true peak
        self.follow_later = lambda step: False  # the window: takes ``step`` for later while it applies a job
        self._stale = False
        self._tab_shown = True  # until the window's dock says otherwise
        self._unsubscribe = session.subscribe(lambda info: self._on_change())
        self.refresh()

    def _on_change(self) -> None:
        """Follow a change: now when the mixer is in view, when it next comes into view if not (it sits behind the
        waveform's tab by default; a new song's strips cost ~12 ms to make), and after the timeline when the change
        is a job's result (the window follows a result in short pieces of work, ``ui/follow_up.py``)."""
        if not self.in_view():
            self._stale = True
        elif not self.follow_later(self.refresh):
            self.refresh()

    def in_view(self) -> bool:
        return self.isVisible() and self._tab_shown

    def set_tab_shown(self, shown: bool) -> None:
        """The dock's tab was selected or left (``QDockWidget.visibilityChanged``: a dock behind another's tab
        stays ``isVisible``)."""
        self._tab_shown = shown
        if self._stale and self.in_view():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        if self._stale and self._tab_shown:
            self.refresh()
        super().showEvent(event)

    # --- the document ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """One strip per track, showing the song's values."""
        self._stale = False
        tracks = self.session.song.tracks
        if [s.track_id for s in self.strips] != [t.id for t in tracks]:  # the strips there are take the new
            for s in self.strips[len(tracks):]:  # tracks in order (a new song: no widgets rebuilt), more are made
                self._row.removeWidget(s)
                s.deleteLater()
            del self.strips[len(tracks):]
            for s, t in zip(self.strips, tracks):
                if s.track_id != t.id:
                    s.track_id = t.id
                    s.meter.reset()
            for i, t in enumerate(tracks[len(self.strips):], start=len(self.strips)):
                self.strips.append(ChannelStrip(self, t))
                self._row.insertWidget(i, self.strips[-1])
        for s, t in zip(self.strips, tracks):
            s.show_track(t)

    def strip(self, track_id: str) -> ChannelStrip:
        return next(s for s in self.strips if s.track_id == track_id)

    def update_track(self, track_id: str, **changes) -> None:
        """One undoable change of the track (nothing when the values are already these)."""
        track = self.session.song.track(track_id)
        changes = {k: v for k, v in changes.items() if getattr(track, k) != v}
        if not changes:
            return
        try:
            self.session.update_track(track_id, **changes)
        except MelodexError as e:
            if self.on_error is not None:
                self.on_error("Cannot change the track", e)
            self.refresh()

    def hear(self, track_id: str, **values) -> None:
        """Play the track with ``values`` (gain_db, pan) now, without changing the document (a drag)."""
        if self.player is None:
            return
        self.player.set_levels(Levels.of(self.session.song, self.player.mixer.levels.trim).trying(
            self.session.song, track_id, **values))

    # --- meters ----------------------------------------------------------------------------------------
    def update_meters(self) -> None:
        if self.player is None or not self.in_view():
            return
        mixer = self.player.mixer
        peaks, master = mixer.take_peaks()
        for s in self.strips:
            s.meter.set_peak(peaks.get(s.track_id, 0.0))
        self.master.meter.set_peak(master)
        self._frames += 1
        if self._frames % LOUDNESS_EVERY == 0 and (self.player.playing or self.master.meter.level > 1e-4):
            self.measure()

    def measure(self) -> None:
        """Short-term loudness of the last 3 s and the true peak of what was played since the last call. The
        loudness code (pyloudnorm, scipy) is imported on a thread the first time; until then nothing is measured."""
        meters = sys.modules.get(_METERS) if not (_loading and _loading[0].is_alive()) else None
        if meters is None:
            load_meters_in_background()
            return
        short_term_lufs, true_peak_dbtp = meters.short_term_lufs, meters.true_peak_dbtp
        mixer = self.player.mixer
        rate = mixer.sample_rate
        recent = mixer.recent(int(LUFS_WINDOW_S * rate))
        self.master.set_loudness(short_term_lufs(recent, rate))
        new = min(mixer.frames_written - self._measured, len(recent))
        self._measured = mixer.frames_written
        if new > 0:
            self.master.add_true_peak(true_peak_dbtp(recent[-new:], rate))

    def close_view(self) -> None:
        self.timer.stop()
        self._unsubscribe()
