"""One writer per project file: an OS lock held while a session has the project open, and the file's
signature (size, modification time, content hash) to notice a change made on disk by someone else.

The lock is ``filelock``'s (``fcntl.flock`` on Unix, ``msvcrt.locking`` on Windows) on a hidden sidecar
file ``.<name>.lock`` next to the project (the project itself is replaced on every save, so it cannot carry
the lock). The OS drops the lock when the process dies, so a crash never leaves a project locked.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import ProjectBusyError, ProjectError


def lock_path(project: Path) -> Path:
    return project.with_name(f".{project.name}.lock")


class ProjectLock:
    """The exclusive lock on ``project`` (acquired at construction; ``release()`` or process exit frees it)."""

    def __init__(self, project: str | os.PathLike):
        self.project = Path(project)
        self._lock = FileLock(str(lock_path(self.project)), timeout=0)
        try:
            self._lock.acquire()
        except Timeout:
            raise ProjectBusyError(f"{self.project.name} is open in another window or process; close it there, or "
                                   f"open it read-only") from None
        except OSError as e:  # a read-only folder: no lock possible; the signature check still guards saves
            self._lock = None
            self.error = e.strerror or str(e)

    @property
    def held(self) -> bool:
        return self._lock is not None and self._lock.is_locked

    def release(self) -> None:
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()  # the sidecar stays: deleting it could let two processes lock two inodes


@dataclass(frozen=True)
class FileSignature:
    """What a project file was when it was read or written: size, modification time (ns), sha256."""

    size: int
    mtime_ns: int
    sha256: str

    @classmethod
    def of(cls, path: str | os.PathLike) -> "FileSignature | None":
        """The signature of ``path`` now, or None when there is no such file."""
        from .project import open_regular  # a pipe or device is refused, never read

        try:
            with open_regular(path) as f:
                st = os.fstat(f.fileno())
                h = hashlib.sha256()
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except FileNotFoundError:
            return None
        except ProjectError:
            if not Path(path).exists():
                return None
            raise
        return cls(st.st_size, st.st_mtime_ns, h.hexdigest())

    def same_file(self, path: str | os.PathLike) -> bool:
        """True when ``path`` still holds these bytes (size and time first, then the hash when those moved)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return False
        if (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns):
            return True
        now = FileSignature.of(path)
        return now is not None and now.size == self.size and now.sha256 == self.sha256
