"""Structure dataset builder: manifest, licences, splits, reproducibility, song validity, template coverage,
harmonisation and transposition."""
from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

pytest.importorskip("music21")

from melodex_studio.prompt.plan import StylePlan
from melodex_studio.prompt.vocabulary import GENRES, GROOVE_FAMILIES, INSTRUMENTS, MOODS
from melodex_studio.song.model import Song
from melodex_studio.training import corpus, styles
from melodex_studio.training.data_structure import (
    SPLITS, build_dataset, iter_songs, song_from_dict, song_to_dict, songs_from_midi_dir, split_of,
)

N_ITEMS = 12


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus_cache")


@pytest.fixture(scope="module")
def built(tmp_path_factory, cache):
    """A small dataset built once (~6 s): every test using it is marked slow, so `make test-fast` skips the build."""
    out = tmp_path_factory.mktemp("ds")
    info = build_dataset(out, seed=0, max_items=N_ITEMS, variants=2, cache_dir=cache)
    return out, info


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_manifest_has_source_and_licence_and_no_essen(built):
    out, info = built
    m = json.loads((out / "manifest.json").read_text())
    items = m["items"]
    assert len(items) == info.n_songs == sum(info.counts.values()) == 2 * info.n_sources
    assert info.n_sources >= N_ITEMS - 3  # a few unusable items (meter changes) may drop out
    for it in items:
        assert it["source"] and it["licence"]
        assert it["source"].split("/")[0] in ("bach", "oneills1850", "ryansMammoth")
        assert "essenFolksong" not in it["source"] and "essen" not in it["source"].lower()
        assert it["split"] in SPLITS and -5 <= it["transposition"] <= 6
        assert it["template"]["genre"] in GENRES
    assert {it["collection"] for it in items} == {"bach", "oneills1850", "ryansMammoth"}


def test_essen_is_refused():
    with pytest.raises(ValueError, match="allow-list"):
        corpus.extract("essenFolksong/altdeu10.abc", 1)


@pytest.mark.slow
def test_splits_disjoint_by_source_and_fixed(built):
    out, _ = built
    m = json.loads((out / "manifest.json").read_text())
    by_source: dict[str, set[str]] = {}
    for it in m["items"]:
        by_source.setdefault(it["source_id"], set()).add(it["split"])
        assert it["split"] == split_of(it["split_group"])
    assert all(len(s) == 1 for s in by_source.values())
    # the jsonl files hold exactly the manifest's items of that split
    for split in SPLITS:
        ids = [json.loads(line)["id"] for line in (out / f"{split}.jsonl").read_text().splitlines()]
        assert ids == [it["id"] for it in m["items"] if it["split"] == split]
    # split proportions over many ids are about 90/5/5
    c = Counter(split_of(f"x{i}") for i in range(4000))
    assert 0.87 < c["train"] / 4000 < 0.93 and c["val"] > 120 and c["test"] > 120


@pytest.mark.slow
def test_same_seed_identical_files_other_seed_differs(built, tmp_path, cache):
    out, _ = built
    again = tmp_path / "again"
    build_dataset(again, seed=0, max_items=N_ITEMS, variants=2, cache_dir=cache)
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "manifest.json"):
        assert _sha(out / name) == _sha(again / name)
    other = tmp_path / "other"
    build_dataset(other, seed=1, max_items=4, variants=2, cache_dir=cache)
    assert (other / "train.jsonl").read_text().splitlines()[0] != (out / "train.jsonl").read_text().splitlines()[0]


@pytest.mark.slow
def test_songs_are_valid(built):
    out, _ = built
    n = 0
    for split in SPLITS:
        for song, plan in iter_songs(out, split):
            n += 1
            assert isinstance(song, Song)
            sp = StylePlan.from_dict({k: v for k, v in plan.items() if k != "_id"})
            assert sp.genre in GENRES and sp.drum_groove in GROOVE_FAMILIES and sp.mood in MOODS
            assert sp.meter == tuple(song.meter_map.to_list()[0][1:])
            assert [s.bars for s in sp.form] == [s.length_bars for s in song.sections]
            assert len(sp.energy) == len(sp.form) and all(0 <= e <= 1 for e in sp.energy)
            # sections tile the song from bar 0
            bar = 0
            for s in song.sections:
                assert s.start_bar == bar
                bar = s.end_bar
            end = song.bar_to_tick(bar)
            assert bar <= corpus.MAX_BARS + 8
            roles = {t.role for t in song.tracks}
            assert {"melody", "bass", "chords"} <= roles or {"melody", "bass", "pad"} <= roles
            assert sp.drums == ("drums" in roles)
            for t in song.tracks:
                assert t.notes, t.name
                assert t.is_drum == (t.role == "drums")
                assert all(0 <= x.start_tick < end and 0 <= x.pitch <= 127 for x in t.notes)
                if t.role == "bass":
                    assert all(25 <= x.pitch <= 58 for x in t.notes), t.name
                if t.role == "drums":
                    assert all(35 <= x.pitch <= 81 for x in t.notes)
                if t.role in ("melody", "chords", "pad", "counter"):
                    assert all(36 <= x.pitch <= 100 for x in t.notes)
            # chords cover every bar without gaps or overlaps
            ticks = 0
            for c in song.chords:
                assert c.start_tick == ticks and c.duration_ticks > 0 and 0 <= c.root <= 11
                ticks += c.duration_ticks
            assert ticks == end
            # the song dict round-trips
            assert song_to_dict(song_from_dict(song_to_dict(song))) == song_to_dict(song)
    assert n > 0


def test_every_genre_and_groove_family_has_a_template():
    t = styles.templates()
    assert set(GENRES) <= set(t["genres"])
    assert set(GROOVE_FAMILIES) <= set(t["grooves"])
    for name, g in t["genres"].items():
        assert GENRES[name].groove in g["grooves"]
        assert styles.eligible(name, (4, 4)), name  # every genre can accompany 4/4
        for role, names in g["instruments"].items():
            assert names and all(n in INSTRUMENTS for n in names), (name, role)
        assert all(m in MOODS for ms in g["moods"] for m in ms)
    for fam, f in t["grooves"].items():
        if fam != "none":
            assert f["patterns"], fam
    # every source meter has several genres
    for meter in [(2, 4), (3, 4), (4, 4), (6, 8), (9, 8), (12, 8)]:
        assert len([g for g in t["genres"] if styles.eligible(g, meter)]) >= 4, meter


def _record(cache):
    recs = corpus.load_corpus([("ryansMammoth/SoldiersJoy.abc", 1)], cache)
    assert len(recs) == 1
    return recs[0]


def test_transposition_moves_every_pitched_note_by_the_same_interval(cache):
    rec = _record(cache)
    for genre in ("pop", "jazz", "folk"):
        a, _, _ = styles.arrange(rec, genre, 0, seed=7)
        b, plan, _ = styles.arrange(rec, genre, 3, seed=7)
        assert [t.name for t in a.tracks] == [t.name for t in b.tracks]
        for ta, tb in zip(a.tracks, b.tracks):
            shift = 0 if ta.is_drum else 3
            assert [(n.start_tick, n.pitch + shift, n.duration_ticks) for n in ta.notes] == \
                   [(n.start_tick, n.pitch, n.duration_ticks) for n in tb.notes]
        assert [(c.root + 3) % 12 for c in a.chords] == [c.root for c in b.chords]
        assert (a.key.tonic + 3) % 12 == b.key.tonic and plan["key"] == b.key.name


def test_soldiers_joy_extraction_and_harmonisation(cache):
    rec = _record(cache)
    assert rec["meter"] == [2, 4] and rec["key"][:2] == [2, "major"]  # D major
    assert rec["pickup_ticks"] == 240 and rec["length_bars"] == 32  # AABB, 8 bars each, repeats expanded
    assert [s[0] for s in rec["sections"]] == ["A", "A", "B", "B"]
    assert min(s for s, _, _ in rec["melody"]) == -240
    # harmonisation: diatonic triads of D major, tonic at the end of every 8-bar phrase, tonic most common
    diatonic = {(2, "maj"), (4, "min"), (6, "min"), (7, "maj"), (9, "maj"), (11, "min"), (1, "dim")}
    assert {(c[2], c[3]) for c in rec["chords"]} <= diatonic
    bar = 960
    for end_bar in (8, 16, 24, 32):
        c = next(c for c in rec["chords"] if c[0] <= end_bar * bar - 1 < c[0] + c[1])
        assert (c[2], c[3]) == (2, "maj")
    dur = Counter()
    for c in rec["chords"]:
        dur[c[2]] += c[1]
    assert dur.most_common(1)[0][0] == 2


def test_harmonise_picks_the_triad_that_fits():
    # one bar of 4/4 per chord: C-E-G then F-A-C then G-B-D then C in C major
    mel = []
    for i, notes in enumerate([(60, 64, 67, 72), (65, 69, 72, 69), (67, 71, 74, 71), (72, 67, 64, 60)]):
        mel += [[i * 1920 + k * 480, p, 480] for k, p in enumerate(notes)]
    chords = corpus.harmonise(mel, (4, 4), 0, corpus.MODE_SCALES["major"], 4, [4])
    per_bar = [next((c[2], c[3]) for c in chords if c[0] <= b * 1920 < c[0] + c[1]) for b in range(4)]
    assert per_bar == [(0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")]


def test_chorale_chords_from_chordify(cache):
    recs = corpus.load_corpus([("bach/bwv269", None)], cache)
    rec = recs[0]
    assert rec["meter"] == [3, 4] and rec["key"] == [7, "major"]  # G major
    assert rec["voices"]["bass"] and rec["voices"]["alto"]
    assert rec["chords"][0][2:] == [7, "maj"] and rec["chords"][-1][2:] == [7, "maj"]
    # every chord root is a pitch sounding in the bass or upper voices at its start
    assert all(c[3] in corpus.CHORD_QUALITIES for c in rec["chords"])
    assert rec["group"].startswith("chorale-melody:")


@pytest.mark.slow
def test_songs_from_midi_dir_reads_user_files(built, tmp_path):
    from melodex_studio.io.midi import export_midi

    out, _ = built
    song, _ = next(iter_songs(out, "train"))
    export_midi(song, tmp_path / "mine.mid")
    (tmp_path / "notes.txt").write_text("not midi")
    (tmp_path / "broken.mid").write_bytes(b"MThd garbage")
    got = list(songs_from_midi_dir(tmp_path))
    assert len(got) == 1
    back, plan = got[0]
    assert plan["_id"].endswith("mine.mid") and plan["genre"] is None
    assert plan["tempo_bpm"] == song.tempo_map.changes[0].bpm and tuple(plan["meter"]) == tuple(song.meter_map.to_list()[0][1:])
    assert sorted(len(t.notes) for t in back.tracks) == sorted(len(t.notes) for t in song.tracks)
    assert sum(s["bars"] for s in plan["form"]) >= song.length_bars - 1
