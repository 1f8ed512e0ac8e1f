"""Playable ranges of the General MIDI instruments, as MIDI note numbers (concert pitch, middle C = 60).

``PROGRAM_RANGES[program] = (lowest, highest)`` for the 128 GM programs, from the usual orchestration
ranges of the instrument each program names (a "bass" program does not go above its top fret, timpani stay
within D2..C4); synthesizers and effects get wide ranges. ``DRUM_RANGE`` is the GM percussion key map
(27..87 with the GS extension; 35..81 in GM level 1). Plain data, no Qt, no torch: the song evaluation uses it
and the sampler can clamp to it.
"""
from __future__ import annotations

from collections.abc import Iterable

DRUM_RANGE = (27, 87)

_SPANS: list[tuple[range, tuple[int, int]]] = [
    (range(4), (21, 108)),     # acoustic, bright, electric grand, honky-tonk piano
    (range(4, 6), (28, 103)),     # electric pianos (73/88-key)
    (range(6, 8), (29, 89)),      # harpsichord, clavinet
    (range(8, 9), (60, 108)),     # celesta
    (range(9, 10), (79, 108)),    # glockenspiel
    (range(10, 11), (60, 96)),    # music box
    (range(11, 12), (53, 89)),    # vibraphone
    (range(12, 13), (45, 96)),    # marimba
    (range(13, 14), (65, 108)),   # xylophone
    (range(14, 15), (60, 77)),    # tubular bells
    (range(15, 16), (48, 91)),    # dulcimer
    (range(16, 19), (36, 96)),    # drawbar, percussive, rock organ
    (range(19, 20), (24, 108)),   # church organ (with pedals)
    (range(20, 21), (36, 96)),    # reed organ
    (range(21, 22), (41, 89)),    # accordion
    (range(22, 23), (60, 96)),    # harmonica
    (range(23, 24), (41, 89)),    # tango accordion
    (range(24, 25), (40, 83)),    # nylon guitar
    (range(25, 31), (40, 88)),    # steel, jazz, clean, muted, overdriven, distortion guitar
    (range(31, 32), (52, 96)),    # guitar harmonics
    (range(32, 38), (28, 67)),    # acoustic, fingered, picked, fretless, slap basses
    (range(38, 40), (24, 72)),    # synth basses
    (range(40, 41), (55, 103)),   # violin
    (range(41, 42), (48, 91)),    # viola
    (range(42, 43), (36, 76)),    # cello
    (range(43, 44), (28, 67)),    # contrabass
    (range(44, 46), (28, 103)),   # tremolo, pizzicato strings
    (range(46, 47), (24, 103)),   # harp
    (range(47, 48), (38, 60)),    # timpani
    (range(48, 52), (28, 103)),   # string ensembles, synth strings
    (range(52, 54), (40, 84)),    # choir aahs, voice oohs
    (range(54, 56), (36, 96)),    # synth voice, orchestra hit
    (range(56, 57), (52, 86)),    # trumpet
    (range(57, 58), (40, 77)),    # trombone
    (range(58, 59), (26, 65)),    # tuba
    (range(59, 60), (52, 84)),    # muted trumpet
    (range(60, 61), (34, 77)),    # french horn
    (range(61, 62), (34, 86)),    # brass section
    (range(62, 64), (36, 96)),    # synth brass
    (range(64, 65), (56, 88)),    # soprano sax
    (range(65, 66), (49, 81)),    # alto sax
    (range(66, 67), (44, 76)),    # tenor sax
    (range(67, 68), (36, 69)),    # baritone sax
    (range(68, 69), (58, 91)),    # oboe
    (range(69, 70), (52, 84)),    # english horn
    (range(70, 71), (34, 75)),    # bassoon
    (range(71, 72), (50, 94)),    # clarinet
    (range(72, 73), (74, 108)),   # piccolo
    (range(73, 74), (60, 96)),    # flute
    (range(74, 75), (60, 98)),    # recorder
    (range(75, 77), (60, 96)),    # pan flute, blown bottle
    (range(77, 78), (55, 91)),    # shakuhachi
    (range(78, 79), (74, 103)),   # whistle
    (range(79, 80), (60, 91)),    # ocarina
    (range(80, 88), (36, 108)),   # synth leads
    (range(88, 104), (28, 103)),  # synth pads and effects
    (range(104, 105), (48, 84)),  # sitar
    (range(105, 106), (48, 84)),  # banjo
    (range(106, 107), (50, 86)),  # shamisen
    (range(107, 108), (48, 91)),  # koto
    (range(108, 109), (60, 91)),  # kalimba
    (range(109, 110), (55, 76)),  # bagpipe
    (range(110, 111), (55, 103)),  # fiddle
    (range(111, 112), (60, 91)),  # shanai
    (range(112, 113), (72, 96)),  # tinkle bell
    (range(113, 114), (60, 84)),  # agogo
    (range(114, 115), (52, 88)),  # steel drums
    (range(115, 116), (48, 84)),  # woodblock
    (range(116, 117), (36, 60)),  # taiko
    (range(117, 119), (36, 72)),  # melodic tom, synth drum
    (range(119, 120), (36, 96)),  # reverse cymbal
    (range(120, 128), (0, 127)),  # sound effects
]

PROGRAM_RANGES: dict[int, tuple[int, int]] = {p: span for r, span in _SPANS for p in r}
assert sorted(PROGRAM_RANGES) == list(range(128))


def instrument_range(program: int, is_drum: bool = False) -> tuple[int, int]:
    """(lowest, highest) MIDI note of a GM program, or of the drum key map for a drum track."""
    return DRUM_RANGE if is_drum else PROGRAM_RANGES[int(program)]


def out_of_range(pitches: Iterable[int], program: int, is_drum: bool = False) -> int:
    """How many of ``pitches`` lie outside the instrument's range."""
    lo, hi = instrument_range(program, is_drum)
    return sum(1 for p in pitches if not lo <= p <= hi)


def clamp_to_range(pitch: int, program: int, is_drum: bool = False) -> int:
    """The pitch moved by octaves into the instrument's range (the nearest end when the range is under an
    octave wide), so its pitch class and so its harmony are kept."""
    lo, hi = instrument_range(program, is_drum)
    p = int(pitch)
    while p < lo:
        p += 12
    while p > hi:
        p -= 12
    return p if lo <= p <= hi else min(max(pitch, lo), hi)
