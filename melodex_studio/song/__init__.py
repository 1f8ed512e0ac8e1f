"""The song document (pure Python + numpy; no Qt, no torch)."""
from .model import Chord, Key, Note, Section, Song, Take, Track
from .timing import PPQ, MeterChange, MeterMap, TempoChange, TempoMap, ticks_per_bar

__all__ = [
    "Chord", "Key", "Note", "Section", "Song", "Take", "Track",
    "PPQ", "MeterChange", "MeterMap", "TempoChange", "TempoMap", "ticks_per_bar",
]
