"""Engine operations for rendering and exporting a song: used by the CLI and the GUI's workers.

``render_song`` renders dry stems with the chosen renderer and runs them through the mixer, so its
result holds the *processed* stems (gain, pan, mute/solo, anti-clip trim applied) and their sum, the
mix. ``export_all`` writes any of: a MIDI file, the mix as WAV/FLAC, and the processed stems, which sum
to the exported mix (before dither), so a DAW that loads the stems hears the same song.

Renderers are looked up by name (``RENDERERS``); the SoundFont one is cached per SoundFont file, the
way the engine keeps its loaded models.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import AudioError
from ..io.staging import StagedOutputs, write_error
from ..mix.mixer import mix_stems
from ..render.soundfont import RenderResult, SoundFontRenderer
from .diffusion_render import DiffusionOptions, render_diffusion
from ..song import Section, Song

RENDERERS = ("soundfont", "diffusion")
EXPORT_FORMATS = ("wav", "flac")
STREAMING_LUFS = -14.0  # integrated loudness target of ``lufs=True``, LUFS
STREAMING_TRUE_PEAK_DBTP = -1.0

Progress = Callable[[float], None]
Cancel = Callable[[], bool]


@lru_cache(maxsize=2)
def _soundfont_renderer(path: str | None) -> SoundFontRenderer:
    return SoundFontRenderer(path)


def soundfont_renderer(soundfont: str | os.PathLike | None = None) -> SoundFontRenderer:
    """The (cached) SoundFont renderer for ``soundfont`` (None -> ``render.soundfont.find_soundfont()``)."""
    return _soundfont_renderer(str(Path(soundfont).resolve()) if soundfont else None)


def render_song(
    song: Song, renderer: str = "soundfont", progress: Progress | None = None, cancel: Cancel | None = None,
    track_ids: Sequence[str] | None = None, section: Section | str | int | None = None,
    soundfont: str | os.PathLike | None = None, diffusion: DiffusionOptions | None = None,
) -> RenderResult:
    """Render ``song`` and mix it.

    Args:
        renderer: 'soundfont' (sample-based preview) or 'diffusion' (the neural renderer).
        progress: called with a fraction 0..1; cancel: returning True raises ``CancelledError``.
        track_ids: tracks (ids or names) to render; None -> all (mute/solo still apply in the mix).
        section: render one section only (Section, id, label or index); sample 0 = its start.
        soundfont: a .sf2/.sf3 file for the SoundFont renderer (None -> the configured one).
        diffusion: steps, strength, seed, device and checkpoints of the diffusion renderer.

    Returns:
        RenderResult at ``song.sample_rate`` whose ``stems`` are the processed stems of the audible
        tracks and whose ``mix`` is their sum, all (frames, 2) float32 of the same length.
    """
    if renderer == "soundfont":
        dry = soundfont_renderer(soundfont).render(song, track_ids, section, progress, cancel)
    elif renderer == "diffusion":
        dry = render_diffusion(song, track_ids, section, progress, cancel, soundfont, diffusion)
    else:
        raise AudioError(f"unknown renderer {renderer!r}; choose one of {', '.join(RENDERERS)}")
    return mix_result(song, dry)


def mix_result(song: Song, dry: RenderResult) -> RenderResult:
    """Dry stems (of any renderer, or rebuilt from diffusion takes) -> the mixer's processed stems and their
    sum, the mix. The dry stems are not kept."""
    stems, mix = mix_stems(song, dry.stems, inplace=True)
    return RenderResult(stems=stems, mix=mix, sample_rate=dry.sample_rate)


def stem_names(song: Song, track_ids: Sequence[str]) -> dict[str, str]:
    """Track id -> a file-safe, unique stem name from the track name ('Lead', 'Lead 2', ...)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for tid in track_ids:
        base = re.sub(r"[^\w\- ]+", "", song.track(tid).name, flags=re.UNICODE).strip() or "Track"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base} {n}"
        used.add(name.lower())
        names[tid] = name
    return names


@dataclass
class ExportReport:
    """What ``export_all`` wrote, with the numbers a user may want to see."""

    midi: Path | None = None
    wav: Path | None = None
    stems: list[Path] = field(default_factory=list)
    sample_rate: int | None = None  # rate of the written audio, Hz
    bits: int | None = None
    duration_seconds: float | None = None  # of the written audio (tails included)
    peak_dbfs: float | None = None  # of the mix, before dither
    loudness_gain_db: float | None = None  # median gain of the streaming preset (``lufs=True``), dB
    stems_residual_db: float | None = None  # how far the written stems' sum is from the mix (before dither), dB
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds


def check_export_settings(rate: int | None, bits: int, fmt: str) -> None:
    """Raise AudioError for an unsupported sample rate (Hz), bit depth or file format (before rendering)."""
    from ..io.audio import BIT_DEPTHS, SUPPORTED_RATES

    if rate is not None and int(rate) not in SUPPORTED_RATES:
        raise AudioError(f"sample rate {rate} Hz is not supported for export; choose {', '.join(map(str, SUPPORTED_RATES))}")
    if int(bits) not in BIT_DEPTHS:
        raise AudioError(f"{bits}-bit audio is not supported; choose 16, 24 or 32 (float)")
    if fmt not in EXPORT_FORMATS:
        raise AudioError(f"audio format {fmt!r} is not supported; choose {' or '.join(EXPORT_FORMATS)}")
    if fmt == "flac" and int(bits) == 32:
        raise AudioError("FLAC cannot hold 32-bit float audio; export FLAC at 16 or 24 bits, or use WAV")


def frame_gain(before: np.ndarray, after: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Per-frame gain ``g`` (frames,) float32 such that ``after ~= before * g[:, None]``.

    The least-squares ratio over both channels of each frame where ``before`` is above ``floor``
    (-80 dBFS); frames below it take the gain interpolated from their neighbours. Exact for any
    processing that multiplies all channels by one smooth gain curve (gain + look-ahead limiter).
    """
    b = before.astype(np.float64)
    a = after.astype(np.float64)
    energy = np.einsum("ij,ij->i", b, b)
    good = energy > floor * floor
    if not good.any():
        return np.ones(len(b), np.float32)
    idx = np.nonzero(good)[0]
    g = np.einsum("ij,ij->i", a[idx], b[idx]) / energy[idx]
    if len(idx) == len(b):
        return g.astype(np.float32)
    return np.interp(np.arange(len(b)), idx, g).astype(np.float32)


def _apply_streaming_loudness(mix: np.ndarray, stems: dict[str, np.ndarray], sample_rate: int) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """Bring the mix to the streaming preset and give the stems the same gain curve.

    ``normalize_streaming`` is a gain plus, where peaks need it, a look-ahead limiter: one smooth gain
    curve applied to every channel. That curve is recovered frame by frame (``frame_gain``) and applied
    to every stem, so the stems still sum to the normalised mix. Returns (mix, stems, overall gain dB).
    """
    from ..mix.loudness import normalize_streaming

    out = np.asarray(normalize_streaming(mix, sample_rate, target_lufs=STREAMING_LUFS,
                                         max_true_peak_dbtp=STREAMING_TRUE_PEAK_DBTP), np.float32)
    curve = frame_gain(mix, out)[:, None]
    stems = {k: v * curve for k, v in stems.items()}
    loud = np.abs(mix).max(axis=1) > 1e-4
    median = float(np.median(curve[loud, 0])) if loud.any() else 1.0
    return out, stems, (20.0 * np.log10(median) if median > 0 else float("-inf"))


def export_all(
    song: Song, midi: str | os.PathLike | None = None, wav: str | os.PathLike | None = None,
    stems_dir: str | os.PathLike | None = None, rate: int | None = None, bits: int = 24, lufs: bool = False,
    fmt: str = "wav", dither: bool = True, midi_type: int = 1, renderer: str = "soundfont",
    project_name: str | None = None, progress: Progress | None = None, cancel: Cancel | None = None,
    rendered: RenderResult | None = None, section: Section | str | int | None = None,
    track_ids: Sequence[str] | None = None, soundfont: str | os.PathLike | None = None,
    diffusion: DiffusionOptions | None = None,
) -> ExportReport:
    """Export ``song`` to any of MIDI, a mix file and stem files.

    Args:
        midi: Standard MIDI File path (type ``midi_type``, 1 or 0).
        wav: path of the mix (WAV; FLAC when ``fmt='flac'`` or the name ends in .flac).
        stems_dir: folder for one file per audible track (``io.audio.export_stems`` names them
            ``<project>_<NN>_<track>.<fmt>``).
        rate: output sample rate in Hz (``io.audio.SUPPORTED_RATES``); None -> the song's rate.
        bits: 16, 24 or 32 (float); dither: TPDF dither when reducing to 16/24-bit integers.
        lufs: apply the streaming preset (-14 LUFS integrated, -1 dBTP) to the mix and the same gain
            to the stems.
        rendered: a result of ``render_song`` to write instead of rendering again.
        section, track_ids, soundfont, diffusion: passed to ``render_song``; with ``section`` the MIDI file holds
            only that section (``engine.excerpt.section_song``: its notes from bar 1, the tempo, meter and key
            that hold there; with ``track_ids`` only those tracks).
    Raises AudioError / MidiError / ModelError with a readable message; CancelledError on cancel.
    """
    if midi is None and wav is None and stems_dir is None:
        raise AudioError("nothing to export: give a MIDI file, a mix file or a stems folder")
    check_export_settings(rate, bits, fmt)
    if midi_type not in (0, 1):
        raise AudioError(f"MIDI file type {midi_type} is not supported; choose 0 or 1")
    report = ExportReport(bits=bits)
    with StagedOutputs() as out:  # every file under a temporary name until all are written
        if midi is not None:
            if section is not None:  # only that section, shifted to bar 1, with the tempo, meter and key there
                from .excerpt import section_song

                _write_midi(section_song(song, section, track_ids), Path(midi), midi_type, out, report)
            else:
                _write_midi(song, Path(midi), midi_type, out, report)
        if wav is not None or stems_dir is not None:
            t0 = time.perf_counter()
            res = rendered or render_song(song, renderer, progress, cancel, track_ids, section, soundfont, diffusion)
            report.timings["render"] = time.perf_counter() - t0
            _write_audio_files(song, res, wav, stems_dir, rate, bits, lufs, fmt, dither, project_name, out, report)
        if cancel is not None and cancel():
            from ..errors import CancelledError

            raise CancelledError("export cancelled; no file was written")
        out.commit()
    return report


def _write_midi(song: Song, path: Path, midi_type: int, out: StagedOutputs, report: ExportReport) -> None:
    from ..io.midi import export_midi

    t0 = time.perf_counter()
    tmp = out.file(path)
    try:
        export_midi(song, tmp, file_type=midi_type)
    except Exception as e:
        raise write_error(path, e) from e
    report.midi = path
    report.timings["midi"] = time.perf_counter() - t0


def _write_audio_files(song: Song, res: RenderResult, wav, stems_dir, rate, bits, lufs, fmt, dither, project_name,
                       out: StagedOutputs, report: ExportReport) -> None:
    """The mix file and the stems folder of ``export_all``, through ``out``'s temporaries."""
    mix, stems, sr = res.mix, res.stems, res.sample_rate
    if lufs:
        t0 = time.perf_counter()
        mix, stems, report.loudness_gain_db = _apply_streaming_loudness(mix, stems, sr)
        report.timings["loudness"] = time.perf_counter() - t0
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    report.peak_dbfs = 20.0 * np.log10(peak) if peak > 0 else float("-inf")
    report.sample_rate = int(rate or sr)
    report.duration_seconds = mix.shape[0] / sr
    from ..io.audio import export_stems, write_audio

    t0 = time.perf_counter()
    if wav is not None:
        path = Path(wav)
        if fmt == "flac" and path.suffix.lower() != ".flac":
            path = path.with_suffix(".flac")
        tmp = out.file(path)
        try:
            write_audio(tmp, mix, sr, bits=bits, dither=dither, rate=rate)
        except Exception as e:
            raise write_error(path, e) from e
        report.wav = path
    if stems_dir is not None:
        from ..mix.mixer import stems_residual_db

        report.stems_residual_db = stems_residual_db(stems, mix)
        names = stem_names(song, list(stems))
        named = {names[tid]: audio for tid, audio in stems.items()}
        name = project_name or song.title or "Untitled"
        tmp = out.folder(Path(stems_dir))
        try:
            written = export_stems(tmp, name, named, sr, bits=bits, fmt=fmt, dither=dither, rate=rate)
        except Exception as e:
            raise write_error(Path(stems_dir), e) from e
        report.stems = [Path(stems_dir) / p.name for p in written]
    report.timings["write"] = time.perf_counter() - t0
