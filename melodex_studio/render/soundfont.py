"""SoundFont renderer: a Song (or some of its tracks, or one section) to stereo float32 audio.

Sample-based and deterministic (same song, same SoundFont -> identical arrays). It is the instant
preview of the studio and the teacher that turns scores into audio training pairs.

Timing is sample-accurate against the tempo map: each track is rendered by its own TinySoundFont
instance (so stems are separate), in blocks split exactly at event positions, so that a note that
starts at tick ``t`` starts sounding at sample ``song.tick_to_sample(t)`` (relative to the start of the
rendered range). Between two events a track is rendered with one ``render`` call.

Release tails are kept: after the last note-off a track keeps rendering in ``TAIL_BLOCK`` chunks until
a chunk is silent (peak below ``SILENCE_THRESHOLD``, -100 dBFS) or ``tail_seconds`` have passed. The
result length is ``max(end of the song or section, end of the longest tail)``; every stem has that
length and starts at sample 0 = the start of the rendered range.

Stems are *dry*: no track gain, pan, mute or solo (``mix.mixer`` applies those).

A track's controller lanes (``Track.controls``) play as a GM synth plays them:

* CC64 sustain pedal: a note released while the pedal is down (value >= 64) sounds on until the pedal is lifted,
  the same pitch is struck again, or the rendered range ends (TinySoundFont has no pedal: the schedule does it).
* CC7 volume and CC11 expression scale the stem by ``(cc7 / base) ** 2 * (cc11 / 127) ** 2`` (the GM 40 log10
  curve), where ``base`` is the CC7 of the track's gain (``io.midi.gain_db_to_cc7``), which the mixer applies:
  a lane value equal to the track's own volume leaves the stem as it is.
* pitch bend (range 2 semitones, or what RPN 0 sets through CC101/100/6/38) and program changes inside the
  track (new notes take the new preset).
* other controllers (modulation, pan changes, ...) are kept in the document and the MIDI export, not rendered.

A section render starts from the lane values in force at the section's first tick.
"""
from __future__ import annotations

import bisect
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import AudioError, CancelledError
from ..io.midi import gain_db_to_cc7
from ..song import Section, Song, Track
from ..song.model import EXPRESSION, PITCH_BEND, PROGRAM, SUSTAIN, VOLUME

SILENCE_THRESHOLD = 1e-5  # linear peak below which a tail chunk counts as silent (-100 dBFS)
TAIL_BLOCK = 1024  # frames per tail chunk
DEFAULT_TAIL_SECONDS = 4.0  # cap of a release tail after the last note-off, in seconds
MAX_VOICES = 256  # per track
FADE_SECONDS = 0.01  # fade applied when a tail is cut at the cap, in seconds
SETTINGS_FILE = "settings.json"
SETTINGS_KEY = "soundfont"
# MIT-licensed General MIDI SoundFonts, by preference, and where Linux/macOS/Windows packages put them.
SYSTEM_SOUNDFONT_NAMES = ("FluidR3_GM.sf2", "MuseScore_General.sf3", "MuseScore_General.sf2", "FluidR3_GM.sf3")
SYSTEM_SOUNDFONT_DIRS = (
    "/usr/share/sounds/sf2", "/usr/share/sounds/sf3", "/usr/share/soundfonts", "/usr/local/share/soundfonts",
    "/usr/share/mscore-4.0/sound", "/usr/share/musescore/sound", "/opt/homebrew/share/soundfonts",
    "~/.local/share/soundfonts", "~/Library/Audio/Sounds/Banks", "C:/soundfonts",
)

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


def settings_path() -> Path:
    """The user settings file: ``settings.json`` in ``platformdirs.user_config_dir("melodex-studio")``."""
    import platformdirs

    return Path(platformdirs.user_config_dir("melodex-studio")) / SETTINGS_FILE


def _bundled_soundfont() -> Path | None:
    """pretty_midi's TimGM6mb.sf2 (GPL-2), used in place from the installed package, never copied."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("pretty_midi")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def find_soundfont(search_dirs: Sequence[str | os.PathLike] | None = None) -> Path:
    """Find the General MIDI SoundFont to render with.

    Order: the user setting (key ``"soundfont"`` in ``settings_path()``), else an MIT-licensed GM
    SoundFont installed on the system (``SYSTEM_SOUNDFONT_NAMES`` in ``search_dirs``, default
    ``SYSTEM_SOUNDFONT_DIRS``), else pretty_midi's bundled TimGM6mb.sf2.

    Raises:
        AudioError: the setting names a missing file or the settings file is unreadable, or no
            SoundFont exists at all; the message says what to do.
    """
    cfg = settings_path()
    if cfg.is_file():
        try:
            data = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise AudioError(f"the settings file {cfg} is not valid JSON ({e}); fix it or delete it") from e
        value = data.get(SETTINGS_KEY) if isinstance(data, dict) else None
        if value:
            path = Path(str(value)).expanduser()
            if not path.is_file():
                raise AudioError(
                    f"the SoundFont set in {cfg} ({path}) does not exist; point \"{SETTINGS_KEY}\" at a .sf2/.sf3 "
                    "file or remove the setting to use the default one"
                )
            return path
    for d in search_dirs if search_dirs is not None else SYSTEM_SOUNDFONT_DIRS:
        for name in SYSTEM_SOUNDFONT_NAMES:
            path = Path(d).expanduser() / name
            if path.is_file():
                return path
    bundled = _bundled_soundfont()
    if bundled is not None:
        return bundled
    raise AudioError(
        "no General MIDI SoundFont found: install one (e.g. the fluid-soundfont-gm package, which provides "
        f"FluidR3_GM.sf2) or set \"{SETTINGS_KEY}\" in {cfg} to the path of a .sf2 file"
    )


def _tsf():
    """The TinySoundFont binding, or AudioError saying how to install it."""
    try:
        from tinysoundfont import _tinysoundfont as tsf
    except ImportError as e:
        raise AudioError("the SoundFont synthesiser (the Python package tinysoundfont) is not installed: run "
                         "`pip install --no-deps tinysoundfont` (see packaging/README.md), or check with "
                         "`melodex doctor`") from e
    return tsf


def load_soundfont(path: str | os.PathLike):
    """Load a SoundFont file into a TinySoundFont object (raises AudioError when it cannot be read). The object
    is shared and never changed (renders play on copies of it), so a file loaded before and unchanged since is
    not read again: loading holds Python's GIL (15 ms for the 6 MB TimGM6mb; FluidR3_GM is 141 MB), and every
    diffusion render asked for one (its level references)."""
    _tsf()
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"SoundFont {p} does not exist; choose another SoundFont file")
    st = p.stat()
    return _load_soundfont(str(p.resolve()), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=2)
def _load_soundfont(path: str, mtime_ns: int, size: int):
    tsf = _tsf()
    p = Path(path)
    try:
        sf = tsf.SoundFont(str(p))
    except (RuntimeError, OSError, ValueError) as e:
        raise AudioError(f"SoundFont {p} cannot be read (not a valid .sf2/.sf3 file?); choose another one") from e
    if sf.get_preset_count() < 1:
        raise AudioError(f"SoundFont {p} holds no instruments; choose a General MIDI SoundFont")
    return sf


@dataclass
class RenderResult:
    """Rendered audio. ``stems``: track id -> (frames, 2) float32, all the same length, sample 0 = start
    of the rendered range; ``mix``: (frames, 2) float32; ``sample_rate`` in Hz."""

    stems: dict[str, np.ndarray]
    mix: np.ndarray
    sample_rate: int

    @property
    def frames(self) -> int:
        return int(self.mix.shape[0])

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate


# One scheduled event: (sample, order, rank, a, b). order 0 = note-off (a = pitch), 1 = controller (a = kind,
# b = value), 2 = note-on (a = pitch, b = velocity 0..1): at one sample a repeated pitch is released, then the
# controllers change, then notes are struck. rank keeps the pitch order of notes and the lane order of controllers.
_Event = tuple[int, int, int, int, float]
_OFF, _CONTROL, _ON = 0, 1, 2
_RPN = {101, 100, 6, 38}  # RPN select (MSB, LSB) and data entry (MSB, LSB): the pitch bend range
_RENDERED = {VOLUME, EXPRESSION, PITCH_BEND, PROGRAM} | _RPN


class SoundFontRenderer:
    """Renders songs with a General MIDI SoundFont through TinySoundFont.

    Args:
        soundfont_path: a .sf2/.sf3 file; None -> ``find_soundfont()``.
        sample_rate: output rate in Hz; None -> each song's own ``sample_rate``.
        gain_db: global gain of the synth in dB (0 = the SoundFont's own level).
        tail_seconds: longest release tail kept after a track's last note-off, in seconds.
    """

    def __init__(
        self, soundfont_path: str | os.PathLike | None = None, sample_rate: int | None = None,
        gain_db: float = 0.0, tail_seconds: float = DEFAULT_TAIL_SECONDS,
    ):
        if sample_rate is not None and not (8000 <= int(sample_rate) <= 192000):
            raise AudioError(f"sample rate {sample_rate} Hz is not supported (use 8000 to 192000 Hz)")
        self.soundfont_path = Path(soundfont_path) if soundfont_path else find_soundfont()
        self.sample_rate = int(sample_rate) if sample_rate is not None else None
        self.gain_db = float(gain_db)
        self.tail_seconds = float(tail_seconds)
        self._base = load_soundfont(self.soundfont_path)

    # --- public -----------------------------------------------------------------------------------
    def render(
        self, song: Song, track_ids: Sequence[str] | None = None, section: Section | str | int | None = None,
        progress: Progress | None = None, cancel: Cancel | None = None,
    ) -> RenderResult:
        """Render ``song`` to dry stereo stems and their plain sum.

        Args:
            song: the document.
            track_ids: ids (or names) of the tracks to render; None -> every track (mute/solo ignored).
            section: a Section, its id, label or index: render only notes starting inside it, released
                at its end; sample 0 is the section's first sample. None -> the whole song.
            progress: called with a fraction 0..1 between blocks.
            cancel: called between blocks; returning True raises ``CancelledError``.
        """
        rate = self.sample_rate or int(song.sample_rate)
        if not (8000 <= rate <= 192000):
            raise AudioError(f"the song's sample rate {rate} Hz is not supported (use 8000 to 192000 Hz)")
        tracks = self._select_tracks(song, track_ids)
        start_tick, end_tick, clip_tick = 0, song.end_tick, None
        if section is not None:
            sec = section if isinstance(section, Section) else self._find_section(song, section)
            start_tick, end_tick = song.section_ticks(sec)
            clip_tick = end_tick
        origin = song.tempo_map.tick_to_sample(start_tick, rate)
        length = song.tempo_map.tick_to_sample(end_tick, rate) - origin
        schedules = [self._schedule(song, t, start_tick, end_tick, clip_tick, origin, rate) for t in tracks]
        tail_cap = int(round(self.tail_seconds * rate))
        plans = [max(length, (ev[-1][0] if ev else 0) + tail_cap) for ev in schedules]
        total = float(sum(plans)) or 1.0
        done = 0
        stems: dict[str, np.ndarray] = {}
        ends: list[int] = []
        for track, events, plan in zip(tracks, schedules, plans):
            report = None
            if progress is not None:
                report = (lambda base: (lambda pos: progress(min(1.0, (base + pos) / total))))(done)
            audio, end = self._render_track(track, events, length, tail_cap, rate, report, cancel)
            stems[track.id] = audio
            ends.append(end)
            done += plan
        frames = max([length] + ends)
        for tid, audio in stems.items():
            stems[tid] = _fit(audio, frames)
        mix = np.zeros((frames, 2), np.float32)
        for audio in stems.values():
            mix += audio
        if progress is not None:
            progress(1.0)
        return RenderResult(stems=stems, mix=mix, sample_rate=rate)

    # --- internals --------------------------------------------------------------------------------
    @staticmethod
    def _select_tracks(song: Song, track_ids: Sequence[str] | None) -> list[Track]:
        if track_ids is None:
            return list(song.tracks)
        out: list[Track] = []
        for ref in track_ids:
            try:
                t = song.track(ref)
            except KeyError:
                raise AudioError(f"no track {ref!r} to render; tracks are {[t.name for t in song.tracks]}") from None
            if t not in out:
                out.append(t)
        return out

    @staticmethod
    def _find_section(song: Song, ref: str | int) -> Section:
        try:
            return song.section(ref)
        except KeyError as e:
            raise AudioError(str(e.args[0]) if e.args else f"no section {ref!r}") from None

    @staticmethod
    def _schedule(
        song: Song, track: Track, start_tick: int, end_tick: int, clip_tick: int | None, origin: int, rate: int,
    ) -> list[_Event]:
        """Note-on/off and controller events of ``track`` as sample positions relative to ``origin``, sorted;
        note-offs are held while the sustain pedal is down. Controllers after the last note-off are left out."""
        cache: dict[int, int] = {}

        def sample(tick: int) -> int:
            s = cache.get(tick)
            if s is None:
                s = cache[tick] = song.tempo_map.tick_to_sample(tick, rate) - origin
            return s

        notes = [n for n in track.notes if clip_tick is None or start_tick <= n.start_tick < end_tick]
        if not notes:
            return []
        pedal = _pedal_ups(track, clip_tick if clip_tick is not None else max(end_tick, max(n.end_tick for n in notes)))
        next_start: dict[tuple[int, int], int] = {}  # (pitch, start) -> start of the next note of that pitch
        by_pitch: dict[int, list[int]] = {}
        for n in sorted(notes):
            by_pitch.setdefault(n.pitch, []).append(n.start_tick)
        for pitch, starts in by_pitch.items():
            for a, b in zip(starts, starts[1:]):
                next_start.setdefault((pitch, a), b)
        events: list[_Event] = []
        last_off = 0
        for n in notes:
            on = sample(n.start_tick)
            off_tick = n.end_tick if clip_tick is None else min(n.end_tick, clip_tick)
            held = pedal(off_tick)
            if held is not None:  # released under the pedal: sounds until it lifts or the pitch is struck again
                off_tick = max(off_tick, min(held, next_start.get((n.pitch, n.start_tick), held)))
            off = max(sample(off_tick), on + 1)  # a note always sounds for at least one sample
            last_off = max(last_off, off_tick)
            events.append((on, _ON, n.pitch, n.pitch, n.velocity / 127.0))
            events.append((off, _OFF, n.pitch, n.pitch, 0.0))
        chased: dict[int, tuple[int, int, int]] = {}  # the lane values in force at start_tick
        for i, c in enumerate(track.controls):
            if c.kind not in _RENDERED:
                continue
            if c.start_tick < start_tick:  # the last value of each kind; every RPN event, in order
                chased[c.kind if c.kind not in _RPN else -1 - i] = (i, c.kind, c.value)
            elif c.start_tick <= last_off and (clip_tick is None or c.start_tick < clip_tick):
                events.append((sample(c.start_tick), _CONTROL, i, c.kind, float(c.value)))
        for i, kind, value in chased.values():
            events.append((0, _CONTROL, i, kind, float(value)))
        events.sort()
        return events

    def _synth(self, track: Track, rate: int):
        tsf = _tsf()

        sf = tsf.SoundFont(self._base)  # shares the sample data of the loaded font
        sf.set_output(tsf.OutputMode.StereoInterleaved, rate, self.gain_db)
        sf.set_max_voices(MAX_VOICES)
        sf.channel_set_preset_index(0, self._preset_index(track))
        return sf

    def _preset_index(self, track: Track, program: int | None = None) -> int:
        """Preset for GM ``program`` (default: the track's): bank 128 for drums (kit ``program``, else the standard
        kit), bank 0 for the rest; the font's first preset when it lacks the program."""
        base = self._base
        program = track.program if program is None else program
        tries = [(128, program), (128, 0), (0, program)] if track.is_drum else [(0, program)]
        for bank, program in tries:
            idx = base.get_preset_index(bank, program)
            if idx >= 0:
                return idx
        return 0

    def _control(self, sf, track: Track, volume: list[int], mixer_cc7: int, kind: int, value: int) -> None:
        """Apply one lane event to the synth (``volume`` = [CC7, CC11] in force, updated here)."""
        if kind == PITCH_BEND:
            sf.channel_set_pitch_wheel(0, value + 8192)
        elif kind == PROGRAM:
            sf.channel_set_preset_index(0, self._preset_index(track, value))
        elif kind in (VOLUME, EXPRESSION):
            volume[kind == EXPRESSION] = value
            relative = volume[0] / mixer_cc7 if mixer_cc7 > 0 else 1.0
            sf.channel_set_volume(0, (relative * volume[1] / 127) ** 2)
        else:  # RPN selection and data entry: TinySoundFont sets the pitch bend range from RPN 0
            sf.channel_midi_control(0, kind, value)

    def _render_track(
        self, track: Track, events: list[_Event], length: int, tail_cap: int, rate: int,
        report: Callable[[int], None] | None, cancel: Cancel | None,
    ) -> tuple[np.ndarray, int]:
        """Render one track; returns ((frames, 2) float32, end sample of its sound)."""
        if not events:
            return np.zeros((length, 2), np.float32), 0
        last = events[-1][0]
        buf = np.zeros((max(length, last + tail_cap + TAIL_BLOCK), 2), np.float32)
        sf = self._synth(track, rate)
        step = max(1, len(buf) // 100)  # report progress about every 1 %
        next_report = 0
        pos = 0
        i = 0
        n_events = len(events)
        mixer_cc7 = gain_db_to_cc7(track.gain_db)  # the volume the mixer applies as the track's gain
        volume = [mixer_cc7, 127]  # CC7, CC11
        while i < n_events:
            at = events[i][0]
            if at > pos:
                sf.render(buf[pos:at])
                pos = at
                if cancel is not None and cancel():
                    raise CancelledError("rendering cancelled; nothing was changed")
                if report is not None and pos >= next_report:
                    report(pos)
                    next_report = pos + step
            while i < n_events and events[i][0] == at:
                _, order, _, a, b = events[i]
                if order == _ON:
                    sf.channel_note_on(0, a, b)
                elif order == _OFF:
                    sf.channel_note_off(0, a)
                else:
                    self._control(sf, track, volume, mixer_cc7, a, int(b))
                i += 1
        # Sustain to the end of the range, then keep the release tail until it is silent.
        if pos < length:
            sf.render(buf[pos:length])
            pos = length
        end = pos
        cap = last + tail_cap
        while end < cap:
            n = min(TAIL_BLOCK, cap - end)
            chunk = buf[end:end + n]
            sf.render(chunk)
            if float(np.abs(chunk).max()) < SILENCE_THRESHOLD:
                chunk[:] = 0.0
                break
            end += n
        else:  # still sounding at the cap: fade the last FADE_SECONDS out instead of cutting a click
            fade = min(end - last, int(FADE_SECONDS * rate))
            if fade > 0:
                buf[end - fade:end] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
        if report is not None:
            report(end)
        return buf[:max(end, length)], end


def _pedal_ups(track: Track, end_tick: int) -> Callable[[int], int | None]:
    """A function of a tick: None when the sustain pedal (CC64) is up there, else the tick where it next lifts
    (``end_tick`` when it never does). The pedal's events at a tick apply before the notes released there."""
    changes: list[tuple[int, bool]] = []  # (tick, down) at each change of state
    for c in track.controls:
        if c.kind == SUSTAIN:
            down = c.value >= 64
            if changes and changes[-1][0] == c.start_tick:
                changes.pop()
            if (changes[-1][1] if changes else False) != down:
                changes.append((c.start_tick, down))
    if not changes:
        return lambda tick: None
    ticks = [t for t, _ in changes]

    def held(tick: int) -> int | None:
        i = bisect.bisect_right(ticks, tick) - 1
        if i < 0 or not changes[i][1]:
            return None
        return ticks[i + 1] if i + 1 < len(ticks) else max(end_tick, tick)

    return held


def _fit(audio: np.ndarray, frames: int) -> np.ndarray:
    """Zero-pad or cut (frames, 2) audio to ``frames``; returns a C-contiguous float32 array."""
    if audio.shape[0] == frames:
        return np.ascontiguousarray(audio, dtype=np.float32)
    out = np.zeros((frames, 2), np.float32)
    n = min(frames, audio.shape[0])
    out[:n] = audio[:n]
    return out
