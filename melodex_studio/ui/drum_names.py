"""General MIDI percussion key names (channel 10, keys 35..81) and the rows of the piano roll's drum grid."""
from __future__ import annotations

from collections.abc import Iterable

GM_DRUMS = {
    35: "Acoustic Bass Drum", 36: "Bass Drum 1", 37: "Side Stick", 38: "Acoustic Snare", 39: "Hand Clap",
    40: "Electric Snare", 41: "Low Floor Tom", 42: "Closed Hi-Hat", 43: "High Floor Tom", 44: "Pedal Hi-Hat",
    45: "Low Tom", 46: "Open Hi-Hat", 47: "Low-Mid Tom", 48: "Hi-Mid Tom", 49: "Crash Cymbal 1", 50: "High Tom",
    51: "Ride Cymbal 1", 52: "Chinese Cymbal", 53: "Ride Bell", 54: "Tambourine", 55: "Splash Cymbal",
    56: "Cowbell", 57: "Crash Cymbal 2", 58: "Vibraslap", 59: "Ride Cymbal 2", 60: "Hi Bongo", 61: "Low Bongo",
    62: "Mute Hi Conga", 63: "Open Hi Conga", 64: "Low Conga", 65: "High Timbale", 66: "Low Timbale",
    67: "High Agogo", 68: "Low Agogo", 69: "Cabasa", 70: "Maracas", 71: "Short Whistle", 72: "Long Whistle",
    73: "Short Guiro", 74: "Long Guiro", 75: "Claves", 76: "Hi Wood Block", 77: "Low Wood Block", 78: "Mute Cuica",
    79: "Open Cuica", 80: "Mute Triangle", 81: "Open Triangle",
}

# The kit pieces a drum grid always offers (kick, snares, clap, hi-hats, toms, crash, ride), used or not.
COMMON_DRUMS = (36, 38, 39, 42, 44, 46, 41, 45, 48, 50, 49, 51)


def drum_name(pitch: int) -> str:
    """'Acoustic Snare' for key 38; 'Key N' outside the GM percussion map."""
    return GM_DRUMS.get(pitch, f"Key {pitch}")


def drum_rows(used: Iterable[int]) -> list[int]:
    """The pitches of the drum grid's rows, top to bottom: the keys in use plus the common kit pieces, highest
    key on top (cymbals above the kick, as drum editors show them)."""
    return sorted(set(COMMON_DRUMS) | {int(p) for p in used}, reverse=True)
