"""Atomic exports: every output is written under a temporary name next to its target and renamed into place
only when all outputs of the run are complete. A failure, a cancel, Ctrl-C or ``kill -9`` therefore leaves
every file that was there before untouched and no partial new file under a real name (a killed run can leave
hidden ``.*.melodex-tmp*`` files, which the next export in that folder removes when they are over an hour old).
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..errors import AudioError, MelodexError

TMP_MARK = ".melodex-tmp"

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the disk is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "a file is in the way of the folder",
    errno.EISDIR: "a folder of that name is in the way",
    errno.EFBIG: "the file is larger than this system allows",
    errno.ENAMETOOLONG: "the name is too long",
}


def write_error(target: Path, exc: BaseException) -> MelodexError:
    """An error naming ``target`` and why it could not be written, in words. Our own errors about settings
    (not about the disk) pass through as they are."""
    if isinstance(exc, MelodexError) and exc.__cause__ is None:
        return exc
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__
    reason = _REASONS.get(getattr(cause, "errno", None)) if cause is not None else None
    if reason is None:  # the audio library says only "System error.": ask the system what is wrong
        reason = _probe(target.parent if str(target.parent) else Path("."))
    if reason is None:
        reason = f"the system reported {str(exc.__cause__ or exc) or type(exc).__name__!r}"
    return AudioError(f"could not write {target}: {reason}; nothing was changed there")


def _probe(folder: Path) -> str | None:
    """Why writing into ``folder`` fails, found by asking the system and by writing 1 MB there; None when
    nothing is wrong that it can see."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            return f"the file is larger than this system allows (files are limited to {limit:,} bytes)"
    except (ImportError, OSError, ValueError):
        pass
    if not os.access(folder, os.W_OK):
        return "permission denied"
    try:
        with tempfile.TemporaryFile(dir=folder) as f:
            f.write(b"\0" * 2**20)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return _REASONS.get(e.errno, e.strerror)
    return None


def _sweep(folder: Path) -> None:
    """Remove stale temporaries of killed runs (older than an hour) from ``folder``."""
    try:
        for p in folder.glob(f".*{TMP_MARK}*"):
            if time.time() - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    except OSError:
        pass


class StagedOutputs:
    """Temporary files and folders for one export run; ``commit()`` renames them into place, leaving the
    context without commit (an exception) removes them. Use as ``with StagedOutputs() as out: ...``."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []  # (temporary, target)
        self._folders: list[tuple[Path, Path]] = []
        self.written: list[Path] = []

    def file(self, target: str | os.PathLike) -> Path:
        """A temporary path in ``target``'s folder with the same suffix (the writer picks the format by it)."""
        target = Path(target)
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise AudioError(f"could not write {target}: the folder {folder} does not exist")
        if target.is_dir():
            raise AudioError(f"could not write {target}: a folder of that name is in the way")
        _sweep(folder)
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.stem[:60]}{TMP_MARK}", suffix=target.suffix, dir=folder)
        except OSError as e:
            raise write_error(target, e) from e
        os.close(fd)
        self._files.append((Path(name), target))
        return Path(name)

    def folder(self, target: str | os.PathLike) -> Path:
        """A temporary folder whose files move into ``target`` (created if needed) on commit."""
        target = Path(target)
        parent = target.parent if str(target.parent) else Path(".")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            _sweep(parent)
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:60]}{TMP_MARK}", dir=parent))
        except OSError as e:
            raise write_error(target, e) from e
        self._folders.append((tmp, target))
        return tmp

    def commit(self) -> list[Path]:
        """Rename every temporary into place (the targets' old versions are replaced); returns the targets."""
        try:
            for tmp, target in self._folders:
                target.mkdir(parents=True, exist_ok=True)
            for tmp, target in self._folders:
                for f in sorted(tmp.iterdir()):
                    os.replace(f, target / f.name)
                    self.written.append(target / f.name)
            for tmp, target in self._files:
                os.replace(tmp, target)
                self.written.append(target)
        except OSError as e:
            raise write_error(Path(e.filename or "the output"), e) from e
        finally:
            self.discard()
        return self.written

    def discard(self) -> None:
        """Remove what is left of the temporaries."""
        for tmp, _ in self._files:
            tmp.unlink(missing_ok=True)
        for tmp, _ in self._folders:
            shutil.rmtree(tmp, ignore_errors=True)
        self._files, self._folders = [], []

    def __enter__(self) -> "StagedOutputs":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()
