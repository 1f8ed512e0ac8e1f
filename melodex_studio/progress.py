"""The one progress type of every long operation (jobs, training, evaluation): pure Python, importable by
every layer. ``engine.jobs`` reports it for model jobs; the CLI shows it as a bar (``commands.common``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Progress:
    """Where an operation is: ``stage`` ('structure', 'references', 'diffusion', 'decode', 'export', 'train',
    'eval', ...), ``step`` of ``total`` in that stage, a message for people, and the stems finished so far
    (track id -> (frames, 2) float32 at the song's rate) so a window can play audio as it arrives."""

    stage: str
    step: int
    total: int
    message: str = ""
    stems: Mapping[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def fraction(self) -> float:
        """Progress within the stage, 0..1."""
        return min(1.0, self.step / self.total) if self.total > 0 else 0.0


ProgressCallback = Callable[[Progress], None]
