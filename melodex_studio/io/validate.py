"""The JSON document of a ``.melodex`` project (``project.json``): Song <-> dict, with validation.

``song_to_dict`` turns a ``Song`` into plain JSON types; ``song_from_dict`` checks every field by hand
(types and ranges) and builds the ``Song``. A problem raises ``ProjectError`` whose message names the
place, e.g. ``tracks[2].notes[15]: pitch 130 is out of range 0..127``.

Document layout (schema 1; units as in ``song.model``: ticks at ``PPQ`` per quarter note, bars 0-based,
gain in dB, pan in -1..1)::

    {"format": "melodex-project", "schema": 1, "app_version": str,                        (optional)
     "title": str, "sample_rate": int (Hz),
     "tempo_map": [[tick, bpm], ...], "meter_map": [[bar, numerator, denominator], ...],
     "key": {"tonic": 0..11, "mode": "major"|"minor", "spelling": str|null},
     "sections": [{"id", "label", "start_bar", "length_bars", "overrides": {...}}],
     "key_changes": [{"tick", "tonic", "mode", "spelling"}, ...],                       (optional)
     "tracks": [{"id", "name", "role", "program", "is_drum", "gain_db", "pan", "mute", "solo",
                 "notes": [[start_tick, pitch, duration_ticks, velocity], ...],
                 "controls": [[tick, kind, value], ...],                                   (optional)
                 "lyrics": [[tick, text], ...]}],                                           (optional)
     "chords": [{"start_tick", "duration_ticks", "root", "quality", "bass"}],
     "takes": [{"id", "section_id", "track_id", "notes": {track_id: [[...], ...]}, "seed", "params",
                "tensors": [name, ...], "created"}],
     "active_takes": {"<section_id>/<track_id or *>": take_id, "render:<section_id>/<track_id>": take_id},
     "plan": {...}, "generation": {...}}

``app_version`` is the Melodex Studio version that saved the file (``melodex_studio.__version__``), for the
reader's information only (``schema`` decides what can be read); it is always written, and files without it
load as before. The other optional keys are written only when they hold something (files without them load as
before, and a song without controllers is saved as older versions read it). ``controls`` is a track's controller lanes in tick
order: ``kind`` 0..119 is a MIDI control change (value 0..127), 128 pitch bend (value -8192..8191), 129 a program
change (value 0..127); ``key_changes`` are in increasing tick order after tick 0; lyrics in tick order.

Free-form values (section overrides, take params, plan, generation) may hold JSON values only
(str, finite numbers, bool, null, lists, objects with string keys), nested at most ``MAX_DEPTH`` deep;
numpy scalars are converted to Python numbers on save.

Sizes and positions are bounded by ``song.limits`` (tracks, notes, takes, tempo and meter changes, song length
in bars and in seconds): a document beyond a limit is refused before it costs more than reading it.

A *render take* (``params["kind"] == RENDER_TAKE_KIND``, written by ``engine.render_takes``) must hold the
state its later variation reads (``render.diffusion.render_to_state``)::

    params["state"] = {"frame_start": int >= 0, "seed": int, "steps_recorded": [k, ...] (distinct ints),
                       "settings": {"steps": 1..MAX_STEPS, "sampler": str, "guidance": number,
                                    "guidance_interval": [lo, hi] in 0..1, "shift": number > 0, "seed": int,
                                    "record_steps": [int, ...] | null}}

and list these tensors (``P`` = ``render/<take id>``), float arrays: ``P/latent`` (T, D), ``P/schedule`` (S,)
with 1 <= S <= steps + 1 and times in 0..1, and for every recorded step k < S ``P/x/k`` and ``P/denoised/k``,
each (T, D). ``check_render_take`` checks the document part, ``render_take_tensor_problem`` the tensors.

Text read from a file may hold lone UTF-16 surrogates (JSON escapes such as ``"\\ud800"``), which no terminal,
MIDI file or UTF-8 encoder accepts: ``clean_surrogates`` replaces each with U+FFFD.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..errors import ProjectError
from ..song import limits
from ..song.model import (
    CONTROL_KINDS, PITCH_BEND, PROGRAM, ROLES, Chord, Control, Key, KeyChange, Lyric, Note, Section, Song, Take, Track,
)
from ..song.timing import MeterMap, TempoMap

FORMAT = "melodex-project"
SCHEMA_VERSION = 1

RENDER_CHOICE = "render:"  # active_takes key prefix of a chosen render take (engine.render_takes.chosen_key)
MAX_DEPTH = 64  # nesting of free-form JSON values
MAX_TICK = limits.MAX_TICK  # 1 hour at 1000 BPM (song.limits)
MAX_BAR = limits.MAX_BARS
MAX_TEXT = 10_000  # characters in titles, labels, names
MAX_ID = 128  # characters in an id
BPM_RANGE = (1.0, 1000.0)  # as accepted by TempoMap
SAMPLE_RATE_RANGE = (8_000, 384_000)  # Hz
GAIN_DB_RANGE = (-144.0, 48.0)
PAN_RANGE = (-1.0, 1.0)
METER_DENOMINATORS = (1, 2, 4, 8, 16, 32)
SEED_RANGE = limits.STORED_SEED_RANGE
RENDER_TAKE_KIND = "diffusion_render"  # engine.render_takes.RENDER_KIND (io does not import the engine)
_STATE_KEYS = {"frame_start", "seed", "steps_recorded", "settings"}
_SETTINGS_KEYS = {"steps", "sampler", "guidance", "guidance_interval", "shift", "seed", "record_steps"}
_SURROGATE = re.compile("[\ud800-\udfff]")

_SONG_KEYS = {
    "format", "schema", "title", "sample_rate", "tempo_map", "meter_map", "key", "sections", "tracks",
    "chords", "takes", "active_takes", "plan", "generation", "key_changes", "app_version",
}
_SONG_OPTIONAL = {"key_changes", "app_version"}
_KEY_KEYS = {"tonic", "mode", "spelling"}
_KEY_CHANGE_KEYS = {"tick", "tonic", "mode", "spelling"}
_SECTION_KEYS = {"id", "label", "start_bar", "length_bars", "overrides"}
_TRACK_KEYS = {"id", "name", "role", "program", "is_drum", "gain_db", "pan", "mute", "solo", "notes", "controls",
               "lyrics"}
_TRACK_OPTIONAL = {"controls", "lyrics"}
MAX_CONTROLLER = 119  # control change numbers a lane may hold (120..127 are channel mode messages)
_CHORD_KEYS = {"start_tick", "duration_ticks", "root", "quality", "bass"}
_TAKE_KEYS = {"id", "section_id", "track_id", "notes", "seed", "params", "tensors", "created"}


# --- Song -> dict -------------------------------------------------------------------------------
def json_value(value: Any, path: str, depth: int = 0) -> Any:
    """A copy of ``value`` made of JSON types only (tuples become lists, numpy scalars Python numbers).

    Raises ``ProjectError`` naming ``path`` for anything a project file cannot hold (sets, arrays,
    objects, NaN/Inf, non-string keys, nesting deeper than ``MAX_DEPTH``).
    """
    if depth > MAX_DEPTH:
        raise ProjectError(f"{path}: values are nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, np.generic) and not isinstance(value, (np.void, np.object_)):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProjectError(f"{path}: {value} is not a finite number")
        return float(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ProjectError(f"{path}: key {k!r} is not text")
            out[k] = json_value(v, f"{path}.{k}", depth + 1)
        return out
    hint = " (store arrays in the project tensors)" if isinstance(value, np.ndarray) else ""
    raise ProjectError(f"{path}: a value of type {type(value).__name__} cannot be stored in a project{hint}")


def _notes_list(notes: list[Note]) -> list[list[int]]:
    return [[int(n.start_tick), int(n.pitch), int(n.duration_ticks), int(n.velocity)] for n in notes]


def _key_dict(k: Key) -> dict[str, Any]:
    return {"tonic": int(k.tonic), "mode": k.mode, "spelling": k.spelling}


def _track_dict(t: Track) -> dict[str, Any]:
    d = {"id": t.id, "name": t.name, "role": t.role, "program": int(t.program), "is_drum": bool(t.is_drum),
         "gain_db": float(t.gain_db), "pan": float(t.pan), "mute": bool(t.mute), "solo": bool(t.solo),
         "notes": _notes_list(t.notes)}
    if t.controls:
        d["controls"] = [[int(c.start_tick), int(c.kind), int(c.value)] for c in t.controls]
    if t.lyrics:
        d["lyrics"] = [[int(ly.start_tick), ly.text] for ly in t.lyrics]
    return d


def _app_version() -> str:
    from .. import __version__  # looked up once, on the first save

    return __version__


def song_to_dict(song: Song) -> dict[str, Any]:
    """The JSON document of ``song`` (plain dicts/lists; see the module docstring for the layout).

    Raises ``ProjectError`` when a free-form value (plan, generation, overrides, params) holds
    something JSON cannot represent. The result is not validated; ``song_from_dict`` does that.
    """
    k = song.key
    d = {
        "format": FORMAT,
        "schema": SCHEMA_VERSION,
        "app_version": _app_version(),
        "title": song.title,
        "sample_rate": int(song.sample_rate),
        "tempo_map": [[int(c.tick), float(c.bpm)] for c in song.tempo_map.changes],
        "meter_map": [[int(c.bar), int(c.numerator), int(c.denominator)] for c in song.meter_map.changes],
        "key": _key_dict(k),
        "sections": [
            {"id": s.id, "label": s.label, "start_bar": int(s.start_bar), "length_bars": int(s.length_bars),
             "overrides": json_value(s.overrides, f"sections[{i}].overrides")}
            for i, s in enumerate(song.sections)
        ],
        "tracks": [_track_dict(t) for t in song.tracks],
        "chords": [
            {"start_tick": int(c.start_tick), "duration_ticks": int(c.duration_ticks), "root": int(c.root),
             "quality": c.quality, "bass": None if c.bass is None else int(c.bass)}
            for c in song.chords
        ],
        "takes": [
            {"id": t.id, "section_id": t.section_id, "track_id": t.track_id,
             "notes": {tid: _notes_list(ns) for tid, ns in t.notes.items()},
             "seed": None if t.seed is None else int(t.seed),
             "params": json_value(t.params, f"takes[{i}].params"),
             "tensors": list(t.tensors), "created": t.created}
            for i, t in enumerate(song.takes)
        ],
        "active_takes": dict(song.active_takes),
        "plan": json_value(song.plan, "plan"),
        "generation": json_value(song.generation, "generation"),
    }
    if song.key_changes:
        d["key_changes"] = [{"tick": int(c.start_tick), **_key_dict(c.key)} for c in song.key_changes]
    return d


# --- checks ---------------------------------------------------------------------------------------
def _fail(path: str, problem: str) -> None:
    raise ProjectError(f"{path}: {problem}")


def _obj(v: Any, path: str, keys: set[str], optional: set[str] = frozenset()) -> dict:
    """``v`` must be an object with exactly ``keys`` (``optional`` ones may be missing)."""
    if not isinstance(v, dict):
        _fail(path, f"expected an object, found {_kind(v)}")
    missing = keys - optional - v.keys()
    if missing:
        _fail(path, f"missing field {sorted(missing)[0]!r}")
    extra = v.keys() - keys
    if extra:
        _fail(path, f"unexpected field {sorted(extra)[0]!r}")
    return v


def _kind(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", type(None): "null",
            int: "a whole number", float: "a number"}.get(type(v), type(v).__name__)


def _int(v: Any, path: str, lo: int, hi: int, what: str) -> int:
    if type(v) is not int:
        _fail(path, f"{what} must be a whole number, found {_kind(v)}")
    if not lo <= v <= hi:
        _fail(path, f"{what} {v} is out of range {lo}..{hi}")
    return v


def _num(v: Any, path: str, lo: float, hi: float, what: str) -> float:
    if type(v) not in (int, float):
        _fail(path, f"{what} must be a number, found {_kind(v)}")
    if not lo <= v <= hi:  # also rejects NaN
        _fail(path, f"{what} {v} is out of range {lo:g}..{hi:g}")
    return float(v)


def _str(v: Any, path: str, what: str, max_len: int = MAX_TEXT, empty: bool = True) -> str:
    if type(v) is not str:
        _fail(path, f"{what} must be text, found {_kind(v)}")
    if len(v) > max_len:
        _fail(path, f"{what} is longer than {max_len} characters")
    if not empty and not v:
        _fail(path, f"{what} is empty")
    return v


def _bool(v: Any, path: str, what: str) -> bool:
    if type(v) is not bool:
        _fail(path, f"{what} must be true or false, found {_kind(v)}")
    return v


def _id(v: Any, path: str) -> str:
    s = _str(v, f"{path}.id" if path else "id", "id", MAX_ID, empty=False)
    if "/" in s:
        _fail(f"{path}.id", f"id {s!r} contains '/'")
    return s


def _free(v: Any, path: str) -> dict:
    """A free-form JSON object (overrides, params, plan, generation)."""
    if not isinstance(v, dict):
        _fail(path, f"expected an object, found {_kind(v)}")
    return json_value(v, path)  # checks depth and finiteness


def _notes(v: Any, path: str) -> list[Note]:
    if not isinstance(v, list):
        _fail(path, f"expected a list of notes, found {_kind(v)}")
    out = []
    for i, n in enumerate(v):
        if type(n) is not list or len(n) != 4:
            _fail(f"{path}[{i}]", "a note must be [start_tick, pitch, duration_ticks, velocity]")
        s, p, d, vel = n
        if type(s) is int and type(p) is int and type(d) is int and type(vel) is int \
                and 0 <= s <= MAX_TICK and 0 <= p <= 127 and 1 <= d <= MAX_TICK and 1 <= vel <= 127:
            out.append(Note(s, p, d, vel))
            continue
        q = f"{path}[{i}]"  # slow path: say exactly what is wrong
        _int(s, q, 0, MAX_TICK, "start tick")
        _int(p, q, 0, 127, "pitch")
        _int(d, q, 1, MAX_TICK, "duration (ticks)")
        _int(vel, q, 1, 127, "velocity")
    return out


def _list(v: Any, path: str) -> list:
    if not isinstance(v, list):
        _fail(path, f"expected a list, found {_kind(v)}")
    return v


def _unique(ids: list[str], path: str, what: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            _fail(f"{path}[{i}]", f"{what} id {x!r} is used twice")
        seen.add(x)


def _count(items: list, path: str, what: str, limit: int) -> list:
    """``items``, unless there are more than ``limit`` of them (``song.limits``)."""
    _total(len(items), path, what, limit)
    return items


def _total(n: int, path: str, what: str, limit: int) -> None:
    problem = limits.count_problem(what, n, limit)
    if problem:
        _fail(path, problem)


# --- text -----------------------------------------------------------------------------------------
def clean_text(text: str) -> str:
    """``text`` with every lone UTF-16 surrogate (U+D800..U+DFFF) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def clean_surrogates(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON value whose strings (keys too) have no lone surrogates (``clean_text``); other values
    are returned as they are. Nesting deeper than ``MAX_DEPTH`` is left to the validation to refuse."""
    if isinstance(value, str):
        return clean_text(value)
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [clean_surrogates(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_surrogates(v, depth + 1) for k, v in value.items()}
    return value


# --- render takes ---------------------------------------------------------------------------------
def is_render_take(take: Take) -> bool:
    return take.params.get("kind") == RENDER_TAKE_KIND


def render_take_tensors(take: Take) -> dict[str, str]:
    """role ('latent', 'schedule', 'x/<k>', 'denoised/<k>') -> tensor name, of a render take whose state passed
    ``check_render_take``."""
    prefix = f"render/{take.id}"
    names = {"latent": f"{prefix}/latent", "schedule": f"{prefix}/schedule"}
    for k in take.params["state"]["steps_recorded"]:
        names[f"x/{k}"] = f"{prefix}/x/{k}"
        names[f"denoised/{k}"] = f"{prefix}/denoised/{k}"
    return names


def check_render_take(take: Take, path: str) -> None:
    """Check the document part of a render take (see the module docstring): its state and its tensor list."""
    state = _obj(take.params.get("state"), f"{path}.params.state", _STATE_KEYS)
    p = f"{path}.params.state"
    _int(state["frame_start"], p, 0, 2**31 - 1, "frame_start")
    _int(state["seed"], p, *SEED_RANGE, "seed")
    settings = _obj(state["settings"], f"{p}.settings", _SETTINGS_KEYS)
    q = f"{p}.settings"
    steps = _int(settings["steps"], q, 1, limits.MAX_STEPS, "steps")
    _str(settings["sampler"], q, "sampler", 64, empty=False)
    _num(settings["guidance"], q, -100.0, 100.0, "guidance")
    gi = settings["guidance_interval"]
    if type(gi) is not list or len(gi) != 2:
        _fail(q, "guidance_interval must be [low, high]")
    lo, hi = (_num(x, q, 0.0, 1.0, "guidance interval end") for x in gi)
    if lo > hi:
        _fail(q, f"guidance_interval [{lo}, {hi}] is reversed")
    _num(settings["shift"], q, 1e-3, 1e3, "shift")
    _int(settings["seed"], q, *SEED_RANGE, "seed")
    if settings["record_steps"] is not None:
        for x in _count(_list(settings["record_steps"], f"{q}.record_steps"), f"{q}.record_steps", "steps",
                        steps + 1):
            _int(x, f"{q}.record_steps", 0, steps, "recorded step")
    recorded = _count(_list(state["steps_recorded"], f"{p}.steps_recorded"), f"{p}.steps_recorded", "steps",
                      steps + 1)
    for x in recorded:
        _int(x, f"{p}.steps_recorded", 0, steps, "recorded step")
    if len(set(recorded)) != len(recorded):
        _fail(f"{p}.steps_recorded", "a step is listed twice")
    listed = set(take.tensors)
    for name in render_take_tensors(take).values():
        if name not in listed:
            _fail(f"{path}.tensors", f"the render's tensor {name!r} is not listed")


def render_take_tensor_problem(take: Take, tensors: dict[str, np.ndarray]) -> str | None:
    """What is wrong with the tensors of a render take (checked by ``check_render_take``), or None: each must be
    present and floating point, ``latent`` (T, D), ``schedule`` (S,) with 1 <= S <= steps + 1 and times in 0..1,
    every recorded step below S, ``x/k`` and ``denoised/k`` shaped like the latent."""
    names = render_take_tensors(take)
    for role, name in names.items():
        a = tensors.get(name)
        if a is None:
            return f"its {role} tensor {name!r} is missing"
        if a.dtype.kind != "f":
            return f"its {role} tensor {name!r} holds {a.dtype}, not floating point numbers"
    latent, schedule = tensors[names["latent"]], tensors[names["schedule"]]
    if latent.ndim != 2 or 0 in latent.shape:
        return f"its latent has shape {latent.shape}, not (frames, channels)"
    steps = take.params["state"]["settings"]["steps"]
    if schedule.ndim != 1 or not 1 <= schedule.shape[0] <= steps + 1:
        return f"its schedule has shape {schedule.shape}, not ({steps + 1},) or shorter"
    if schedule.size and not (float(schedule.min()) >= 0.0 and float(schedule.max()) <= 1.0):
        return "its schedule holds times outside 0..1"
    for k in take.params["state"]["steps_recorded"]:
        if k >= schedule.shape[0]:
            return f"it records step {k}, past the end of its {schedule.shape[0]}-step schedule"
        for role in (f"x/{k}", f"denoised/{k}"):
            if tensors[names[role]].shape != latent.shape:
                return f"its {role} tensor has shape {tensors[names[role]].shape}, not the latent's {latent.shape}"
    return None


# --- dict -> Song ---------------------------------------------------------------------------------
def check_schema(d: Any) -> None:
    """Check that ``d`` is a Melodex project document of a schema this version can read."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ProjectError("project.json is not a Melodex project document")
    schema = d.get("schema")
    if type(schema) is not int or schema < 1:
        raise ProjectError(f"project.json has an invalid schema version {schema!r}")
    if schema > SCHEMA_VERSION:
        raise ProjectError(
            f"This project was saved by a newer version of Melodex Studio (schema {schema}); this version "
            f"reads schema {SCHEMA_VERSION} and older. Update Melodex Studio to open it.")


def _tempo_map(v: Any) -> TempoMap:
    items = _count(_list(v, "tempo_map"), "tempo_map", "tempo changes", limits.MAX_TEMPO_CHANGES)
    if not items:
        _fail("tempo_map", "the tempo map is empty")
    last = -1
    for i, c in enumerate(items):
        p = f"tempo_map[{i}]"
        if type(c) is not list or len(c) != 2:
            _fail(p, "a tempo change must be [tick, bpm]")
        tick = _int(c[0], p, 0, MAX_TICK, "tick")
        _num(c[1], p, *BPM_RANGE, "tempo (BPM)")
        if (i == 0 and tick != 0) or tick <= last:
            _fail(p, "tempo changes must start at tick 0 and be in increasing order")
        last = tick
    return TempoMap.from_list(items)


def _meter_map(v: Any) -> MeterMap:
    items = _count(_list(v, "meter_map"), "meter_map", "meter changes", limits.MAX_METER_CHANGES)
    if not items:
        _fail("meter_map", "the meter map is empty")
    last = -1
    for i, c in enumerate(items):
        p = f"meter_map[{i}]"
        if type(c) is not list or len(c) != 3:
            _fail(p, "a meter change must be [bar, numerator, denominator]")
        bar = _int(c[0], p, 0, MAX_BAR, "bar")
        _int(c[1], p, 1, 32, "meter numerator")
        if type(c[2]) is not int or c[2] not in METER_DENOMINATORS:
            _fail(p, f"meter denominator {c[2]!r} is not one of {', '.join(map(str, METER_DENOMINATORS))}")
        if (i == 0 and bar != 0) or bar <= last:
            _fail(p, "meter changes must start at bar 0 and be in increasing order")
        last = bar
    return MeterMap.from_list(items)


def _key(v: Any, path: str = "key", keys: set[str] = _KEY_KEYS) -> Key:
    d = _obj(v, path, keys)
    tonic = _int(d["tonic"], path, 0, 11, "tonic")
    if d["mode"] not in ("major", "minor"):
        _fail(path, f"mode {d['mode']!r} is not 'major' or 'minor'")
    spelling = d["spelling"]
    if spelling is not None:
        _str(spelling, path, "spelling", 8, empty=False)
        try:
            parsed = Key.parse(spelling)
        except ValueError:
            _fail(path, f"spelling {spelling!r} is not a note name")
        if parsed.tonic != tonic or spelling != parsed.spelling:
            _fail(path, f"spelling {spelling!r} does not name tonic {tonic}")
    return Key(tonic, d["mode"], spelling)


def _key_changes(v: Any) -> tuple[KeyChange, ...]:
    items = _count(_list(v, "key_changes"), "key_changes", "key changes", limits.MAX_KEY_CHANGES)
    out, last = [], 0
    for i, c in enumerate(items):
        p = f"key_changes[{i}]"
        key = _key(c, p, _KEY_CHANGE_KEYS)
        tick = _int(c["tick"], p, 1, MAX_TICK, "tick")
        if tick <= last:
            _fail(p, "key changes must come after tick 0 in increasing order")
        last = tick
        out.append(KeyChange(tick, key))
    return tuple(out)


def _controls(v: Any, path: str) -> tuple[Control, ...]:
    """A track's controller lanes: [[tick, kind, value], ...] in tick order (see the module docstring)."""
    items = _count(_list(v, path), path, "controller events", limits.MAX_CONTROLS_PER_TRACK)
    out, last = [], 0
    for i, c in enumerate(items):
        q = f"{path}[{i}]"
        if type(c) is not list or len(c) != 3:
            _fail(q, "a controller event must be [tick, kind, value]")
        tick = _int(c[0], q, 0, MAX_TICK, "tick")
        if tick < last:
            _fail(q, "controller events must be in tick order")
        last = tick
        kind = c[1]
        if type(kind) is not int or kind not in CONTROL_KINDS:
            _fail(q, f"controller kind {kind!r} is not a control change 0..{MAX_CONTROLLER}, "
                     f"pitch bend ({PITCH_BEND}) or a program change ({PROGRAM})")
        lo, hi = (-8192, 8191) if kind == PITCH_BEND else (0, 127)
        out.append(Control(tick, kind, _int(c[2], q, lo, hi, "pitch bend" if kind == PITCH_BEND else "value")))
    return tuple(out)


def _lyrics(v: Any, path: str) -> tuple[Lyric, ...]:
    items = _count(_list(v, path), path, "lyrics", limits.MAX_LYRICS)
    out, last = [], 0
    for i, ly in enumerate(items):
        q = f"{path}[{i}]"
        if type(ly) is not list or len(ly) != 2:
            _fail(q, "a lyric must be [tick, text]")
        tick = _int(ly[0], q, 0, MAX_TICK, "tick")
        if tick < last:
            _fail(q, "lyrics must be in tick order")
        last = tick
        out.append(Lyric(tick, _str(ly[1], q, "lyric", 1_000)))
    return tuple(out)


def song_from_dict(d: Any) -> Song:
    """Validate a project document (see the module docstring) and build its ``Song``.

    Raises ``ProjectError`` with the path of the first problem found: wrong types, out-of-range
    values, duplicate ids, takes or active takes that refer to unknown sections/tracks/takes, render takes
    without their state, sizes or a length beyond ``song.limits``, or a schema newer than ``SCHEMA_VERSION``.
    """
    check_schema(d)
    _obj(d, "project", _SONG_KEYS, _SONG_OPTIONAL)
    if "app_version" in d:
        _str(d["app_version"], "app_version", "app version", max_len=MAX_ID)
    title = _str(d["title"], "title", "title")
    sample_rate = _int(d["sample_rate"], "sample_rate", *SAMPLE_RATE_RANGE, "sample rate (Hz)")
    song = Song(title, _tempo_map(d["tempo_map"]), _meter_map(d["meter_map"]), _key(d["key"]), sample_rate)
    song.key_changes = _key_changes(d.get("key_changes", []))

    for i, s in enumerate(_count(_list(d["sections"], "sections"), "sections", "sections", limits.MAX_SECTIONS)):
        p = f"sections[{i}]"
        _obj(s, p, _SECTION_KEYS)
        start = _int(s["start_bar"], p, 0, MAX_BAR - 1, "start bar")
        song.sections.append(Section(
            _str(s["label"], p, "label"), start, _int(s["length_bars"], p, 1, MAX_BAR - start, "length (bars)"),
            _free(s["overrides"], f"{p}.overrides"), _id(s["id"], p)))
    _unique([s.id for s in song.sections], "sections", "section")

    n_notes = n_controls = n_lyrics = 0
    for i, t in enumerate(_count(_list(d["tracks"], "tracks"), "tracks", "tracks", limits.MAX_TRACKS)):
        p = f"tracks[{i}]"
        _obj(t, p, _TRACK_KEYS, _TRACK_OPTIONAL)
        if isinstance(t["notes"], list):
            _count(t["notes"], f"{p}.notes", "notes", limits.MAX_NOTES_PER_TRACK)
            n_notes += len(t["notes"])
            _total(n_notes, "tracks", "notes", limits.MAX_NOTES)
        if t["role"] not in ROLES:
            _fail(p, f"unknown track role {t['role']!r}; expected one of {', '.join(ROLES)}")
        song.tracks.append(Track(
            _str(t["name"], p, "name"), t["role"], _int(t["program"], p, 0, 127, "GM program"),
            _bool(t["is_drum"], p, "is_drum"), _num(t["gain_db"], p, *GAIN_DB_RANGE, "gain (dB)"),
            _num(t["pan"], p, *PAN_RANGE, "pan"), _bool(t["mute"], p, "mute"), _bool(t["solo"], p, "solo"),
            _notes(t["notes"], f"{p}.notes"), _id(t["id"], p),
            _controls(t.get("controls", []), f"{p}.controls"), _lyrics(t.get("lyrics", []), f"{p}.lyrics")))
        n_controls += len(song.tracks[-1].controls)
        _total(n_controls, "tracks", "controller events", limits.MAX_CONTROLS)
        n_lyrics += len(song.tracks[-1].lyrics)
        _total(n_lyrics, "tracks", "lyric events", limits.MAX_LYRICS)
    _unique([t.id for t in song.tracks], "tracks", "track")
    track_ids = {t.id for t in song.tracks}
    section_ids = {s.id for s in song.sections}

    for i, c in enumerate(_count(_list(d["chords"], "chords"), "chords", "chords", limits.MAX_CHORDS)):
        p = f"chords[{i}]"
        _obj(c, p, _CHORD_KEYS)
        bass = c["bass"]
        song.chords.append(Chord(
            _int(c["start_tick"], p, 0, MAX_TICK, "start tick"), _int(c["duration_ticks"], p, 1, MAX_TICK, "duration (ticks)"),
            _int(c["root"], p, 0, 11, "root"), _str(c["quality"], p, "quality", 32, empty=False),
            None if bass is None else _int(bass, p, 0, 11, "bass")))

    n_notes = 0
    for i, t in enumerate(_count(_list(d["takes"], "takes"), "takes", "takes", limits.MAX_TAKES)):
        p = f"takes[{i}]"
        _obj(t, p, _TAKE_KEYS)
        section_id = _str(t["section_id"], p, "section id", MAX_ID)
        if section_id not in section_ids:
            _fail(p, f"refers to section {section_id!r}, which is not in the song")
        track_id = t["track_id"]
        if track_id is not None and (type(track_id) is not str or track_id not in track_ids):
            _fail(p, f"refers to track {track_id!r}, which is not in the song")
        if not isinstance(t["notes"], dict):
            _fail(f"{p}.notes", f"expected an object of track id -> notes, found {_kind(t['notes'])}")
        notes = {}
        for tid, ns in t["notes"].items():
            if tid not in track_ids:
                _fail(f"{p}.notes", f"has notes for track {tid!r}, which is not in the song")
            if isinstance(ns, list):
                n_notes += len(ns)
                _total(n_notes, "takes", "notes in takes", limits.MAX_TAKE_NOTES)
            notes[tid] = _notes(ns, f"{p}.notes[{tid!r}]")
        seed = t["seed"]
        if seed is not None:
            _int(seed, p, *SEED_RANGE, "seed")
        tensors = _list(t["tensors"], f"{p}.tensors")
        for j, name in enumerate(tensors):
            _str(name, f"{p}.tensors[{j}]", "tensor name", 1024, empty=False)
        take = Take(section_id, track_id, notes, seed, _free(t["params"], f"{p}.params"), list(tensors),
                    _str(t["created"], p, "created"), _id(t["id"], p))
        if is_render_take(take):
            check_render_take(take, p)
        song.takes.append(take)
    _unique([t.id for t in song.takes], "takes", "take")

    takes = {t.id: t for t in song.takes}
    active = d["active_takes"]
    if not isinstance(active, dict):
        _fail("active_takes", f"expected an object, found {_kind(active)}")
    for k, take_id in active.items():
        p = f"active_takes[{k!r}]"
        sec, sep, trk = k.removeprefix(RENDER_CHOICE).partition("/")  # "render:..." = the render take chosen
        take = takes.get(take_id) if type(take_id) is str else None
        if take is None:
            _fail(p, f"refers to take {take_id!r}, which is not in the project")
        if not sep or sec != take.section_id or trk != (take.track_id or "*"):
            _fail(p, f"does not match take {take_id!r} (section {take.section_id!r}, track {take.track_id or '*'!r})")
        song.active_takes[k] = take_id

    song.plan = _free(d["plan"], "plan")
    song.generation = _free(d["generation"], "generation")
    _check_length(song)
    return song


def _check_length(song: Song) -> None:
    """The song's sections, notes (takes' too), controller events, lyrics, key changes and chords end within
    ``limits.MAX_SONG_SECONDS``."""
    end_tick = max([n.end_tick for t in song.tracks for n in t.notes]
                   + [t.controls[-1].start_tick for t in song.tracks if t.controls]
                   + [t.lyrics[-1].start_tick for t in song.tracks if t.lyrics]
                   + [c.start_tick for c in song.key_changes[-1:]]
                   + [n.end_tick for tk in song.takes for ns in tk.notes.values() for n in ns]
                   + [c.start_tick + c.duration_ticks for c in song.chords] + [0])
    end_bar = max([s.end_bar for s in song.sections] + [0])
    problem = limits.length_problem(song.tempo_map, song.meter_map, end_tick, end_bar)
    if problem:
        raise ProjectError(f"the song is too long: {problem}")
