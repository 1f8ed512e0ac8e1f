"""Audio Settings dialog: output device, sample rate and buffer size (a power of two), with the latency the
buffer adds in milliseconds. The window stores the choice in QSettings (``audio/device``,
``audio/sample_rate``, ``audio/blocksize``) and reopens the output with it."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from ..playback.stream import (
    BLOCK_SIZES,
    QUEUE_BUFFERS,
    SAMPLE_RATES,
    NoAudioOutputError,
    OutputSettings,
    output_devices,
)


class AudioSettingsDialog(QDialog):
    """``result_settings`` holds the chosen ``OutputSettings`` after OK (None after Cancel)."""

    def __init__(self, settings: OutputSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("audioSettings")
        self.setWindowTitle("Audio Settings")
        self.result_settings: OutputSettings | None = None
        self.device = QComboBox(objectName="audioDevice")
        self.device.setToolTip("Where playback sounds (the system default follows the operating system's choice)")
        self.device.addItem("System default", None)
        self.problem = QLabel(objectName="audioProblem", wordWrap=True)
        try:
            for _index, name, rate in output_devices():
                self.device.addItem(f"{name} ({rate / 1000:g} kHz)", name)
        except NoAudioOutputError as e:
            self.problem.setText(f"No audio output: {e}. Playback runs silently; the transport still works.")
        self.problem.setVisible(bool(self.problem.text()))
        i = self.device.findData(settings.device)
        self.device.setCurrentIndex(max(i, 0))
        self.rate = QComboBox(objectName="audioSampleRate")
        self.rate.setToolTip("Sample rate of playback (previews are rendered at it; takes are resampled)")
        for r in SAMPLE_RATES:
            self.rate.addItem(f"{r} Hz", r)
        self.rate.setCurrentIndex(max(self.rate.findData(settings.sample_rate), 0))
        self.block = QComboBox(objectName="audioBufferSize")
        self.block.setToolTip("Frames per audio buffer: smaller answers faster, larger is safer on a busy machine")
        for b in BLOCK_SIZES:
            self.block.addItem(f"{b} frames", b)
        self.block.setCurrentIndex(max(self.block.findData(settings.blocksize), 0))
        self.latency = QLabel(objectName="audioLatency")
        self.latency.setToolTip("The delay between a change and hearing it: the buffers the device holds ahead, "
                                "which keep playback smooth while a job computes")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(self.problem)
        form.addRow("Output device", self.device)
        form.addRow("Sample rate", self.rate)
        form.addRow("Buffer size", self.block)
        form.addRow("Latency", self.latency)
        form.addRow(buttons)
        self.rate.currentIndexChanged.connect(self._show_latency)
        self.block.currentIndexChanged.connect(self._show_latency)
        self._show_latency()

    def settings(self) -> OutputSettings:
        return OutputSettings(self.device.currentData(), int(self.rate.currentData()), int(self.block.currentData()))

    def _show_latency(self) -> None:
        s = self.settings()
        self.latency.setText(f"{1000 * s.latency_s:.0f} ms ({QUEUE_BUFFERS} buffers of {s.buffer_ms:.1f} ms)")

    def accept(self) -> None:
        self.result_settings = self.settings()
        super().accept()
