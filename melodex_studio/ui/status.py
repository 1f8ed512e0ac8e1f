"""The status bar: the compute device, the models in use, and the running job's stage and progress.

The device is found without importing torch (start-up stays fast): an NVIDIA GPU from the driver's
``/proc`` entry, Apple silicon from the platform, else the CPU. Once a job has loaded torch, the name
torch reports replaces it.
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from ..engine.checks import detect_device
from ..engine.jobs import Progress
from ..engine.session import ProjectSession

STAGES = {"load": "Loading the models", "structure": "Writing the score", "references": "SoundFont references",
          "diffusion": "Rendering audio", "decode": "Decoding audio", "mix": "Mixing", "export": "Exporting",
          "save": "Saving"}


def model_names(session: ProjectSession) -> str:
    """'structure-small · codec-small · renderer-small' (the files the session's jobs load)."""
    from ..engine.models import diffusion_model_paths, structure_model_path
    from ..errors import MelodexError

    names = []
    try:
        names.append(structure_model_path(session.structure_model).stem)
    except MelodexError:
        names.append("no structure model")
    try:
        names += [p.stem for p in diffusion_model_paths(session.diffusion.codec, session.diffusion.renderer)]
    except MelodexError:
        names.append("no renderer")
    return " · ".join(names)


class StudioStatusBar(QStatusBar):
    """Messages on the left; job progress, models and device on the right."""

    def __init__(self, session: ProjectSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.job_label = QLabel(objectName="jobLabel")
        self.progress = QProgressBar(objectName="jobProgress")
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.job_label.hide()
        self.models_label = QLabel(objectName="modelsLabel")
        self.device_label = QLabel(objectName="deviceLabel")
        for w in (self.job_label, self.progress, self.models_label, self.device_label):
            self.addPermanentWidget(w)
        self.refresh_environment()

    def refresh_environment(self) -> None:
        self.device_label.setText(f"⚙ {detect_device(self.session.device)}")
        self.device_label.setToolTip("The device the models run on")
        names = model_names(self.session)
        self.models_label.setText(names)
        self.models_label.setToolTip(f"Models in use: {names}")

    def job_started(self, label: str) -> None:
        self.job_label.setText(f"{label}…")
        self.job_label.show()
        self.progress.setValue(0)
        self.progress.setFormat("starting")
        self.progress.show()

    def job_progress(self, label: str, p: Progress) -> str:
        """Show ``p``; returns the short text ('Writing the score 42 %') the timeline shows too."""
        stage = STAGES.get(p.stage, p.stage.capitalize())
        percent = round(100 * p.fraction)
        self.job_label.setText(f"{label}: {stage}")
        self.job_label.setToolTip(p.message)
        self.progress.setValue(round(1000 * p.fraction))
        self.progress.setFormat(f"{percent} %")
        return f"{stage} {percent} %"

    def job_ended(self, message: str) -> None:
        self.job_label.hide()
        self.progress.hide()
        self.refresh_environment()
        self.showMessage(message, 8000)
