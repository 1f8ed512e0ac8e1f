"""Tests for .melodex project files: round trip, determinism, atomic save, and refusal of bad files."""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from safetensors.numpy import save as st_save

from melodex_studio.errors import ProjectError
from melodex_studio.io import project as projmod
from melodex_studio.io.project import (
    SCHEMA_VERSION, AudioCache, CachedStem, Project, load_project, read_project, save_project, song_from_dict,
    song_to_dict,
)
from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan
from melodex_studio.song import (
    Chord, Key, MeterChange, MeterMap, Note, Section, Song, Take, TempoChange, TempoMap, Track,
)

SR = 44100


def rich_song() -> Song:
    """Tempo change, 4/4 -> 6/8, key with a sharp spelling, overrides, drums, chords, two takes, plan."""
    song = Song("Night Drive", TempoMap([TempoChange(0, 120.0), TempoChange(16 * 480, 90.5)]),
                MeterMap([MeterChange(0, 4, 4), MeterChange(8, 6, 8)]), Key.parse("F# minor"), SR)
    # explicit section ids: Song.section() reads an all-digit id (a random uuid prefix can be one) as an index
    intro = song.add_section(Section("intro", 0, 4, {"energy": 0.3, "instruments": ["piano", "pad"]}, id="s-intro"))
    song.add_section(Section("verse", 4, 4, id="s-verse"))
    chorus = song.add_section(Section("chorus", 8, 8, {"tempo_bpm": 90.5, "style_text": "brighter"}, id="s-chorus"))
    drums = song.add_track(Track("Drums", "drums", 25, True, notes=[Note(i * 240, 36 + (i % 3) * 2, 60, 100) for i in range(64)]))
    bass = song.add_track(Track("Bass", "bass", 33, gain_db=-3.5, pan=-0.25,
                                notes=[Note(i * 480, 30 + i % 5, 470, 96) for i in range(32)]))
    piano = song.add_track(Track("Piano", "chords", 0, notes=[Note(i * 480, 54 + (i % 3) * 3, 480, 80) for i in range(20)]))
    lead = song.add_track(Track("Lead", "melody", 73, mute=True, notes=[Note(960, 66, 240, 110), Note(1200, 69, 720, 90)]))
    song.add_track(Track("Pad", "pad", 89, gain_db=-8.0, solo=True))
    song.chords = [Chord(0, 1920, 6, "min"), Chord(1920, 1920, 2, "maj7", bass=9), Chord(3840, 960, 4, "sus4")]
    start, _ = song.section_ticks(chorus)
    song.add_take(Take(chorus.id, lead.id, {lead.id: [Note(start, 73, 480, 100), Note(start + 480, 71, 240, 90)]},
                       seed=2**40 + 7, params={"temperature": 0.9, "top_k": 40, "steps": [10, 20]},
                       tensors=["tokens/chorus", "latent/chorus/lead/step10"], created="2025-03-01T12:00:00Z"))
    song.add_take(Take(intro.id, None, {bass.id: [Note(0, 30, 1920, 90)], piano.id: []}, seed=None,
                       created="2025-03-01T12:01:00Z"), activate=False)
    plan = StylePlan(tempo_bpm=120.0, meter=(4, 4), key=Key.parse("F# minor"),
                     form=[SectionPlan("intro", 4, energy=0.3), SectionPlan("verse", 4), SectionPlan("chorus", 8, key="A major")],
                     instruments=[InstrumentPlan("drums", 0, "drums", True, True), InstrumentPlan("fretless bass", 35, "bass")],
                     stated={"tempo_bpm", "key"}, energy=[0.3, 0.5, 0.9])
    song.plan = plan.to_dict()
    song.generation = {"prompt": "moody synthwave in F# minor, 120 BPM", "seed": 1234,
                       "models": {"structure": "sha256:ab12", "renderer": "sha256:cd34"}, "timings_s": {"structure": 0.42}}
    assert drums.is_drum
    return song


def rich_state(song: Song) -> tuple[dict, dict]:
    rng = np.random.default_rng(0)
    tensors = {
        "tokens/chorus": rng.integers(0, 4096, 300, dtype=np.int64),
        "latent/chorus/lead/step10": rng.standard_normal((1, 64, 86), dtype=np.float32),  # (B, D, frames)
        "noise/chorus/lead": rng.standard_normal((64, 86)).astype(np.float16),
        "mask": np.array([True, False, True]),
    }
    t = np.arange(SR // 2) / SR
    lead = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)], axis=1).astype(np.float32)
    bass = (0.7 * np.sin(2 * np.pi * 55 * t))[:, None].astype(np.float32)
    return tensors, {song.track("Lead").id: lead, song.track("Bass").id: bass}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, Song, dict, dict]:
    song = rich_song()
    tensors, audio = rich_state(song)
    path = tmp_path / "night drive.melodex"
    save_project(path, song, tensors, audio)
    return path, song, tensors, audio


# --- round trip ------------------------------------------------------------------------------------
def test_round_trip_keeps_every_field(saved):
    path, song, tensors, audio = saved
    proj = read_project(path)
    s = proj.song
    assert isinstance(proj, Project)
    assert s.title == "Night Drive" and s.sample_rate == SR
    assert [(c.tick, c.bpm) for c in s.tempo_map.changes] == [(0, 120.0), (7680, 90.5)]
    assert [(c.bar, c.numerator, c.denominator) for c in s.meter_map.changes] == [(0, 4, 4), (8, 6, 8)]
    assert s.bar_to_tick(10) == 8 * 1920 + 2 * 1440
    assert (s.key.tonic, s.key.mode, s.key.name) == (6, "minor", "F# minor")
    assert [(x.id, x.label, x.start_bar, x.length_bars, x.overrides) for x in s.sections] == \
        [(x.id, x.label, x.start_bar, x.length_bars, x.overrides) for x in song.sections]
    assert s.sections[0].overrides == {"energy": 0.3, "instruments": ["piano", "pad"]}
    for a, b in zip(s.tracks, song.tracks):
        assert (a.id, a.name, a.role, a.program, a.is_drum, a.gain_db, a.pan, a.mute, a.solo, a.notes) == \
            (b.id, b.name, b.role, b.program, b.is_drum, b.gain_db, b.pan, b.mute, b.solo, b.notes)
    assert s.tracks[0].is_drum and s.tracks[0].program == 25 and len(s.tracks[0].notes) == 64
    assert s.track("Bass").gain_db == -3.5 and s.track("Bass").pan == -0.25
    assert s.chords == song.chords and s.chords[1].bass == 9
    assert [(t.id, t.section_id, t.track_id, t.notes, t.seed, t.params, t.tensors, t.created) for t in s.takes] == \
        [(t.id, t.section_id, t.track_id, t.notes, t.seed, t.params, t.tensors, t.created) for t in song.takes]
    assert s.takes[0].seed == 2**40 + 7 and s.takes[1].track_id is None
    assert s.active_takes == song.active_takes and len(s.active_takes) == 1
    assert s.plan == song.plan and StylePlan.from_dict(s.plan).form[2].key == "A major"
    assert s.generation == song.generation
    assert song_to_dict(s) == song_to_dict(song)
    assert sorted(proj.tensors) == sorted(tensors)
    for k, v in tensors.items():
        assert proj.tensors[k].dtype == v.dtype and proj.tensors[k].shape == v.shape
        np.testing.assert_array_equal(proj.tensors[k], v)
    assert isinstance(proj.audio, AudioCache) and sorted(proj.audio) == sorted(audio)
    for k, v in audio.items():
        got = proj.audio[k]
        assert got.dtype == np.float32 and got.shape == v.shape and not got.flags.writeable
        assert np.max(np.abs(got - v)) <= 2.0**-24  # 24-bit PCM cache: half a step of rounding
    assert load_project(path).tracks[1].notes == song.tracks[1].notes


def test_save_load_save_is_byte_identical(saved, tmp_path):
    path, *_ = saved
    proj = read_project(path)
    again = tmp_path / "again.melodex"
    save_project(again, proj.song, proj.tensors, proj.audio)  # stems copied as stored
    assert again.read_bytes() == path.read_bytes()
    decoded = tmp_path / "decoded.melodex"
    save_project(decoded, proj.song, proj.tensors, {k: np.array(v) for k, v in proj.audio.items()})  # re-encoded
    assert decoded.read_bytes() == path.read_bytes()
    with zipfile.ZipFile(again) as zf:
        names = zf.namelist()
        assert names[:2] == ["project.json", "state.safetensors"]
        assert names[2:] == sorted(names[2:]) and all(n.startswith("audio/") and n.endswith(".flac") for n in names[2:])
        assert {zi.date_time for zi in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        raw = zf.read("project.json")
        with sf.SoundFile(io.BytesIO(zf.read(names[2]))) as f:
            assert (f.format, f.subtype, f.samplerate) == ("FLAC", "PCM_24", SR)
    doc = json.loads(raw)
    assert doc["schema"] == SCHEMA_VERSION
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert doc["tracks"][1]["notes"][0] == [0, 30, 470, 96]  # compact [start_tick, pitch, duration_ticks, velocity]


def test_song_to_dict_refuses_values_json_cannot_hold():
    song = rich_song()
    song.takes[0].params["bad"] = {"x": {1, 2}}
    with pytest.raises(ProjectError, match=r"takes\[0\]\.params\.bad\.x: a value of type set cannot be stored"):
        song_to_dict(song)
    song.takes[0].params = {"nan": float("nan")}
    with pytest.raises(ProjectError, match=r"takes\[0\]\.params\.nan: nan is not a finite number"):
        song_to_dict(song)
    song.takes[0].params = {"n": np.int64(3), "f": np.float32(0.5)}  # numpy scalars become numbers
    assert song_to_dict(song)["takes"][0]["params"] == {"n": 3, "f": 0.5}


# --- atomic save -----------------------------------------------------------------------------------
def test_second_save_keeps_previous_file_as_bak(saved):
    path, song, tensors, audio = saved
    first = path.read_bytes()
    song.title = "Night Drive (v2)"
    save_project(path, song, tensors)
    bak = path.with_name(path.name + ".bak")
    assert bak.read_bytes() == first
    assert load_project(path).title == "Night Drive (v2)" and read_project(path).audio == {}
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, bak.name]  # no temporary files left


def test_failure_mid_save_leaves_original_intact(saved):
    path, song, tensors, audio = saved
    before, bak = sha(path), path.with_name(path.name + ".bak")
    bad = dict(audio)
    bad["zz_last"] = np.full((SR // 4, 2), np.nan, dtype=np.float32)  # encoded last, after json + state are written
    song.title = "changed"
    with pytest.raises(ProjectError, match="stem 'zz_last' contains NaN or infinite samples"):
        save_project(path, song, tensors, bad)
    assert sha(path) == before and not bak.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert load_project(path).title == "Night Drive"


def test_unserialisable_tensor_or_stem_is_refused_before_anything_changes(saved):
    path, song, tensors, audio = saved
    before = sha(path)
    with pytest.raises(ProjectError, match="tensor 'obj' has unsupported type object"):
        save_project(path, song, {**tensors, "obj": np.array([object()])})
    with pytest.raises(ProjectError, match="tensor 'lat' contains NaN"):
        save_project(path, song, {**tensors, "lat": np.array([1.0, np.inf], np.float32)})
    with pytest.raises(ProjectError, match=r"stem 'x' must be float32 audio of shape \(frames, 1 or 2 channels\)"):
        save_project(path, song, tensors, {"x": np.zeros((100, 3), np.float32)})
    with pytest.raises(ProjectError, match="stem name '../evil' is not valid"):
        save_project(path, song, tensors, {"../evil": np.zeros((100, 2), np.float32)})
    assert sha(path) == before and sorted(p.name for p in path.parent.iterdir()) == [path.name]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_gives_project_error(saved):
    path, song, tensors, _ = saved
    before = sha(path)
    os.chmod(path.parent, 0o555)
    try:
        with pytest.raises(ProjectError, match="Cannot save"):
            save_project(path, song, tensors)
    finally:
        os.chmod(path.parent, 0o755)
    assert sha(path) == before


def test_missing_folder_or_folder_in_the_way_gives_project_error(tmp_path):
    song = rich_song()
    tensors, _ = rich_state(song)
    with pytest.raises(ProjectError, match=r"Cannot save 'x\.melodex': the folder '.*nope' does not exist"):
        save_project(tmp_path / "nope" / "x.melodex", song, tensors)
    (tmp_path / "y.melodex").mkdir()
    with pytest.raises(ProjectError, match=r"Cannot save 'y\.melodex': a folder of that name is in the way"):
        save_project(tmp_path / "y.melodex", song, tensors)
    assert [p.name for p in tmp_path.iterdir()] == ["y.melodex"] and not any((tmp_path / "y.melodex").iterdir())


def test_inconsistent_song_is_refused_on_save(tmp_path):
    song = rich_song()
    song.tracks[1].gain_db = float("nan")  # Track does not check its gain; the file must
    with pytest.raises(ProjectError, match=r"Cannot save 'x\.melodex': .*tracks\[1\]: gain \(dB\) nan is out of range"):
        save_project(tmp_path / "x.melodex", song)
    song.tracks[1].gain_db = 0.0
    song.title = "bad \ud800 text"
    with pytest.raises(ProjectError, match=r"a value a project file cannot store"):
        save_project(tmp_path / "x.melodex", song)
    song = rich_song()
    song.tracks.remove(song.track("Lead"))  # its take still points at it
    with pytest.raises(ProjectError, match=r"Cannot save .* takes\[0\]: refers to track '\w+', which is not in the song"):
        save_project(tmp_path / "x.melodex", song)
    assert list(tmp_path.iterdir()) == []


# --- refusing bad files ----------------------------------------------------------------------------
def repack(src: Path, dst: Path, replace: dict | None = None, add: list | None = None, compress=None) -> None:
    """Copy the zip ``src`` to ``dst``, replacing (bytes) or dropping (None) members and adding others."""
    replace, add = replace or {}, add or []
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for zi in zin.infolist():
            data = replace.get(zi.filename, zin.read(zi.filename))
            if data is not None:
                zout.writestr(zi.filename, data, compress_type=compress or zi.compress_type)
        for name, data in add:
            zout.writestr(name, data)


def member_span(path: Path, member: str) -> tuple[int, int]:
    """(offset, size) of ``member``'s stored bytes in the zip ``path``."""
    with zipfile.ZipFile(path) as zf:
        zi = zf.getinfo(member)
    data = path.read_bytes()
    name_len, extra_len = (int.from_bytes(data[zi.header_offset + i:zi.header_offset + i + 2], "little") for i in (26, 28))
    return zi.header_offset + 30 + name_len + extra_len, zi.compress_size


def flip_member_byte(src: Path, dst: Path, member: str, where: float = 0.5) -> None:
    """Copy ``src`` to ``dst`` with one byte of ``member``'s data flipped (its CRC-32 no longer matches)."""
    data = bytearray(src.read_bytes())
    start, size = member_span(src, member)
    data[start + int(size * where)] ^= 0x5A
    dst.write_bytes(bytes(data))


def edit_json(src: Path, dst: Path, edit) -> None:
    with zipfile.ZipFile(src) as zf:
        doc = json.loads(zf.read("project.json"))
    edit(doc)
    repack(src, dst, {"project.json": json.dumps(doc).encode()})


def set_declared_size(path: Path, member: str, size: int) -> None:
    """Overwrite the uncompressed size that the central directory declares for ``member``."""
    data = bytearray(path.read_bytes())
    i = 0
    while True:
        i = data.index(b"PK\x01\x02", i)
        n = int.from_bytes(data[i + 28:i + 30], "little")
        if data[i + 46:i + 46 + n] == member.encode():
            data[i + 24:i + 28] = size.to_bytes(4, "little")
            break
        i += 4
    path.write_bytes(bytes(data))


def _note(track: int, index: int, field: int, value):
    def edit(d):
        d["tracks"][track]["notes"][index][field] = value
    return edit


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def edit(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return edit


JSON_CORRUPTIONS = {
    "pitch": (_note(2, 15, 1, 130), r"tracks\[2\]\.notes\[15\]: pitch 130 is out of range 0\.\.127"),
    "velocity": (_note(1, 3, 3, 0), r"tracks\[1\]\.notes\[3\]: velocity 0 is out of range 1\.\.127"),
    "duration": (_note(0, 0, 2, 0), r"tracks\[0\]\.notes\[0\]: duration \(ticks\) 0 is out of range"),
    "negative tick": (_note(0, 5, 0, -10), r"tracks\[0\]\.notes\[5\]: start tick -10 is out of range"),
    "pitch as text": (_note(0, 1, 1, "60"), r"tracks\[0\]\.notes\[1\]: pitch must be a whole number, found text"),
    "bpm": (_set("tempo_map", 1, 1, 0), r"tempo_map\[1\]: tempo \(BPM\) 0 is out of range 1\.\.1000"),
    "meter": (_set("meter_map", 1, 2, 3), r"meter_map\[1\]: meter denominator 3 is not one of 1, 2, 4, 8"),
    "role": (_set("tracks", 3, "role", "kazoo"), r"tracks\[3\]: unknown track role 'kazoo'"),
    "program": (_set("tracks", 1, "program", 200), r"tracks\[1\]: GM program 200 is out of range 0\.\.127"),
    "pan": (_set("tracks", 1, "pan", 2.5), r"tracks\[1\]: pan 2\.5 is out of range -1\.\.1"),
    "mute type": (_set("tracks", 1, "mute", 1), r"tracks\[1\]: mute must be true or false, found a whole number"),
    "duplicate id": (lambda d: d["tracks"][1].update(id=d["tracks"][0]["id"]), r"tracks\[1\]: track id '\w+' is used twice"),
    "take section": (_set("takes", 0, "section_id", "gone"), r"takes\[0\]: refers to section 'gone', which is not in the song"),
    "take track": (_set("takes", 0, "track_id", "gone"), r"takes\[0\]: refers to track 'gone', which is not in the song"),
    "active take": (lambda d: d["active_takes"].update({k: "nope" for k in d["active_takes"]}), r"refers to take 'nope'"),
    "section length": (_set("sections", 1, "length_bars", 0), r"sections\[1\]: length \(bars\) 0 is out of range"),
    "unknown field": (_set("tracks", 0, "volume", 3), r"tracks\[0\]: unexpected field 'volume'"),
    "missing field": (lambda d: d["sections"][0].pop("label"), r"sections\[0\]: missing field 'label'"),
    "key spelling": (_set("key", "spelling", "G"), r"key: spelling 'G' does not name tonic 6"),
    "newer schema": (_set("schema", 2), r"This project was saved by a newer version of Melodex Studio \(schema 2\); "
                                       r"this version reads schema 1 and older"),
    "not a project": (lambda d: d.pop("format"), r"project\.json is not a Melodex project document"),
    "take tensor": (_set("takes", 0, "tensors", ["tokens/missing"]), r"takes\[0\] lists tensor 'tokens/missing', which is not"),
}


@pytest.mark.parametrize("case", sorted(JSON_CORRUPTIONS))
def test_bad_document_values_are_refused_with_their_place(saved, tmp_path, case):
    path, *_ = saved
    edit, message = JSON_CORRUPTIONS[case]
    bad = tmp_path / "bad.melodex"
    edit_json(path, bad, edit)
    before = sha(bad)
    with pytest.raises(ProjectError, match=message) as err:
        read_project(bad)
    assert str(err.value).startswith("Cannot open 'bad.melodex'")
    assert sha(bad) == before


def _stem_flac(data: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="FLAC", subtype="PCM_24")
    return buf.getvalue()


def _archive_corruptions(path: Path, dst: Path) -> dict:
    """name -> (function making ``dst`` from ``path``, expected message regex)."""
    with zipfile.ZipFile(path) as zf:
        stem = [n for n in zf.namelist() if n.startswith("audio/")][0]
        raw_json = zf.read("project.json")
    nan_state = st_save({"tokens/chorus": np.zeros(3, np.int64), "latent/chorus/lead/step10": np.array([np.nan], np.float32)})
    return {
        "not a zip": (lambda: dst.write_text("hello, I am a text file"), r"not a Melodex project \(not a zip archive\)"),
        "truncated": (lambda: dst.write_bytes(path.read_bytes()[: path.stat().st_size // 2]), r"or it is truncated"),
        "missing state": (lambda: repack(path, dst, {"state.safetensors": None}), r"'state\.safetensors' is missing"),
        "missing json": (lambda: repack(path, dst, {"project.json": None}), r"'project\.json' is missing"),
        "extra member": (lambda: repack(path, dst, add=[("notes.txt", b"hi")]), r"unexpected file 'notes\.txt'"),
        "traversal": (lambda: repack(path, dst, add=[("../evil.flac", b"x")]), r"unsafe name '\.\./evil\.flac'"),
        "absolute": (lambda: repack(path, dst, add=[("/etc/evil", b"x")]), r"unsafe name '/etc/evil'"),
        "backslash": (lambda: repack(path, dst, add=[("audio\\evil.flac", b"x")]), r"unsafe name"),
        "duplicate": (lambda: repack(path, dst, add=[("project.json", raw_json)]), r"contains 'project\.json' twice"),
        "huge json": (lambda: (repack(path, dst), set_declared_size(dst, "project.json", 100 * 2**20)),
                      r"'project\.json' declares 100 MB; the limit is 64 MB"),
        "zip bomb": (lambda: repack(path, dst, {"state.safetensors": bytes(30 * 2**20)}, compress=zipfile.ZIP_DEFLATED),
                     r"'state\.safetensors' is compressed \d+:1, more than any real project \(a zip bomb\?\)"),
        "bad json": (lambda: repack(path, dst, {"project.json": raw_json[:-10]}), r"'project\.json' is not valid JSON"),
        "NaN in json": (lambda: repack(path, dst, {"project.json": raw_json.replace(b'"energy":0.3', b'"energy":NaN')}),
                        r"'project\.json' is not valid JSON \(NaN is not a number a project may hold"),
        "state garbage": (lambda: repack(path, dst, {"state.safetensors": b"\x10" + bytes(20)}), r"'state\.safetensors' is damaged"),
        "NaN tensor": (lambda: repack(path, dst, {"state.safetensors": nan_state}),
                       r"tensor 'latent/chorus/lead/step10' contains NaN or infinite values"),
        "audio rate": (lambda: repack(path, dst, {stem: _stem_flac(np.zeros((100, 2)), 48000)}),
                       r"is at 48000 Hz but the song is at 44100 Hz"),
        "audio channels": (lambda: repack(path, dst, {stem: _stem_flac(np.zeros((100, 3)), SR)}), r"has 3 channels; stems have 1 or 2"),
        "audio garbage": (lambda: repack(path, dst, {stem: b"fLaC" + bytes(100)}), r"is not readable audio"),
        "crc": (lambda: flip_member_byte(path, dst, "state.safetensors"), r"the file is damaged \(Bad CRC-32"),
        "audio header crc": (lambda: dst.write_bytes(path.read_bytes().replace(b"fLaC", b"fLaD", 1)),
                             r"'audio/\w+\.flac' is not readable audio"),  # header read at load, before the CRC
        "audio too short": (lambda: repack(path, dst, {stem: b"fLaC" + bytes(20)}), r"'audio/\w+\.flac' is not readable audio"),
    }


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_damaged_or_hostile_archives_are_refused_without_touching_the_file(saved, tmp_path):
    path, *_ = saved
    dst = tmp_path / "bad.melodex"
    cases = _archive_corruptions(path, dst)
    assert len(cases) + len(JSON_CORRUPTIONS) >= 10
    for name, (make, message) in cases.items():
        if dst.exists():
            dst.unlink()
        make()
        before, mtime = sha(dst), dst.stat().st_mtime_ns
        with pytest.raises(ProjectError, match=message) as err:
            read_project(dst)
        assert str(err.value).startswith("Cannot open 'bad.melodex'"), name
        assert (sha(dst), dst.stat().st_mtime_ns) == (before, mtime), name
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, dst.name]), name


def test_overlong_stem_is_refused(saved, tmp_path, monkeypatch):
    path, song, tensors, audio = saved
    monkeypatch.setattr(projmod, "MAX_AUDIO_SECONDS", 0.25)  # a stem of 0.5 s is now "too long"
    with pytest.raises(ProjectError, match=r"audio/\w+\.flac' is longer than 0\.0041\d* minutes"):
        read_project(path)


def test_missing_file_and_folder_give_project_error(tmp_path):
    with pytest.raises(ProjectError, match="the file does not exist"):
        read_project(tmp_path / "none.melodex")
    with pytest.raises(ProjectError, match="it is a folder"):
        read_project(tmp_path)


def test_song_from_dict_alone_names_the_problem():
    doc = song_to_dict(rich_song())
    doc["chords"][1]["root"] = 12
    with pytest.raises(ProjectError, match=r"^chords\[1\]: root 12 is out of range 0\.\.11$"):
        song_from_dict(doc)
    doc = song_to_dict(rich_song())
    doc["takes"][0]["notes"] = {doc["tracks"][3]["id"]: [[0, 60, 10]]}
    with pytest.raises(ProjectError, match=r"takes\[0\]\.notes\['\w+'\]\[0\]: a note must be \[start_tick, pitch, duration_ticks, velocity\]"):
        song_from_dict(doc)
    assert song_to_dict(song_from_dict(song_to_dict(rich_song()))) is not None


def test_state_metadata_is_deterministic(saved):
    path, *_ = saved
    with zipfile.ZipFile(path) as zf:
        data = zf.read("state.safetensors")
    n = int.from_bytes(data[:8], "little")
    assert json.loads(data[8:8 + n])["__metadata__"] == {"melodex_schema": "1"}
    assert zlib.crc32(data) == zlib.crc32(st_save(read_project(path).tensors, metadata={"melodex_schema": "1"}))


def test_random_damage_gives_project_error_or_a_valid_project(saved, tmp_path):
    """Flip bytes and cut the file at seeded random places: never a traceback other than ProjectError."""
    path, song, *_ = saved
    data, bad, rng = path.read_bytes(), tmp_path / "bad.melodex", np.random.default_rng(5)
    refused = 0
    for i in range(120):
        d = bytearray(data)
        if i % 3 == 2:
            d = d[: int(rng.integers(0, len(d)))]
        else:
            tail = len(d) if i % 3 == 0 else 2000  # anywhere, or in the table of contents at the end
            for j in rng.integers(0, tail, 3):
                d[len(d) - 1 - int(j)] ^= 0x5A
        bad.write_bytes(bytes(d))
        try:
            proj = read_project(bad)
        except ProjectError as e:
            refused += 1
            assert str(e).startswith("Cannot open 'bad.melodex'")
            continue
        assert proj.song.title == song.title
        try:  # damage in a stem's audio data shows on first use
            proj.audio.decode_all()
        except ProjectError as e:
            refused += 1
            assert str(e).startswith("Cannot read the audio stem") and "'bad.melodex'" in str(e)
    assert refused >= 100


# --- lazy stems --------------------------------------------------------------------------------------
@pytest.fixture()
def coder_calls(monkeypatch) -> dict:
    """Counts the FLAC decodes and encodes that the project module makes (the real functions run)."""
    calls = {"decode": [], "encode": []}
    decode, encode = projmod._decode_flac, projmod._encode_flac

    def counting_decode(name, *a, **k):
        calls["decode"].append(name)
        return decode(name, *a, **k)

    def counting_encode(name, *a, **k):
        calls["encode"].append(name)
        return encode(name, *a, **k)

    monkeypatch.setattr(projmod, "_decode_flac", counting_decode)
    monkeypatch.setattr(projmod, "_encode_flac", counting_encode)
    return calls


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_load_decodes_no_stem_until_one_is_used(saved, coder_calls):
    path, song, tensors, audio = saved
    proj = read_project(path)
    lead, bass = song.track("Lead").id, song.track("Bass").id
    assert len(proj.audio) == 2 and lead in proj.audio and "nope" not in proj.audio and sorted(proj.audio) == sorted(audio)
    stems = proj.audio.stems()
    assert all(isinstance(s, CachedStem) and not s.decoded for s in stems.values())
    assert (stems[lead].frames, stems[lead].channels, stems[bass].channels) == (SR // 2, 2, 1)  # from the headers
    assert coder_calls["decode"] == []
    a = proj.audio[lead]
    assert proj.audio[lead] is a and coder_calls["decode"] == [lead]  # decoded once, then kept
    assert stems[lead].decoded and not stems[bass].decoded
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 1.0  # a cached stem is replaced, not edited in place
    proj.audio.decode_all()
    assert sorted(coder_calls["decode"]) == sorted([lead, bass])


def test_unchanged_stems_are_copied_byte_for_byte(saved, tmp_path, coder_calls):
    path, song, tensors, audio = saved
    proj = read_project(path)
    proj.audio[song.track("Lead").id]  # decoded or not, an unchanged stem is copied
    proj.song.title = "Night Drive (v2)"
    out = tmp_path / "v2.melodex"
    save_project(out, proj.song, proj.tensors, proj.audio)
    assert coder_calls["encode"] == []
    old, new = members(path), members(out)
    assert [n for n in new if n.startswith("audio/")] == [n for n in old if n.startswith("audio/")]
    assert all(new[n] == old[n] for n in old if n.startswith("audio/"))
    with zipfile.ZipFile(out) as zf:
        assert {zi.compress_type for zi in zf.infolist() if zi.filename.startswith("audio/")} == {zipfile.ZIP_STORED}
    assert read_project(out).song.title == "Night Drive (v2)"


def test_saving_over_the_loaded_file_keeps_its_stems_usable(saved, coder_calls):
    """As ``melodex regenerate`` does: load, change, save to the same path, save again, use the stems."""
    path, song, tensors, audio = saved
    first = path.read_bytes()
    proj = read_project(path)
    proj.song.title = "v2"
    save_project(path, proj.song, proj.tensors, proj.audio)
    assert path.with_name(path.name + ".bak").read_bytes() == first
    proj.song.title = "v3"
    save_project(path, proj.song, proj.tensors, proj.audio)  # the stems now point at the file saved as v2
    assert coder_calls["encode"] == []
    assert all(members(path)[n] == members(path.with_name(path.name + ".bak"))[n] for n in members(path) if n.startswith("audio/"))
    lead = song.track("Lead").id
    assert np.max(np.abs(proj.audio[lead] - audio[lead])) <= 2.0**-24
    assert read_project(path).song.title == "v3"


def test_a_modified_stem_is_reencoded_and_the_others_copied(saved, tmp_path, coder_calls):
    path, song, tensors, audio = saved
    proj = read_project(path)
    lead, bass = song.track("Lead").id, song.track("Bass").id
    louder = np.clip(proj.audio[lead] * 1.5, -1, 1)
    out = tmp_path / "louder.melodex"
    save_project(out, proj.song, proj.tensors, {**proj.audio.stems(), lead: louder})
    assert coder_calls["encode"] == [lead]
    old, new = members(path), members(out)
    assert new[f"audio/{bass}.flac"] == old[f"audio/{bass}.flac"] and new[f"audio/{lead}.flac"] != old[f"audio/{lead}.flac"]
    again = read_project(out)
    assert np.max(np.abs(again.audio[lead] - louder)) <= 2.0**-24
    assert np.array_equal(again.audio[bass], proj.audio[bass])
    dropped = tmp_path / "dropped.melodex"  # leaving a stem out removes it
    save_project(dropped, proj.song, proj.tensors, {bass: proj.audio.stems()[bass]})
    assert sorted(read_project(dropped).audio) == [bass] and coder_calls["encode"] == [lead]


def test_cached_stem_at_another_rate_is_refused_on_save(saved, tmp_path):
    path, *_ = saved
    proj = read_project(path)
    proj.song.sample_rate = 48000
    with pytest.raises(ProjectError, match=r"Cannot save: stem '\w+' is at 44100 Hz but the song is at 48000 Hz"):
        save_project(tmp_path / "x.melodex", proj.song, proj.tensors, proj.audio)
    with pytest.raises(ProjectError, match=r"stem name 'a/b' is not valid"):
        save_project(tmp_path / "x.melodex", read_project(path).song, proj.tensors, {"a/b": next(iter(proj.audio.stems().values()))})
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def stem_damage(path: Path, dst: Path, stem: str) -> dict:
    """name -> (function making ``dst`` from ``path`` with ``stem``'s audio data damaged but its header
    intact, expected message regex on first use)."""
    member = f"audio/{stem}.flac"
    flac = members(path)[member]
    noise = np.random.default_rng(3).integers(0, 256, len(flac) // 2, dtype=np.uint8).tobytes()
    return {
        "bad CRC-32": (lambda: flip_member_byte(path, dst, member, 0.7), rf"'{member}' is damaged \(Bad CRC-32"),
        "garbage frames": (lambda: repack(path, dst, {member: flac[:200] + noise + flac[200 + len(noise):]}),
                           rf"'{member}' is not readable audio \(.*lost sync"),
        "truncated": (lambda: repack(path, dst, {member: flac[: len(flac) // 2]}), rf"'{member}' is not readable audio"),
    }


def test_damaged_stem_data_is_refused_on_first_use(saved, tmp_path):
    path, song, *_ = saved
    lead, bass = song.track("Lead").id, song.track("Bass").id
    dst = tmp_path / "bad.melodex"
    for case, (make, message) in stem_damage(path, dst, lead).items():
        make()
        before = sha(dst)
        proj = read_project(dst)  # the header is fine: the load does not read the audio data
        assert proj.song.title == song.title and sorted(proj.audio) == sorted([lead, bass])
        for _ in range(2):  # the error repeats; nothing broken is kept
            with pytest.raises(ProjectError, match=message) as err:
                proj.audio[lead]
            assert str(err.value).startswith(f"Cannot read the audio stem '{lead}' of 'bad.melodex': "), case
            assert str(err.value).endswith("the stems are a cache: render them again"), case
        with pytest.raises(ProjectError, match=message):
            proj.audio.decode_all()
        assert proj.audio[bass].shape == (SR // 2, 1), case  # the other stems still work
        assert sha(dst) == before, case
        dst.unlink()


def test_damaged_stem_is_not_copied_into_a_new_save(saved, tmp_path):
    path, song, *_ = saved
    lead = song.track("Lead").id
    dst, out = tmp_path / "bad.melodex", tmp_path / "out.melodex"
    flip_member_byte(path, dst, f"audio/{lead}.flac", 0.7)
    proj = read_project(dst)
    with pytest.raises(ProjectError, match=rf"^Cannot save 'out\.melodex'\. Cannot read the audio stem '{lead}' of "
                                           rf"'bad\.melodex': 'audio/{lead}\.flac' is damaged \(Bad CRC-32"):
        save_project(out, proj.song, proj.tensors, proj.audio)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, dst.name])


def test_stems_of_a_file_changed_or_removed_since_load_are_refused(saved, tmp_path):
    path, song, tensors, audio = saved
    proj = read_project(path)
    lead = song.track("Lead").id
    song.title = "edited elsewhere"
    save_project(path, song, tensors, {k: v * 0.5 for k, v in audio.items()})  # another program's save
    with pytest.raises(ProjectError, match=rf"Cannot read the audio stem '{lead}' of 'night drive\.melodex': the project "
                                           r"file has changed on disk since it was opened; open it again"):
        proj.audio[lead]
    out = tmp_path / "out.melodex"
    with pytest.raises(ProjectError, match=r"Cannot save 'out\.melodex'\. Cannot read .* has changed on disk"):
        save_project(out, proj.song, proj.tensors, proj.audio)
    assert not out.exists()
    fresh = read_project(path)
    os.remove(path)
    with pytest.raises(ProjectError, match=r"the project file cannot be opened any more"):
        fresh.audio[lead]


def test_a_stem_on_the_16_bit_grid_is_stored_in_16_bits_and_read_back_bit_for_bit(tmp_path):
    from melodex_studio.engine.proposals import cache_stem

    song = rich_song()
    rng = np.random.default_rng(3)
    noisy = (0.3 * np.sin(np.arange(SR) * 0.05) + 0.01 * rng.standard_normal(SR)).astype(np.float32)[:, None]
    cached = cache_stem(np.repeat(noisy, 2, axis=1))  # the engine's stem cache: on the 16-bit grid
    assert np.array_equal(np.rint(cached * 2**15), cached * 2**15) and np.abs(cached - noisy).max() <= 2.0**-16
    fine = noisy.copy()  # not on the grid: kept to 24 bits
    path = tmp_path / "grid.melodex"
    save_project(path, song, rich_state(song)[0], {song.track("Lead").id: cached, song.track("Bass").id: fine})
    with zipfile.ZipFile(path) as z:
        subtypes = {n: sf.info(io.BytesIO(z.read(n))).subtype for n in z.namelist() if n.endswith(".flac")}
        sizes = {n: z.getinfo(n).compress_size for n in z.namelist() if n.endswith(".flac")}
    lead, bass = (f"audio/{song.track(n).id}.flac" for n in ("Lead", "Bass"))
    assert subtypes == {lead: "PCM_16", bass: "PCM_24"}
    assert sizes[lead] < 0.75 * 2 * sizes[bass]  # two channels of 16 bits: well under two of 24 bits
    proj = read_project(path)
    assert np.array_equal(proj.audio[song.track("Lead").id], cached)  # bit for bit
    assert np.abs(proj.audio[song.track("Bass").id] - fine).max() <= 2.0**-24
    save_project(path, proj.song, proj.tensors, {k: np.array(proj.audio[k]) for k in proj.audio})  # re-encoded
    again = read_project(path)
    assert all(np.array_equal(again.audio[k], proj.audio[k]) for k in proj.audio)
