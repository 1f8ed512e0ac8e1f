"""The transport of the window: play / stop / play selection / loop / return to start, through the player.

``TransportActions`` is a mixin of ``MainWindow`` (the slots of the Transport actions, ``audition_note``) and
``Transport`` the object behind it: it keeps the player's stems (``AudioSource``) and levels (the song's gain,
pan, mute and solo, applied at once after every change) current, converts between ticks and frames at the
player's rate, and moves the playhead at display rate (a ~30 Hz timer reading the mixer's frame position).
Without an output device the player runs on a silent clock, so all of this works the same; the status bar says
why there is no sound.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtWidgets import QLabel

from ..errors import MelodexError
from ..playback.mixer import Levels
from ..playback.player import Player
from ..playback.stream import OutputSettings
from .audio_source import AudioSource
from .icons import icon

DISPLAY_HZ = 30


def position_text(song, tick: int) -> str:
    """``bar:beat`` and ``m:ss.s`` of ``tick`` (bars and beats from 1), e.g. ``12:3   0:23.4``."""
    bar, off = song.meter_map.tick_to_bar(int(tick))
    beat_ticks = song.ppq * 4 // song.meter_map.meter_at_bar(bar).denominator
    secs = song.tick_to_seconds(int(tick))
    return f"{bar + 1}:{off // beat_ticks + 1}   {int(secs // 60)}:{secs % 60:04.1f}"


def load_output_settings() -> OutputSettings:
    """The output device, sample rate and buffer size stored in QSettings (``audio/...``), or the defaults."""
    s = QSettings()
    device = s.value("audio/device") or None
    try:
        return OutputSettings(device, int(s.value("audio/sample_rate", 44100)), int(s.value("audio/blocksize", 512)))
    except (MelodexError, TypeError, ValueError):
        return OutputSettings()


def save_output_settings(settings: OutputSettings) -> None:
    s = QSettings()
    s.setValue("audio/device", settings.device or "")
    s.setValue("audio/sample_rate", settings.sample_rate)
    s.setValue("audio/blocksize", settings.blocksize)


class Transport(QObject):
    """See the module docstring. ``window`` is the MainWindow (timeline, actions, status bar, set_playhead)."""

    def __init__(self, window, player: Player, source: AudioSource):
        super().__init__(window)
        self.window, self.player, self.source = window, player, source
        self.start_tick = 0  # where the last play started (the playhead returns there at the end of the song)
        self.timer = QTimer(self, interval=1000 // DISPLAY_HZ)
        self.timer.timeout.connect(self.follow)
        source.direct_stems = player.set_stems  # from the worker thread, at once (an atomic swap)
        source.changed.connect(self.apply_levels)
        self._unsubscribe = window.session.subscribe(lambda info: self.apply_levels())
        window.timeline.canvas.playheadMoved.connect(self.seek_tick)

    @property
    def song(self):
        return self.window.session.song

    # --- ticks and frames ----------------------------------------------------------------------------
    def frame_of(self, tick: int) -> int:
        return self.song.tick_to_sample(int(tick), self.player.sample_rate)

    def tick_of(self, frame: int) -> int:
        return int(self.song.tempo_map.seconds_to_tick(frame / self.player.sample_rate))

    # --- keeping the player current -------------------------------------------------------------------
    def apply_levels(self) -> None:
        """The song's gain, pan, mute and solo now (the anti-clip trim of the last mix)."""
        self.player.set_levels(Levels.of(self.song, self.source.levels.trim))
        self.player.mixer.end_frames = self.frame_of(self.song.end_tick)  # silence until the stems are there
        self.sync_loop()

    def sync_loop(self) -> None:
        bars = self.window.timeline.canvas.loop_bars
        if bars is None:
            self.player.set_loop(None)
        else:
            self.player.set_loop(self.frame_of(self.song.bar_to_tick(bars[0])),
                                 self.frame_of(self.song.bar_to_tick(bars[1])))

    # --- transport -------------------------------------------------------------------------------------
    def play(self, tick: int | None = None) -> None:
        tick = self.window.timeline.canvas.playhead_tick if tick is None else int(tick)
        self.start_tick = tick
        self.apply_levels()
        self.player.play(self.frame_of(tick))
        self.timer.start()
        self.window.actions_by_id["play"].setIcon(icon("stop"))
        if self.player.no_output:
            self.window.status.showMessage(f"No audio output: {self.player.no_output}", 10000)

    def stop(self) -> None:
        self.player.stop()
        self.timer.stop()
        self.window.actions_by_id["play"].setIcon(icon("play"))
        self.window.set_playhead(self.tick_of(self.player.position))

    def toggle(self) -> None:
        if self.player.playing:
            self.stop()
        else:
            self.play()

    def seek_tick(self, tick: int) -> None:
        """Move playback to ``tick`` (the playhead was moved by a ruler click or Home)."""
        self.player.seek(self.frame_of(tick))
        if self.player.playing:
            self.start_tick = int(tick)

    def follow(self) -> None:
        """Put the playhead where the mixer plays now; at the end of the song stop and return to the start."""
        if self.player.mixer.take_ended():
            self.stop()
            self.window.set_playhead(self.start_tick)
            return
        self.window.set_playhead(self.tick_of(self.player.position))

    def close(self) -> None:
        self.timer.stop()
        self._unsubscribe()
        self.source.close()
        self.player.close()


class TransportActions:
    """MainWindow mixin: the slots of the Transport actions and ``audition_note``."""

    def _setup_playback(self) -> None:
        """The player (device from the audio settings, or a silent clock), the audio source and the transport."""
        settings = load_output_settings()
        self.playback = Player(settings.sample_rate)
        reason = self.playback.open_output(settings)
        self.audio_source = AudioSource(self.session, self.playback.sample_rate, self)
        self.transport_control = Transport(self, self.playback, self.audio_source)
        self.audio_source.failed.connect(lambda text: self.status.showMessage(f"No preview audio: {text}", 15000))
        set_audio = getattr(self.waveform, "set_audio", None)
        if set_audio is not None:
            self.audio_source.changed.connect(
                lambda: set_audio(self.audio_source.mix(), self.audio_source.sample_rate, self.audio_source.stems()))
        self.output_label = QLabel(objectName="audioOutputLabel")
        self.status.addPermanentWidget(self.output_label)
        self._show_output(reason)
        self.audio_source.refresh()

    def _show_output(self, reason: str | None) -> None:
        """The output in the status bar: "No audio output: <reason>", or the rate and buffer latency."""
        if reason:
            text = f"No audio output: {reason}"
            self.output_label.setText(text if len(text) <= 64 else text[:63] + "…")
            self.output_label.setToolTip(text + ". Playback runs silently (the playhead still moves); "
                                         "choose a device in Transport ▸ Audio Settings")
            self.status.showMessage(text, 15000)
        else:
            s = self.playback.stream
            self.output_label.setText(f"{s.sample_rate / 1000:g} kHz · {1000 * s.latency_s:.0f} ms")
            self.output_label.setToolTip("Audio output: sample rate and latency (Transport ▸ Audio Settings)")

    def toggle_play(self) -> None:
        """Play from the playhead, or stop (Space)."""
        self.transport_control.toggle()

    def stop_playback(self) -> None:
        if self.playback.playing:
            self.transport_control.stop()

    def play_selection(self) -> None:
        """Play from the start of the selected section (else from the playhead)."""
        i = self.timeline.selected_section_index()
        tick = self.song.bar_to_tick(self.song.sections[i].start_bar) if i >= 0 else None
        if tick is not None:
            self.set_playhead(tick)
        self.transport_control.play(tick)

    def rewind(self) -> None:
        """Return to the start (Home); playback goes on from there when it runs."""
        self.set_playhead(0)
        self.transport_control.seek_tick(0)

    def audition_note(self, program: int, pitch: int, velocity: int = 100, is_drum: bool = False) -> None:
        """Play one note (GM ``program``, MIDI ``pitch``/``velocity``; a drum kit when ``is_drum``) at once."""
        from ..engine.preview import render_note

        try:
            audio = render_note(program, pitch, velocity, is_drum, self.playback.sample_rate)
        except (MelodexError, ValueError) as e:
            self.status.showMessage(f"Cannot play the note: {e}", 5000)
            return
        self.playback.audition(audio)

    def show_audio_settings(self) -> None:
        from .audio_settings import AudioSettingsDialog

        dialog = AudioSettingsDialog(load_output_settings(), self)
        if dialog.exec() and dialog.result_settings is not None:
            self.apply_output_settings(dialog.result_settings)

    def apply_output_settings(self, settings: OutputSettings) -> str | None:
        """Store ``settings`` and reopen the output with them; returns why there is no sound (None: sound)."""
        save_output_settings(settings)
        playing = self.playback.playing
        self.transport_control.stop()
        reason = self.playback.open_output(settings)
        self.audio_source.set_sample_rate(self.playback.sample_rate)
        self.transport_control.apply_levels()
        self._show_output(reason)
        if playing:
            self.transport_control.play()
        return reason
