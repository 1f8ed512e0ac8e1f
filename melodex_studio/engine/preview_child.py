"""The child process that renders SoundFont previews for ``engine.preview`` (so that TinySoundFont, which holds
Python's GIL while it renders, never stalls the studio's audio callback).

Protocol on stdin/stdout: each message is an 8-byte little-endian length and a pickle. A job is
``(song, track_id, sample_rate, folder)``; the answer ``("ok", path of a .npy file in folder)`` or
``("error", exception)``. The child runs at a lower CPU priority and ends when its stdin closes.
Started as ``python -m melodex_studio.engine.preview_child`` (never by re-running the parent's main module).
"""
from __future__ import annotations

import os
import pickle
import struct
import sys

HEADER = struct.Struct("<Q")


def read_message(stream):
    """One pickled message from ``stream``, or None at its end."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (n,) = HEADER.unpack(header)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def write_message(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def serve(inp, out) -> None:
    from .preview import _render_to_file

    try:
        os.nice(10)  # behind the GUI and the audio callback
    except (AttributeError, OSError):
        pass
    while True:
        job = read_message(inp)
        if job is None:
            return
        try:
            answer = ("ok", _render_to_file(*job))
        except Exception as e:  # noqa: BLE001 - the parent raises it
            try:
                pickle.dumps(e)
            except Exception:  # noqa: BLE001 - an exception that cannot travel: its text does
                e = RuntimeError(f"{type(e).__name__}: {e}")
            answer = ("error", e)
        write_message(out, answer)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
