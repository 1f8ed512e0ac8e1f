"""Undo history of a project session: every applied change is one ``Change`` with ``undo`` and ``redo``.

A change records the song before and after as structural snapshots (``Song.copy``: new containers, shared
immutable notes), and, for the tensors and the audio cache, the old and new value of every entry it set or
removed. Undo and redo therefore restore the song, the tensors and the audio exactly, whatever the change
was (a note edit, a regeneration, a render, a take switch), in time linear in the song's size (well under a
millisecond per thousand notes). Pure Python: the window mirrors this stack into a QUndoStack.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..song import Song

_ABSENT = object()


@dataclass(frozen=True)
class ChangeInfo:
    """What one applied change touched, so that a view redraws once: ids of sections, tracks and takes, and
    ``document`` when the whole song was replaced (new, open, generate, undo across such a change)."""

    label: str
    kind: str = "edit"  # edit | generate | regenerate | render | vary | takes | document | save
    sections: frozenset[str] = frozenset()
    tracks: frozenset[str] = frozenset()
    takes: frozenset[str] = frozenset()
    document: bool = False
    undo: bool = False  # True when this notification is an undo of the change (redo: False again)


@dataclass
class Document:
    """The session's live state: the song, the project tensors (name -> array) and the audio cache (stem name
    -> array or a still-encoded ``io.project.CachedStem``)."""

    song: Song
    tensors: dict[str, Any] = field(default_factory=dict)
    audio: dict[str, Any] = field(default_factory=dict)


def _diff(before: dict, after: dict) -> dict[str, tuple[Any, Any]]:
    """{name: (old or _ABSENT, new or _ABSENT)} for every entry that differs by identity."""
    out = {}
    for k in before.keys() | after.keys():
        a, b = before.get(k, _ABSENT), after.get(k, _ABSENT)
        if a is not b:
            out[k] = (a, b)
    return out


def _put(target: dict, changes: dict[str, tuple[Any, Any]], index: int) -> None:
    for k, pair in changes.items():
        v = pair[index]
        if v is _ABSENT:
            target.pop(k, None)
        else:
            target[k] = v


class Change:
    """One undoable change of a ``Document`` (see module docstring)."""

    def __init__(self, info: ChangeInfo, before: Song, after: Song, tensors: dict[str, tuple[Any, Any]],
                 audio: dict[str, tuple[Any, Any]]):
        self.info, self._before, self._after = info, before, after
        self._tensors, self._audio = tensors, audio

    @classmethod
    def between(cls, info: ChangeInfo, before: Song, doc: Document, tensors_before: dict, audio_before: dict) -> "Change":
        """The change that took ``doc`` from (``before``, ``tensors_before``, ``audio_before``) to its state now."""
        return cls(info, before, doc.song.copy(), _diff(tensors_before, doc.tensors), _diff(audio_before, doc.audio))

    def undo(self, doc: Document) -> None:
        doc.song.assign(self._before)
        _put(doc.tensors, self._tensors, 0)
        _put(doc.audio, self._audio, 0)

    def redo(self, doc: Document) -> None:
        doc.song.assign(self._after)
        _put(doc.tensors, self._tensors, 1)
        _put(doc.audio, self._audio, 1)


class UndoHistory:
    """A linear undo stack with a clean mark (the state last saved): ``is_clean`` is the dirty flag's inverse."""

    def __init__(self, limit: int = 500):
        self.limit = limit
        self.changes: list[Change] = []
        self.index = 0  # changes[:index] are done
        self._clean: int | None = 0

    def push(self, change: Change) -> None:
        del self.changes[self.index:]
        if self._clean is not None and self._clean > self.index:
            self._clean = None  # the saved state can no longer be reached
        self.changes.append(change)
        self.index += 1
        if len(self.changes) > self.limit:
            drop = len(self.changes) - self.limit
            del self.changes[:drop]
            self.index -= drop
            self._clean = None if self._clean is None or self._clean < drop else self._clean - drop

    def can_undo(self) -> bool:
        return self.index > 0

    def can_redo(self) -> bool:
        return self.index < len(self.changes)

    def undo_label(self) -> str | None:
        return self.changes[self.index - 1].info.label if self.can_undo() else None

    def redo_label(self) -> str | None:
        return self.changes[self.index].info.label if self.can_redo() else None

    def undo(self, doc: Document) -> Change:
        self.index -= 1
        change = self.changes[self.index]
        change.undo(doc)
        return change

    def redo(self, doc: Document) -> Change:
        change = self.changes[self.index]
        change.redo(doc)
        self.index += 1
        return change

    def mark_clean(self) -> None:
        self._clean = self.index

    def clear(self) -> None:
        self.changes.clear()
        self.index, self._clean = 0, 0

    @property
    def is_clean(self) -> bool:
        return self._clean == self.index
