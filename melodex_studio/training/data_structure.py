"""Reproducible dataset builder for the structure model: real melodies and harmony from licence-clear
music21 corpus collections (``training.corpus``), arranged into multi-track songs by the genre style
templates (``training.styles``), transposed across keys, with a manifest and fixed splits.

Output folder::

    train.jsonl / val.jsonl / test.jsonl   one song per line: {"id", "source", "song": <song dict>, "plan": <StylePlan dict>}
    manifest.json                          per item: id, source (corpus path), licence, transposition, genre,
                                           template choices, split; plus build parameters and counts

Splits are fixed by a hash of the source's split group (its corpus id; for Bach chorales the hash of the
melody's opening intervals, so re-harmonisations of one chorale tune share a split): every transposition and
genre variant of one source lands in the same split. Same ``seed`` and parameters give byte-identical files.

Song dict (compact, all ticks at 480 PPQ): ``{"title", "tempo": [[tick, bpm]], "meter": [[bar, num, den]],
"key": "D major", "sections": [[label, start_bar, bars], ...], "chords": [[start, dur, root_pc, quality], ...],
"tracks": [{"name", "role", "program", "is_drum", "notes": [[start, pitch, dur, velocity], ...]}]}``.

CLI: ``python -m melodex_studio.training.data_structure --out DIR [--max-items N] [--variants K] [--seed S]``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..song.model import Chord, Key, Note, Section, Song, Track
from ..song.timing import MeterMap, TempoMap
from . import corpus, styles

SPLITS = ("train", "val", "test")
SPLIT_PERCENT = {"train": 90, "val": 5, "test": 5}
TRANSPOSITIONS = tuple(range(-5, 7))  # every key exactly once

Progress = Callable[[str, int, int], None]


@dataclass
class DatasetInfo:
    """What ``build_dataset`` wrote: folder, counts per split, sources used, seconds taken."""

    out_dir: str
    seed: int
    n_sources: int
    n_songs: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)


# --- song dict ----------------------------------------------------------------------------------------------
def song_to_dict(song: Song) -> dict[str, Any]:
    """Compact JSON-able dict of a song's score (no takes, listeners or generation metadata)."""
    return {
        "title": song.title, "tempo": song.tempo_map.to_list(), "meter": song.meter_map.to_list(),
        "key": song.key.name, "sections": [[s.label, s.start_bar, s.length_bars] for s in song.sections],
        "chords": [[c.start_tick, c.duration_ticks, c.root, c.quality] for c in song.chords],
        "tracks": [{"name": t.name, "role": t.role, "program": t.program, "is_drum": t.is_drum,
                    "notes": [[n.start_tick, n.pitch, n.duration_ticks, n.velocity] for n in t.notes]}
                   for t in song.tracks],
    }


def song_from_dict(d: dict[str, Any]) -> Song:
    """Inverse of :func:`song_to_dict` (validates every note through ``Note``)."""
    song = Song(title=d.get("title", ""), tempo_map=TempoMap.from_list(d["tempo"]),
                meter_map=MeterMap.from_list(d["meter"]), key=Key.parse(d["key"]))
    song.sections = [Section(lab, int(sb), int(nb)) for lab, sb, nb in d["sections"]]
    song.chords = [Chord(int(s), int(du), int(r), q) for s, du, r, q in d["chords"]]
    for t in d["tracks"]:
        song.tracks.append(Track(name=t["name"], role=t["role"], program=int(t["program"]), is_drum=bool(t["is_drum"]),
                                 notes=[Note(int(s), int(p), int(du), int(v)) for s, p, du, v in t["notes"]]))
    return song


# --- splits and seeds ---------------------------------------------------------------------------------------
def _hash_int(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def split_of(group: str) -> str:
    """Fixed split of a source split group: 90 % train, 5 % val, 5 % test by sha256 (independent of seed)."""
    h = _hash_int("split:" + group) % 100
    return "train" if h < SPLIT_PERCENT["train"] else "val" if h < SPLIT_PERCENT["train"] + SPLIT_PERCENT["val"] else "test"


def genres_for(meter: tuple[int, int]) -> list[str]:
    """Genres whose templates can accompany ``meter`` (sorted)."""
    return sorted(g for g in styles.templates()["genres"] if styles.eligible(g, meter))


def variants_of(rec: dict, seed: int, variants: int) -> list[tuple[str, int, int]]:
    """``variants`` (genre, transposition, arrangement seed) triples for one record: distinct genres
    where possible and distinct transpositions, all derived from ``seed`` and the source id only."""
    rng = random.Random(_hash_int(f"{seed}:{rec['id']}"))
    genres = genres_for((rec["meter"][0], rec["meter"][1]))
    picks = rng.sample(genres, min(variants, len(genres)))
    while len(picks) < variants:
        picks.append(rng.choice(genres))
    trans = rng.sample(TRANSPOSITIONS, min(variants, len(TRANSPOSITIONS)))
    return [(g, trans[i % len(trans)], _hash_int(f"{seed}:{rec['id']}:{i}")) for i, g in enumerate(picks)]


# --- build ----------------------------------------------------------------------------------------------------
def build_dataset(out_dir: str | os.PathLike, seed: int = 0, max_items: int | None = None,
                  progress: Progress | None = None, variants: int = 3, tunes_per_collection: int | None = 300,
                  cache_dir: str | os.PathLike | None = None) -> DatasetInfo:
    """Build the structure dataset into ``out_dir``.

    Args:
        out_dir: output folder (created).
        seed: arrangement seed (genre, transposition and template choices); splits do not depend on it.
        max_items: use only the first N sources of the deterministic source list (chorale, O'Neill, Ryan,
            interleaved); None = all (371 chorales + ``tunes_per_collection`` tunes per fiddle collection).
        progress: ``progress(stage, i, n)`` with stage 'parse' (music21, only for uncached items) or 'arrange'.
        variants: songs per source (different genre and transposition each).
        tunes_per_collection: evenly spaced subset of each fiddle collection (None = every tune).
        cache_dir: where the parsed corpus JSON cache lives (default: platformdirs user cache).
    Returns: a ``DatasetInfo``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = corpus.list_sources(tunes_per_collection)
    if max_items is not None:
        sources = sources[:max_items]
    records = corpus.load_corpus(sources, cache_dir, progress)
    lines: dict[str, list[str]] = {s: [] for s in SPLITS}
    manifest: list[dict] = []
    for i, rec in enumerate(records):
        split = split_of(rec["group"])
        for v, (genre, tr, aseed) in enumerate(variants_of(rec, seed, variants)):
            song, plan, info = styles.arrange(rec, genre, tr, aseed)
            item_id = f"{rec['id']}@{v}"
            lines[split].append(json.dumps({"id": item_id, "source": rec["id"], "song": song_to_dict(song), "plan": plan},
                                           separators=(",", ":"), sort_keys=True))
            manifest.append({"id": item_id, "source": rec["path"], "source_id": rec["id"], "number": rec["number"],
                             "title": rec["title"], "collection": rec["collection"], "licence": rec["licence"],
                             "transposition": tr, "key": song.key.name, "meter": list(rec["meter"]),
                             "template": info, "split": split, "split_group": rec["group"]})
        if progress:
            progress("arrange", i + 1, len(records))
    files = {}
    for s in SPLITS:
        path = out / f"{s}.jsonl"
        path.write_text("".join(line + "\n" for line in lines[s]))
        files[s] = str(path)
    counts = {s: len(lines[s]) for s in SPLITS}
    meta = {"builder": "melodex_studio.training.data_structure", "seed": seed, "max_items": max_items,
            "variants": variants, "tunes_per_collection": tunes_per_collection, "n_sources": len(records),
            "n_songs": sum(counts.values()), "counts": counts, "split_percent": SPLIT_PERCENT,
            "excluded": "music21 essenFolksong (non-commercial licence) and all other collections", "items": manifest}
    (out / "manifest.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
    files["manifest"] = str(out / "manifest.json")
    return DatasetInfo(str(out), seed, len(records), sum(counts.values()), counts,
                       round(time.perf_counter() - t0, 2), files)


def iter_songs(out_dir: str | os.PathLike, split: str) -> Iterator[tuple[Song, dict]]:
    """Read back one split: yields ``(song, plan_dict)``; ``plan_dict`` is ``StylePlan.to_dict()`` output
    (``StylePlan.from_dict`` rebuilds it) with the item id under ``"_id"``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    with open(Path(out_dir) / f"{split}.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                song = song_from_dict(d["song"])
                song.plan = d["plan"]
                yield song, dict(d["plan"], _id=d["id"])


def songs_from_midi_dir(midi_dir: str | os.PathLike) -> Iterator[tuple[Song, dict]]:
    """A user's own MIDI files (``*.mid``, ``*.midi`` under ``midi_dir``, sorted) as ``(song, plan_dict)``.
    The plan (``StylePlan.to_dict()`` form) holds what the file states: tempo, meter, key, instruments,
    sections (one 'A' section over the whole file when it has no markers); ``genre`` is ``None`` and
    ``"_id"`` is the file path. Uses ``melodex_studio.io.midi.import_midi``; unreadable files are skipped."""
    try:
        from ..io.midi import import_midi
    except ImportError as e:  # pragma: no cover - io.midi ships with the package
        raise RuntimeError("MIDI import is not available in this build (melodex_studio.io.midi)") from e
    from ..prompt.plan import InstrumentPlan, SectionPlan, StylePlan

    for path in sorted(Path(midi_dir).rglob("*")):
        if path.suffix.lower() not in (".mid", ".midi"):
            continue
        try:
            song = import_midi(path)
        except Exception:  # noqa: BLE001 - skip unreadable user files
            continue
        if not song.sections:
            song.sections = [Section("A", 0, max(song.length_bars, 1))]
        m = song.meter_map.changes[0]
        plan = StylePlan(
            tempo_bpm=song.tempo_map.changes[0].bpm, meter=(m.numerator, m.denominator), key=song.key,
            form=[SectionPlan(s.label, s.length_bars) for s in song.sections],
            instruments=[InstrumentPlan(t.name, t.program, t.role, t.is_drum, stated=True) for t in song.tracks],
            drums=any(t.is_drum for t in song.tracks), length_bars=song.length_bars,
        ).to_dict()
        plan.update(genre=None, drum_groove=None, _id=str(path))
        song.plan = plan
        yield song, plan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the structure-model dataset (music21 corpus + style templates).")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--max-items", type=int, default=None, help="use only the first N sources")
    ap.add_argument("--variants", type=int, default=3, help="songs per source (genre x transposition)")
    ap.add_argument("--tunes", type=int, default=300, help="tunes per fiddle collection (0 = all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=None, help="corpus cache folder (default: user cache dir)")
    a = ap.parse_args(argv)

    def report(stage: str, i: int, n: int) -> None:
        if i == n or i % 50 == 0:
            print(f"{stage}: {i}/{n}", file=sys.stderr)

    info = build_dataset(a.out, seed=a.seed, max_items=a.max_items, progress=report, variants=a.variants,
                         tunes_per_collection=a.tunes or None, cache_dir=a.cache)
    print(json.dumps(asdict(info), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
