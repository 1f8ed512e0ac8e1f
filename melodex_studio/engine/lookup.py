"""Finding what the user names: a section, a track or a take by id, name/label or 0-based index. One error
type (``NotFoundError``) whose message lists the choices."""
from __future__ import annotations

from ..errors import NotFoundError
from ..song import Section, Song, Take, Track


def _numbered_labels(song: Song) -> list[str]:
    """Section names as the user types them: 'verse', 'chorus', 'verse 2' (the n-th of a repeated label)."""
    seen: dict[str, int] = {}
    out = []
    for s in song.sections:
        n = seen[s.label.lower()] = seen.get(s.label.lower(), 0) + 1
        out.append(s.label if n == 1 else f"{s.label} {n}")
    return out


def find_section(song: Song, ref: str | int | Section) -> Section:
    """The section ``ref`` names: the Section itself, its id, its label ('chorus' = the first chorus,
    'chorus 2' = the second; any case) or its 0-based index."""
    if isinstance(ref, Section):
        if ref in song.sections:
            return ref
        ref = ref.id
    try:
        return song.section(ref)
    except (KeyError, ValueError):
        pass
    if not song.sections:
        raise NotFoundError(f"no section {ref!r}: the song has no sections")
    choices = ", ".join(f"{i}: {name}" for i, name in enumerate(_numbered_labels(song)))
    raise NotFoundError(f"no section {ref!r}; the sections are {choices}")


def find_track(song: Song, ref: str | int | Track) -> Track:
    """The track ``ref`` names: the Track, its id, its name (any case) or its 0-based index."""
    if isinstance(ref, Track):
        ref = ref.id
    for t in song.tracks:
        if t.id == ref or t.name == ref:
            return t
    if isinstance(ref, str):
        hits = [t for t in song.tracks if t.name.lower() == ref.strip().lower()]
        if len(hits) == 1:
            return hits[0]
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        i = int(ref)
        if 0 <= i < len(song.tracks):
            return song.tracks[i]
    if not song.tracks:
        raise NotFoundError(f"no track {ref!r}: the song has no tracks")
    choices = ", ".join(f"{i}: {t.name}" for i, t in enumerate(song.tracks))
    raise NotFoundError(f"no track {ref!r}; the tracks are {choices}")


def find_take(song: Song, take_id: str) -> Take:
    """The take with id ``take_id`` (a unique prefix of at least 4 characters is enough)."""
    for t in song.takes:
        if t.id == take_id:
            return t
    hits = [t for t in song.takes if len(take_id) >= 4 and t.id.startswith(take_id)]
    if len(hits) == 1:
        return hits[0]
    if not song.takes:
        raise NotFoundError(f"no take {take_id!r}: the project has no takes")
    raise NotFoundError(f"no take {take_id!r}; the project's takes are {', '.join(t.id for t in song.takes)}")
