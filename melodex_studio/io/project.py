"""``.melodex`` project files: save atomically, load with full validation.

A project file is a zip archive with these members, always written in this order:

* ``project.json``: the song document and its generation metadata (see ``io.validate`` for the
  layout), UTF-8 JSON with sorted keys and compact separators, deflated.
* ``state.safetensors``: every tensor of the project (structure-model token sequences, diffusion
  noise, latent checkpoints), written by ``safetensors.numpy.save``; always present, possibly empty.
  Stored uncompressed (latents and noise do not compress; storing keeps saves fast).
* ``audio/<name>.flac``: rendered stems, a cache that can be rebuilt from the score. FLAC, 16-bit
  PCM for a stem on the 16-bit grid (the engine caches its decoded stems so: ``engine.proposals.cache_stem``),
  else 24-bit, at the song's sample rate, libFLAC level 4 for 16-bit, 1 for 24-bit (fast; their adaptive
  mid-side stereo stores a centred stem, L = R, in about the bytes of one channel), stored uncompressed in the zip. Names match
  ``AUDIO_NAME`` (track ids fit). Tensors of recorded sampler steps are float16 (``render.diffusion``).

Every member has a fixed timestamp (1980-01-01) and fixed attributes, so the same project always
gives the same bytes: save -> load -> save is byte-identical.

Saving writes a temporary file in the target folder, flushes and fsyncs it, keeps the previous file
as ``<name>.melodex.bak`` and renames the new file over the old one (``os.replace``); a failure at any
point leaves the previous file untouched. Stems that come from a loaded project (an ``AudioCache``
or its ``CachedStem`` entries) are written by copying their FLAC bytes, not re-encoded.

Loading never writes to the file. It reads and checks the table of contents, the document, the
tensors and the header of every stem (format, channels, sample rate, length), but does not decode
the stems: ``Project.audio`` is an ``AudioCache`` whose stems decode on first access, re-reading
their member from the file (which must not have changed since the load). Every problem (not a zip,
truncated, missing or unexpected members, unsafe names, oversized or over-compressed members, bad
JSON, out-of-range values, sizes beyond ``song.limits``, NaN/Inf or badly shaped tensors, render takes
whose state or tensors do not fit, bad stem headers, newer schema, a path that is not a regular file such
as a pipe or a device) raises ``ProjectError`` with a message a musician can read; damage inside a
stem's audio data (bad CRC, undecodable FLAC frames, wrong length) raises ``ProjectError`` when that stem
is first used. Lone UTF-16 surrogates in the document's text become U+FFFD. A stem longer than the song
plus ``MAX_STEM_TAIL_SECONDS`` (a stale cache) is left out and named in ``Project.notes``, so that no stem
costs more to decode than the song's own length.

Saving through a symbolic link writes the link's target (the link stays a link); a path that exists and
is not a regular file is refused.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import threading
import weakref
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import soundfile as sf
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

from ..errors import ProjectError
from ..song.limits import MAX_SONG_SECONDS, MAX_STEM_TAIL_SECONDS
from ..song.model import Song
from .validate import (SCHEMA_VERSION, clean_surrogates, is_render_take, render_take_tensor_problem, song_from_dict,
                       song_to_dict)

__all__ = [
    "Project", "AudioCache", "CachedStem", "SCHEMA_VERSION", "save_project", "read_project", "load_project", "song_to_dict",
    "song_from_dict", "open_regular",
]

PROJECT_JSON = "project.json"
STATE = "state.safetensors"
AUDIO_DIR = "audio/"
AUDIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")  # stem names (the <name> of audio/<name>.flac)

# Limits on what a file may declare (a hostile or damaged file is refused before it is read).
MAX_JSON_BYTES = 64 * 2**20
MAX_STATE_BYTES = 4 * 2**30
MAX_AUDIO_BYTES = 2 * 2**30
MAX_MEMBERS = 4096
MAX_RATIO = 200  # uncompressed / compressed size, checked for members over RATIO_MIN_BYTES
RATIO_MIN_BYTES = 2**20
MAX_AUDIO_SECONDS = MAX_SONG_SECONDS  # longest stem accepted, in seconds at the song's sample rate
DECODE_BLOCK_FRAMES = 2**16  # frames decoded at a time (a stem's memory is its float32 array plus one block)
FLAC_HEAD_BYTES = 8 * 2**10  # bytes of a stem read at load to check its header (ours: 86 bytes of metadata)

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_JSON_LEVEL = 6  # zlib level for project.json
_FLAC_LEVEL = 0.125  # soundfile compression_level 0..1 = libFLAC level 1: fast, with adaptive mid-side stereo
_FLAC_LEVEL_16 = 0.5  # for 16-bit stems: 22 % smaller than level 1 at the same speed (bench_session's stems)
# (our stems are centred, L = R: the side channel costs next to nothing; level 0 stores both channels in full)
_PCM24 = 2**23  # full scale of 24-bit PCM
_PCM16 = 2**15  # full scale of 16-bit PCM
_ST_META = {"melodex_schema": str(SCHEMA_VERSION)}  # one key only: safetensors orders several keys randomly
_TENSOR_KINDS = "biuf"  # bool, signed, unsigned, float (safetensors.numpy dtypes)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a JSON escape that may decode to a lone surrogate


@dataclass
class Project:
    """A loaded project. ``tensors``: name -> array (the safetensors content); ``audio``: stem name ->
    float32 array of shape (frames, channels) at ``song.sample_rate`` Hz, channels 1 or 2. After
    ``read_project`` it is an ``AudioCache`` (stems decode on first access); pass it back to
    ``save_project`` as is, so that unchanged stems are copied instead of re-encoded. ``notes``: what the
    load left out, in sentences for the user (stale stems longer than the song)."""

    song: Song
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    audio: Mapping[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Source:
    """Where a stem's FLAC bytes are: a member of a project file as it was when it was opened."""

    path: Path  # absolute
    stat: tuple[int, int, int, int]  # (device, inode, size, mtime in ns) of the file when opened
    member: str
    fingerprint: tuple[int, int, int, int]  # (header offset, CRC-32, compressed size, size) of the member


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _fingerprint(zi: zipfile.ZipInfo) -> tuple[int, int, int, int]:
    return (zi.header_offset, zi.CRC, zi.compress_size, zi.file_size)


class CachedStem:
    """One stem of a loaded project, still encoded: its header was checked at load; ``array()``
    decodes it on first use (then keeps the array). ``flac_bytes()`` gives the stored FLAC bytes,
    read again from the project file, which must not have changed since it was opened."""

    __slots__ = ("name", "sample_rate", "frames", "channels", "_source", "_array", "_lock")

    def __init__(self, name: str, source: _Source, sample_rate: int, frames: int, channels: int):
        self.name, self.sample_rate, self.frames, self.channels = name, sample_rate, frames, channels
        self._source = source
        self._array: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def decoded(self) -> bool:
        """Whether ``array()`` has decoded the stem already."""
        return self._array is not None

    def _fail(self, problem: str) -> ProjectError:
        return ProjectError(f"Cannot read the audio stem {self.name!r} of {self._source.path.name!r}: {problem}")

    def flac_bytes(self) -> bytes:
        """The stem's FLAC bytes as stored (CRC-checked). Raises ``ProjectError`` when the project file
        has changed or gone since it was opened, or when the member is damaged."""
        src = self._source
        try:
            f = open(src.path, "rb")
        except OSError as e:
            raise self._fail(f"the project file cannot be opened any more ({e.strerror or e})") from e
        with f:
            try:
                if _stat_key(os.fstat(f.fileno())) != src.stat:
                    raise self._fail("the project file has changed on disk since it was opened; open it again")
                with zipfile.ZipFile(f) as zf:
                    try:
                        zi = zf.getinfo(src.member)
                    except KeyError:
                        zi = None
                    if zi is None or _fingerprint(zi) != src.fingerprint:
                        raise self._fail("the project file has changed on disk since it was opened; open it again")
                    return _read_member(zf, zi)
            except ProjectError as e:
                if str(e).startswith("Cannot read"):
                    raise
                raise self._fail(str(e)) from e
            except (zipfile.BadZipFile, EOFError, OSError, zlib.error, struct.error, NotImplementedError,
                    RuntimeError, ValueError) as e:  # a bad CRC-32 is a BadZipFile
                raise self._fail(f"{src.member!r} is damaged ({e}); the stems are a cache: render them again") from e

    def array(self) -> np.ndarray:
        """float32 (frames, channels), read-only; decoded on the first call. Raises ``ProjectError``
        (naming the stem and the file) when the stem's audio data is damaged."""
        a = self._array
        if a is not None:
            return a
        with self._lock:
            if self._array is None:
                data = self.flac_bytes()
                try:
                    a = _decode_flac(self.name, data, self.sample_rate, (self.frames, self.channels))
                except ProjectError as e:
                    raise self._fail(f"{e}; the stems are a cache: render them again") from e
                a.flags.writeable = False  # changing a stem means replacing it (see AudioCache)
                self._array = a
            return self._array

    def _rebind(self, source: _Source) -> None:
        self._source = source

    def __repr__(self) -> str:
        return (f"CachedStem({self.name!r}, {self.channels} ch, {self.frames / self.sample_rate:.1f} s at "
                f"{self.sample_rate} Hz{', decoded' if self.decoded else ''})")


class AudioCache(Mapping):
    """The stems of a loaded project: stem name -> float32 (frames, channels) array, decoded on first
    access (``proj.audio["lead"]``); names, ``len`` and ``in`` decode nothing. The arrays are
    read-only. To change stems, save a dict that keeps the others as they are::

        save_project(path, proj.song, proj.tensors, {**proj.audio.stems(), "lead": new_lead})

    Passed to ``save_project`` (itself or its ``stems()``), unchanged stems are copied, not re-encoded.
    """

    def __init__(self, stems: Mapping[str, CachedStem] | None = None):
        self._stems = dict(sorted((stems or {}).items()))

    def __getitem__(self, name: str) -> np.ndarray:
        return self._stems[name].array()

    def __iter__(self) -> Iterator[str]:
        return iter(self._stems)

    def __len__(self) -> int:
        return len(self._stems)

    def __contains__(self, name: object) -> bool:
        return name in self._stems

    def stems(self) -> dict[str, CachedStem]:
        """name -> ``CachedStem`` (still encoded; a new dict each call)."""
        return dict(self._stems)

    def decode_all(self) -> AudioCache:
        """Decode every stem now (a few threads); returns ``self``. Raises ``ProjectError`` for a damaged stem."""
        todo = [s for s in self._stems.values() if not s.decoded]
        if todo:
            with _pool(len(todo)) as pool:
                for job in [pool.submit(s.array) for s in todo]:
                    job.result()
        return self

    def __repr__(self) -> str:
        return f"AudioCache({list(self._stems.values())!r})"


StemValue = Union[np.ndarray, CachedStem]


# --- saving ---------------------------------------------------------------------------------------
def _dump_json(doc: dict) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _check_tensors(tensors: dict[str, np.ndarray], where: str) -> None:
    """Tensor names must be non-empty text; arrays numeric or bool, and finite when floating point."""
    for name, a in tensors.items():
        if not isinstance(name, str) or not name or len(name) > 1024:
            raise ProjectError(f"{where}: tensor name {name!r} is not valid")
        if not isinstance(a, np.ndarray) or a.dtype.kind not in _TENSOR_KINDS or a.dtype.byteorder == ">":
            kind = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
            raise ProjectError(f"{where}: tensor {name!r} has unsupported type {kind}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ProjectError(f"{where}: tensor {name!r} contains NaN or infinite values")


def _encode_state(tensors: dict[str, np.ndarray]) -> bytes:
    _check_tensors(tensors, "Cannot save")
    try:
        return _st_save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata=_ST_META)
    except Exception as e:  # safetensors rejects what it cannot store
        raise ProjectError(f"Cannot save the project tensors: {e}") from e


def _check_audio(name: object, a: object, sample_rate: int) -> None:
    if not isinstance(name, str) or not AUDIO_NAME.fullmatch(name):
        raise ProjectError(f"Cannot save: stem name {name!r} is not valid (letters, digits, '_', '-', '.')")
    if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != 2 or a.shape[1] not in (1, 2) or a.shape[0] < 1:
        desc = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
        raise ProjectError(f"Cannot save: stem {name!r} must be float32 audio of shape (frames, 1 or 2 channels), not {desc}")
    if a.shape[0] > MAX_AUDIO_SECONDS * sample_rate:
        raise ProjectError(f"Cannot save: stem {name!r} is longer than {MAX_AUDIO_SECONDS / 60:g} minutes")


def _encode_flac(name: str, a: np.ndarray, sample_rate: int) -> bytes:
    """FLAC bytes of float32 audio ``a`` (frames, channels): 16-bit PCM when every sample is on the 16-bit grid
    (the engine's stem cache, ``engine.proposals.cache_stem``), else 24-bit; either way what a load gives back
    is ``a`` itself, bit for bit, for samples in [-1, 1) (others clip)."""
    if not np.isfinite(a.sum()) and not np.isfinite(a).all():  # cheap sum first; exact check only if needed
        raise ProjectError(f"Cannot save: stem {name!r} contains NaN or infinite samples")
    q = a * np.float32(_PCM16)  # (frames, ch) float32, exact (power of two)
    if np.array_equal(np.rint(q), q) and q.min(initial=0) >= -_PCM16 and q.max(initial=0) < _PCM16:
        pcm, subtype, level = q.astype(np.int16), "PCM_16", _FLAC_LEVEL_16
    else:
        q = a * np.float32(_PCM24)
        np.rint(q, out=q)
        np.clip(q, -_PCM24, _PCM24 - 1, out=q)
        pcm, subtype, level = q.astype(np.int32), "PCM_24", _FLAC_LEVEL
        pcm <<= 8  # libsndfile takes the top 24 bits of int32 samples
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="FLAC", subtype=subtype, compression_level=level)
    return buf.getvalue()


def _zip_info(name: str, compress_type: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    zi.compress_type = compress_type
    zi.create_system = 3  # same bytes on every OS
    zi.external_attr = 0o644 << 16
    return zi


def _pool(n_jobs: int) -> ThreadPoolExecutor:
    """Threads for FLAC coding (libsndfile and numpy release the GIL)."""
    return ThreadPoolExecutor(max_workers=max(1, min(n_jobs, os.cpu_count() or 1, 4)))


_ENCODED: dict[int, tuple[weakref.ref, int, bytes]] = {}  # id(read-only array) -> (the array, rate, FLAC bytes)
_ENCODED_LOCK = threading.Lock()


def _stem_bytes(name: str, value: StemValue, sample_rate: int) -> bytes:
    """FLAC bytes of a stem: copied for a ``CachedStem``, encoded for an array. A read-only array (the engine's
    audio cache holds only those: ``engine.proposals.cache_stem``) cannot change, so its bytes are kept while it
    lives and the next save (or autosave) copies them instead of encoding it again."""
    if isinstance(value, CachedStem):
        return value.flac_bytes()
    if value.flags.writeable or value.base is not None and value.base.flags.writeable:
        return _encode_flac(name, value, sample_rate)
    with _ENCODED_LOCK:
        hit = _ENCODED.get(id(value))
    if hit is not None and hit[0]() is value and hit[1] == sample_rate:
        return hit[2]
    data = _encode_flac(name, value, sample_rate)
    key = id(value)
    try:
        ref = weakref.ref(value, lambda _r, k=key: _forget(k))
    except TypeError:  # an array type without weak references: encode every time
        return data
    with _ENCODED_LOCK:
        _ENCODED[key] = (ref, sample_rate, data)
    return data


def _forget(key: int) -> None:
    with _ENCODED_LOCK:
        hit = _ENCODED.get(key)
        if hit is not None and hit[0]() is None:
            del _ENCODED[key]


def _write_zip(f, json_bytes: bytes, state_bytes: bytes, audio: dict[str, StemValue], sample_rate: int) -> None:
    names = sorted(audio)
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr(_zip_info(PROJECT_JSON, zipfile.ZIP_DEFLATED), json_bytes, compresslevel=_JSON_LEVEL)
        zf.writestr(_zip_info(STATE, zipfile.ZIP_STORED), state_bytes)
        if names:
            with _pool(len(names)) as pool:
                jobs = [pool.submit(_stem_bytes, n, audio[n], sample_rate) for n in names]
                try:
                    for n, job in zip(names, jobs):
                        zf.writestr(_zip_info(f"{AUDIO_DIR}{n}.flac", zipfile.ZIP_STORED), job.result())
                finally:
                    for job in jobs:
                        job.cancel()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_backup(path: Path) -> None:
    """Make ``<path>.bak`` a copy of ``path`` (a hard link when the file system allows it)."""
    bak = path.with_name(path.name + ".bak")
    tmp = path.with_name(f".{path.name}.bak.tmp")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(path, tmp)
    except OSError:
        shutil.copy2(path, tmp)
    os.replace(tmp, bak)


def _stems_to_save(audio: Mapping | None, sample_rate: int) -> dict[str, StemValue]:
    """name -> array or ``CachedStem``, checked. An ``AudioCache`` gives its still-encoded stems."""
    stems: dict[str, StemValue] = audio.stems() if isinstance(audio, AudioCache) else dict(audio or {})
    for name, a in stems.items():
        if isinstance(a, CachedStem):
            if not isinstance(name, str) or not AUDIO_NAME.fullmatch(name):
                raise ProjectError(f"Cannot save: stem name {name!r} is not valid (letters, digits, '_', '-', '.')")
            if a.sample_rate != sample_rate:
                raise ProjectError(f"Cannot save: stem {name!r} is at {a.sample_rate} Hz but the song is at "
                                   f"{sample_rate} Hz (render the stems again, or leave them out)")
        else:
            _check_audio(name, a, sample_rate)
    return stems


def _rebind_stems(path: Path, stems: list[CachedStem]) -> None:
    """After a save, point the copied stems at the new file (same bytes), so that they stay readable
    once the file they came from has been replaced. Best effort: a stem not rebound reports the change."""
    try:
        with open(path, "rb") as f:
            key = _stat_key(os.fstat(f.fileno()))
            with zipfile.ZipFile(f) as zf:
                for stem in stems:
                    member = f"{AUDIO_DIR}{stem.name}.flac"
                    stem._rebind(_Source(path.resolve(), key, member, _fingerprint(zf.getinfo(member))))
    except (OSError, KeyError, zipfile.BadZipFile):
        pass


def save_project(path: str | os.PathLike, song: Song, tensors: dict[str, np.ndarray] | None = None,
                 audio: Mapping[str, np.ndarray | CachedStem] | None = None) -> None:
    """Save ``song`` with its ``tensors`` and ``audio`` stems to ``path`` (a ``.melodex`` file), atomically.

    Args:
        path: the project file; its folder must exist. An existing file is kept as ``<path>.bak``. A
            symbolic link is followed: its target is saved (and backed up), the link stays.
        song: the document. It is validated as a load would validate it, so a saved file always loads.
        tensors: name -> numeric or bool array (finite), stored in ``state.safetensors``.
        audio: stem name (see ``AUDIO_NAME``) -> float32 (frames, channels) at ``song.sample_rate`` Hz,
            1 or 2 channels; stored as 24-bit FLAC (values outside [-1, 1) are clipped). Or the
            ``AudioCache`` of a loaded project, or a dict mixing arrays and its ``CachedStem`` entries:
            cached stems are copied as stored (no re-encoding), and must be at ``song.sample_rate``.

    Raises ``ProjectError`` (nothing on disk changes) for values a project cannot hold, for
    file-system errors (missing folder, no permission, disk full) and for cached stems whose file
    has changed since it was opened or whose data is damaged.
    """
    path = Path(path)
    if path.is_symlink():  # save to the link's target; the link stays
        path = Path(os.path.realpath(path))
    tensors = dict(tensors or {})
    doc = song_to_dict(song)
    try:  # the checks a load makes, so that a saved file always loads
        try:
            json_bytes = _dump_json(doc)
        except ValueError as e:  # NaN/Inf in a number field, or text that is not valid Unicode
            song_from_dict(doc)  # names the field when it is a number
            raise ProjectError(f"it holds a value a project file cannot store ({e})") from e
        checked = song_from_dict(json.loads(json_bytes))
    except ProjectError as e:
        raise ProjectError(f"Cannot save {path.name!r}: the song is not consistent: {e}") from e
    _check_take_tensors(checked, tensors, "Cannot save")
    audio = _stems_to_save(audio, song.sample_rate)
    state_bytes = _encode_state(tensors)

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ProjectError(f"Cannot save {path.name!r}: the folder {str(folder)!r} does not exist")
    if path.is_dir():
        raise ProjectError(f"Cannot save {path.name!r}: a folder of that name is in the way")
    if path.exists() and not path.is_file():
        raise ProjectError(f"Cannot save {path.name!r}: it is not a regular file (a pipe, device or socket)")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ProjectError(f"Cannot save {path.name!r} in {str(folder)!r}: {e.strerror or e}") from e
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_zip(f, json_bytes, state_bytes, audio, song.sample_rate)
            f.flush()
            os.fsync(f.fileno())
        with zipfile.ZipFile(tmp) as zf:  # member sizes and ratios within what a load accepts
            _check_members(zf)
        os.chmod(tmp, (path.stat().st_mode & 0o7777) if path.exists() else 0o644)
        if path.exists():
            _keep_backup(path)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ProjectError(f"Cannot save {path.name!r}: {e.strerror or e}") from e
        if isinstance(e, ProjectError) and not str(e).startswith("Cannot save"):
            sep = ". " if str(e)[:1].isupper() else ": "
            raise ProjectError(f"Cannot save {path.name!r}{sep}{e}") from e
        raise
    _fsync_dir(folder)
    _rebind_stems(path, [a for a in audio.values() if isinstance(a, CachedStem)])


# --- loading --------------------------------------------------------------------------------------
def _unsafe_name(name: str) -> bool:
    parts = name.split("/")
    return (name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts
            or re.match(r"[A-Za-z]:", name) is not None)


def _limit_for(name: str) -> int:
    return MAX_JSON_BYTES if name == PROJECT_JSON else MAX_STATE_BYTES if name == STATE else MAX_AUDIO_BYTES


def _check_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Check the archive's table of contents; returns name -> entry."""
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ProjectError(f"it holds {len(infos)} files; a project holds at most {MAX_MEMBERS}")
    members: dict[str, zipfile.ZipInfo] = {}
    for zi in infos:
        name = zi.filename
        if _unsafe_name(name):
            raise ProjectError(f"it contains a file with an unsafe name {name!r} (absolute or outside the project)")
        if name in members:
            raise ProjectError(f"it contains {name!r} twice")
        stem = name[len(AUDIO_DIR):-len(".flac")] if name.startswith(AUDIO_DIR) and name.endswith(".flac") else None
        if name not in (PROJECT_JSON, STATE) and not (stem and AUDIO_NAME.fullmatch(stem)):
            raise ProjectError(f"it contains an unexpected file {name!r}")
        if zi.flag_bits & 0x1:
            raise ProjectError(f"{name!r} is encrypted")
        if zi.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ProjectError(f"{name!r} uses an unsupported compression method ({zi.compress_type})")
        limit = _limit_for(name)
        if zi.file_size > limit:
            raise ProjectError(f"{name!r} declares {zi.file_size / 2**20:.0f} MB; the limit is {limit / 2**20:.0f} MB")
        if zi.file_size > RATIO_MIN_BYTES and zi.file_size > MAX_RATIO * max(zi.compress_size, 1):
            raise ProjectError(f"{name!r} is compressed {zi.file_size // max(zi.compress_size, 1)}:1, "
                               f"more than any real project (a zip bomb?)")
        members[name] = zi
    for required in (PROJECT_JSON, STATE):
        if required not in members:
            raise ProjectError(f"{required!r} is missing")
    return members


def _read_member(zf: zipfile.ZipFile, zi: zipfile.ZipInfo) -> bytes:
    """The member's bytes, reading at most its declared size (+1 byte to detect a lie)."""
    with zf.open(zi) as f:
        data = f.read(zi.file_size + 1)
    if len(data) != zi.file_size:
        raise ProjectError(f"{zi.filename!r} does not have the size its header declares")
    return data


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a project may hold")


def _decode_state(data: bytes, song: Song) -> dict[str, np.ndarray]:
    if len(data) < 8:
        raise ProjectError(f"{STATE!r} is truncated")
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + n]) if 8 + n <= len(data) else None
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise ProjectError(f"{STATE!r} is damaged (its header cannot be read)")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise ProjectError(f"{STATE!r} has metadata that is not text")
    try:
        tensors = _st_load(data)
    except Exception as e:  # safetensors validates offsets, dtypes and shapes
        raise ProjectError(f"{STATE!r} is damaged: {e}") from e
    _check_tensors(tensors, STATE)
    _check_take_tensors(song, tensors, STATE)
    return tensors


def _check_take_tensors(song: Song, tensors: dict[str, np.ndarray], where: str) -> None:
    """Every tensor a take lists is in ``tensors``; a render take's have the layout its variation reads."""
    for i, take in enumerate(song.takes):
        for name in take.tensors:
            if name not in tensors:
                raise ProjectError(f"{where}: takes[{i}] lists tensor {name!r}, which is not in the project tensors")
        if is_render_take(take):
            problem = render_take_tensor_problem(take, tensors)
            if problem:
                raise ProjectError(f"{where}: takes[{i}] is a diffusion render, but {problem}")


def _flac_header(name: str, head: bytes, sample_rate: int) -> tuple[int, int]:
    """(frames, channels) from the first bytes of a stem (its FLAC metadata), after checking format,
    rate, channels and length against the song; nothing is decoded."""
    where = f"{AUDIO_DIR}{name}.flac"
    try:
        with sf.SoundFile(io.BytesIO(head)) as f:  # libsndfile reads the metadata blocks only
            fmt, rate, channels, frames = f.format, f.samplerate, f.channels, f.frames
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise ProjectError(f"{where!r} is not readable audio ({e})") from e
    if fmt != "FLAC":
        raise ProjectError(f"{where!r} is {fmt}, not FLAC")
    if rate != sample_rate:
        raise ProjectError(f"{where!r} is at {rate} Hz but the song is at {sample_rate} Hz")
    if channels not in (1, 2):
        raise ProjectError(f"{where!r} has {channels} channels; stems have 1 or 2")
    if frames > int(MAX_AUDIO_SECONDS * sample_rate):
        raise ProjectError(f"{where!r} is longer than {MAX_AUDIO_SECONDS / 60:g} minutes")
    if frames < 1:
        raise ProjectError(f"{where!r} does not declare its length (or is empty)")
    return frames, channels


def _decode_flac(name: str, data: bytes, sample_rate: int, expect: tuple[int, int] | None = None) -> np.ndarray:
    """float32 (frames, channels) of a stem; checks format, rate, channels and length (and, with
    ``expect``, that it decodes to exactly (frames, channels) as its header declared). Decodes in blocks
    of ``DECODE_BLOCK_FRAMES``: the memory is the result plus one block."""
    where = f"{AUDIO_DIR}{name}.flac"
    max_frames = int(MAX_AUDIO_SECONDS * sample_rate)
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            if f.format != "FLAC":
                raise ProjectError(f"{where!r} is {f.format}, not FLAC")
            if f.samplerate != sample_rate:
                raise ProjectError(f"{where!r} is at {f.samplerate} Hz but the song is at {sample_rate} Hz")
            if f.channels not in (1, 2):
                raise ProjectError(f"{where!r} has {f.channels} channels; stems have 1 or 2")
            if f.frames > max_frames:
                raise ProjectError(f"{where!r} is longer than {MAX_AUDIO_SECONDS / 60:g} minutes")
            if f.frames < 1 or (expect is not None and (f.frames, f.channels) != expect):
                raise ProjectError(f"{where!r} has a wrong length")
            out = np.empty((f.frames, f.channels), np.float32)  # (frames, ch)
            block = np.empty((min(DECODE_BLOCK_FRAMES, f.frames), f.channels), np.int32)
            pos = 0
            while pos < out.shape[0]:
                got = f.read(out=block[: out.shape[0] - pos])  # (n, ch) int32: the 24-bit sample << 8 (a
                # 16-bit one << 16)
                if got.shape[0] == 0:
                    raise ProjectError(f"{where!r} has a wrong length")
                got >>= 8
                out[pos: pos + got.shape[0]] = got  # exact: 24-bit integers fit float32
                pos += got.shape[0]
            if f.read(1, dtype="int32").shape[0]:
                raise ProjectError(f"{where!r} has a wrong length")
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        raise ProjectError(f"{where!r} is not readable audio ({e})") from e
    out *= np.float32(1.0 / _PCM24)  # from integers: always finite, within [-1, 1)
    return out


def _read_head(zf: zipfile.ZipFile, zi: zipfile.ZipInfo) -> bytes:
    """The first ``FLAC_HEAD_BYTES`` of a member (not CRC-checked: the whole member is checked on use)."""
    with zf.open(zi) as f:
        return f.read(min(zi.file_size, FLAC_HEAD_BYTES))


def open_regular(path: str | os.PathLike, what: str = "a project file") -> BinaryIO:
    """``path`` opened for reading (binary), if it is a regular file: a pipe, device or socket is refused
    with ``ProjectError`` without waiting for a writer (O_NONBLOCK) or reading endless bytes. Whatever reads
    a project file (its hash too) opens it with this."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ProjectError(f"Cannot open {path.name!r}: the file does not exist") from None
    except IsADirectoryError:
        raise ProjectError(f"Cannot open {path.name!r}: it is a folder, not {what}") from None
    except OSError as e:
        raise ProjectError(f"Cannot open {path.name!r}: {e.strerror or e}") from e
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ProjectError(f"Cannot open {path.name!r}: it is a folder, not {what}")
        if not stat.S_ISREG(mode):
            raise ProjectError(f"Cannot open {path.name!r}: it is not a regular file (a pipe, device or socket), "
                               f"not {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_zip(path: Path) -> BinaryIO:
    return open_regular(path)


def _read(f: BinaryIO, path: Path) -> Project:
    try:
        zf = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise ProjectError("it is not a Melodex project (not a zip archive), or it is truncated") from None
    with zf:
        members = _check_members(zf)
        raw = _read_member(zf, members[PROJECT_JSON])
        try:
            doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise ProjectError(f"{PROJECT_JSON!r} is not valid JSON ({e})") from None
        if _SURROGATE_ESCAPE.search(raw):
            doc = clean_surrogates(doc)
        song = song_from_dict(doc)
        tensors = _decode_state(_read_member(zf, members[STATE]), song)
        stems: dict[str, CachedStem] = {}
        notes: list[str] = []
        key = _stat_key(os.fstat(f.fileno()))
        song_s = song.tempo_map.tick_to_seconds(max(song.end_tick, song.last_note_end_tick()))
        max_frames = int((song_s + MAX_STEM_TAIL_SECONDS) * song.sample_rate)
        for m in sorted(n for n in members if n.startswith(AUDIO_DIR)):
            name, zi = m[len(AUDIO_DIR):-len(".flac")], members[m]
            frames, channels = _flac_header(name, _read_head(zf, zi), song.sample_rate)
            if frames > max_frames:
                notes.append(f"the audio stem {name!r} ({frames / song.sample_rate:.1f} s) is longer than the song "
                             f"({song_s:.1f} s), so it is out of date and was left out; render it again")
                continue
            stems[name] = CachedStem(name, _Source(path, key, m, _fingerprint(zi)), song.sample_rate, frames, channels)
    return Project(song, tensors, AudioCache(stems), notes)


def read_project(path: str | os.PathLike) -> Project:
    """Load and validate a project (document, tensors, stem headers). The file is only read.

    The stems are not decoded here: ``Project.audio`` is an ``AudioCache`` that decodes each stem on
    first access, reading it from ``path`` again (a ``ProjectError`` then if the file has changed or
    the stem's data is damaged). Raises ``ProjectError`` naming the file and the problem; see the
    module docstring.
    """
    path = Path(path)
    with _open_zip(path) as f:
        try:
            return _read(f, path.resolve())
        except ProjectError as e:
            sep = ". " if str(e)[:1].isupper() else ": "
            raise ProjectError(f"Cannot open {path.name!r}{sep}{e}") from e.__cause__
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, struct.error, NotImplementedError,
                RuntimeError, ValueError) as e:  # what zipfile raises on damaged archives
            raise ProjectError(f"Cannot open {path.name!r}: the file is damaged ({e})") from e


def load_project(path: str | os.PathLike) -> Song:
    """The ``Song`` of a project file (same validation as ``read_project``, for the whole file)."""
    return read_project(path).song

