"""What the mixer dock's master strip reads while playing: short-term loudness (EBU R128, one 3-second block) and the
true peak of what was played (``mix.loudness``). Qt-free; computed on the GUI thread's meter timer, never in the
audio callback."""
from __future__ import annotations

import math

import numpy as np

from ..mix.loudness import true_peak_dbtp

__all__ = ["short_term_lufs", "true_peak_dbtp"]


def short_term_lufs(audio, sample_rate: int) -> float:
    """Loudness of ``audio`` (frames, 2) as one 3-second block (EBU R128 short-term), LUFS; -inf when silent or
    shorter than 0.4 s."""
    import pyloudnorm

    if len(audio) < int(0.4 * sample_rate) + 1 or not np.any(audio):
        return -math.inf
    block = (len(audio) - 0.5) / sample_rate  # one block over all of it (block * rate must not round above)
    meter = pyloudnorm.Meter(sample_rate, block_size=block)
    try:
        with np.errstate(divide="ignore"):
            return float(meter.integrated_loudness(np.asarray(audio, np.float64)))
    except ValueError:  # pyloudnorm refused the length
        return -math.inf
