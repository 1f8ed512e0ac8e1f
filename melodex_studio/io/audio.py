"""Audio file export: WAV/FLAC writing with explicit subtypes, TPDF dither, resampling and stems (soundfile, soxr).

Audio arrays are float ``(frames, channels)`` at full scale 1.0; 1-D arrays are mono. Output formats:

=======  ===========  =====================================================================
bits     subtype      conversion
=======  ===========  =====================================================================
16       PCM_16       clip to [-1, 1 - 1 LSB], TPDF dither of +/-1 LSB (``dither=True``), round
24       PCM_24       clip to [-1, 1 - 1 LSB], round (no dither: its noise floor is -144 dBFS)
32       FLOAT        float32 as is (no clipping: float keeps the headroom); WAV only
=======  ===========  =====================================================================

Digital silence stays digital silence in every format: samples that are exactly 0.0 are written as 0,
also in dithered 16-bit files, so a stem that is silent where its instrument rests nulls perfectly in a
DAW. (Real music almost never holds an exact 0.0 sample, so the dither statistics are unaffected.) The
dither noise comes from a seeded generator: the same audio gives the same file, byte for byte; stems get
different seeds so that their dither noise does not add up coherently when summed.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError

SUPPORTED_RATES = (44100, 48000, 96000)
BIT_DEPTHS = (16, 24, 32)  # 32 = IEEE float
_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}
_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
DITHER_SEED = 0x4D454C4F  # "MELO"


def as_frames(audio: np.ndarray) -> np.ndarray:
    """Any float array of shape (frames,) or (frames, channels) -> float32 (frames, channels)."""
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] < 1:
        raise AudioError(f"audio must have the shape (frames, channels); got an array of shape {a.shape}")
    if not np.issubdtype(a.dtype, np.floating):
        raise AudioError(f"audio must be floating point at full scale 1.0; got {a.dtype} samples")
    if not np.all(np.isfinite(a)):
        raise AudioError("the audio contains invalid samples (NaN or infinity); nothing was written")
    return a.astype(np.float32, copy=False)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample ``audio`` from ``from_rate`` Hz to ``to_rate`` Hz with soxr (very high quality).

    Returns float32 ``(frames, channels)``; the length is ``ceil(frames * to_rate / from_rate)`` as soxr
    gives it. Same rates return a copy.
    """
    a = as_frames(audio)
    if from_rate <= 0 or to_rate <= 0:
        raise AudioError(f"cannot resample from {from_rate} Hz to {to_rate} Hz")
    if from_rate == to_rate:
        return a.copy()
    out = soxr.resample(a, from_rate, to_rate, quality="VHQ")
    return np.asarray(out, dtype=np.float32).reshape(-1, a.shape[1])


def quantize(audio: np.ndarray, bits: int, dither: bool = True, seed: int = DITHER_SEED) -> np.ndarray:
    """Float (frames, ch) -> integer samples for 16 or 24 bits (int16, or int32 holding 24-bit values).

    16-bit gets TPDF dither (sum of two uniform variables, triangular on (-1, 1) LSB) when ``dither``;
    samples that are exactly 0.0 stay 0. Values are clipped to [-1, 1 - 1 LSB] before conversion.
    """
    if bits not in (16, 24):
        raise AudioError(f"integer samples have 16 or 24 bits, not {bits}")
    a = as_frames(audio).astype(np.float64)
    scale = float(2 ** (bits - 1))
    x = np.clip(a, -1.0, 1.0 - 1.0 / scale) * scale
    if dither and bits == 16:
        rng = np.random.default_rng(seed)
        tpdf = rng.random(x.shape) - rng.random(x.shape)  # triangular on (-1, 1) LSB
        x = np.where(a == 0.0, 0.0, x + tpdf)
    q = np.clip(np.rint(x), -scale, scale - 1)
    return q.astype(np.int16) if bits == 16 else q.astype(np.int32)


def _format_for(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise AudioError(f"cannot write {path.name}: the file name must end in .wav or .flac")
    return fmt


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int, bits: int = 24, dither: bool = True,
                rate: int | None = None, *, seed: int = DITHER_SEED) -> None:
    """Write ``audio`` (float (frames, ch) or mono (frames,), at ``sample_rate`` Hz) to a WAV or FLAC file.

    Args:
        path: target; the format comes from the extension (.wav, .flac).
        bits: 16 (PCM_16, dithered unless ``dither=False``), 24 (PCM_24) or 32 (FLOAT, WAV only).
        rate: output sample rate in Hz (one of ``SUPPORTED_RATES``); None -> ``sample_rate``. The audio is
            resampled with soxr when it differs.
        seed: dither noise seed (the same seed gives the same file).
    Raises ``AudioError`` for an unsupported format, bit depth or rate, or when the file cannot be written.
    """
    p = Path(path)
    fmt = _format_for(p)
    if bits not in BIT_DEPTHS:
        raise AudioError(f"{bits}-bit audio is not supported; choose 16, 24 or 32 (float) bits")
    if fmt == "FLAC" and bits == 32:
        raise AudioError("FLAC cannot store 32-bit float audio; choose 16 or 24 bits, or export WAV for 32-bit float")
    out_rate = int(rate or sample_rate)
    if out_rate not in SUPPORTED_RATES:
        raise AudioError(f"{out_rate} Hz is not an export sample rate; choose 44100, 48000 or 96000 Hz")
    a = as_frames(audio)
    if out_rate != sample_rate:
        a = resample(a, sample_rate, out_rate)
    if bits == 32:
        data = a
    elif bits == 24:
        data = quantize(a, 24) << 8  # soundfile maps int32 full scale to PCM_24: keep the top 24 bits
    else:
        data = quantize(a, 16, dither=dither, seed=seed)
    try:
        sf.write(str(p), data, out_rate, subtype=_SUBTYPES[bits], format=fmt)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"could not write the audio file {p}: {e}") from e


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_name(text: str, fallback: str = "untitled", max_len: int = 80) -> str:
    """A file-name part that is valid on Windows, macOS and Linux: no path separators, reserved or control
    characters, no leading/trailing dots or spaces; spaces become underscores."""
    t = _UNSAFE.sub("_", str(text))
    t = re.sub(r"\s+", "_", t.strip())
    t = re.sub(r"_+", "_", t).strip("._ ")
    return t[:max_len].rstrip("._ ") or fallback


def stem_file_names(project_name: str, track_names: list[str], fmt: str) -> list[str]:
    """The file names ``export_stems`` gives stems of these tracks, in order: ``{project}_{NN:02d}_{track}.{fmt}``."""
    project = safe_name(project_name, "project")
    fmt = fmt.lower().lstrip(".")
    return [f"{project}_{i:02d}_{safe_name(name, 'track')}.{fmt}" for i, name in enumerate(track_names, start=1)]


def export_stems(directory: str | Path, project_name: str, stems: dict[str, np.ndarray], sample_rate: int,
                 bits: int = 24, fmt: str = "wav", dither: bool = True, rate: int | None = None) -> list[Path]:
    """Write one file per track into ``directory`` (created if needed), all of the same length and starting at 0.

    Args:
        stems: track name -> float audio (frames, ch) or (frames,), all at ``sample_rate`` Hz and starting
            at the song start; shorter stems are padded with zeros to the longest.
        fmt: "wav" or "flac"; bits/dither/rate as in ``write_audio``.
    Returns the paths in the order of ``stems``, named ``{project}_{NN:02d}_{track}.{fmt}`` with NN from 01.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in ("wav", "flac"):
        raise AudioError(f"stems can be written as WAV or FLAC, not {fmt!r}")
    if not stems:
        raise AudioError("there are no stems to export (the song has no tracks)")
    if fmt == "flac" and bits == 32:
        raise AudioError("FLAC cannot store 32-bit float audio; choose 16 or 24 bits, or export WAV for 32-bit float")
    arrays = {name: as_frames(a) for name, a in stems.items()}
    frames = max(a.shape[0] for a in arrays.values())
    out_dir = Path(directory)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AudioError(f"cannot create the stems folder {out_dir}: {e.strerror or e}") from e
    paths = []
    names = stem_file_names(project_name, list(arrays), fmt)
    for i, (a, file_name) in enumerate(zip(arrays.values(), names), start=1):
        padded = np.zeros((frames, a.shape[1]), dtype=np.float32)
        padded[: a.shape[0]] = a
        p = out_dir / file_name
        write_audio(p, padded, sample_rate, bits=bits, dither=dither, rate=rate, seed=DITHER_SEED + i)
        paths.append(p)
    return paths
