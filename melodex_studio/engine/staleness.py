"""Which clips' diffusion renders are out of date: a clip (section, track) is *stale* when it has at least one
diffusion render take but none of them rendered the notes it holds now (``render_takes.current_take`` is
None), e.g. after a note edit in the piano roll. Clips that were never rendered with the diffusion renderer
are not stale (there is nothing to bring up to date); ``session.render(stale_only=True)`` renders them too
when asked for their track and section, so the front end passes the stale clips' section and tracks.

Qt-free (the piano roll and the command line both ask).
"""
from __future__ import annotations

from ..song import Section, Song
from .render_takes import current_take, is_render_take


def rendered_clips(song: Song) -> set[tuple[str, str]]:
    """(section id, track id) of every clip that has at least one diffusion render take."""
    return {(t.section_id, t.track_id) for t in song.takes if is_render_take(t) and t.track_id is not None}


def is_stale(song: Song, section: Section | str | int, track_id: str) -> bool:
    """True when the clip had a diffusion render and none of its render takes matches its notes now."""
    sec = song.section(section) if not isinstance(section, Section) else section
    tid = song.track(track_id).id
    return (sec.id, tid) in rendered_clips(song) and current_take(song, sec, tid) is None


def stale_clips(song: Song) -> set[tuple[str, str]]:
    """(section id, track id) of every stale clip (see the module docstring), in no order."""
    sections = {s.id: s for s in song.sections}
    tracks = {t.id for t in song.tracks}
    out = set()
    for sid, tid in rendered_clips(song):
        if sid in sections and tid in tracks and current_take(song, sections[sid], tid) is None:
            out.add((sid, tid))
    return out


def render_request(song: Song, clips: set[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """(section id or None, track ids) to pass to ``session.render(stale_only=True)`` so that it renders the
    ``clips``: their one section when they all lie in one (then exactly these clips are rendered), else every
    section of their tracks (clips of those tracks that have no current render are rendered too)."""
    sections = {sid for sid, _ in clips}
    order = [t.id for t in song.tracks]
    tracks = sorted({tid for _, tid in clips}, key=order.index)
    return (next(iter(sections)) if len(sections) == 1 else None), tracks
