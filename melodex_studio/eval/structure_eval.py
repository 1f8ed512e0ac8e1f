"""Evaluation of the structure model (`melodex eval structure`).

1. Validation NLL per token (nats) of the transformer vs an interpolated 3-gram baseline (Dirichlet /
   add-k smoothing backing off 3 -> 2 -> 1-gram, MacKay & Peto 1995), trained on the same training tokens
   and scored on exactly the same target tokens (bar-aligned windows of the validation split).
2. Musical statistics of generated songs vs the held-out test split: histograms of melodic pitch
   intervals, note durations and the chord-tone ratio of notes on beats, compared by KL(test || generated),
   for the model and for a random-notes-in-key baseline that follows the same plans and grammar ranges.
Writes a JSON report and returns it; ``format_table`` renders the table the CLI prints.
"""
from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..song.model import Chord, Note, Song
from ..structure import tokens as T
from ..structure.grammar import ROLE_RANGES, allowed_pitch_classes
from ..training.train_structure import TokenSong, make_window, tokenize_song

CHORD_PCS = {"maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
             "dim": (0, 3, 6), "aug": (0, 4, 8), "sus2": (0, 2, 7), "sus4": (0, 5, 7), "dim7": (0, 3, 6, 9),
             "m7b5": (0, 3, 6, 10), "6": (0, 4, 7, 9), "min6": (0, 3, 7, 9), "9": (0, 4, 7, 10, 2), "add9": (0, 4, 7, 2)}


@dataclass
class EvalConfig:
    model: str = "models/structure-small.safetensors"
    data: str = "runs/data-structure"
    out: str = "runs/structure-eval.json"
    n_songs: int = 8  # generated songs per system
    max_bars: int = 32  # plans are cut to their first sections up to this many bars
    max_val_songs: int = 60
    seed: int = 0
    device: str = "cpu"


# --- NLL ------------------------------------------------------------------------------------------------------
def eval_windows(songs: list[TokenSong], block: int, stride_bars: int = 8) -> list[tuple[list[int], int]]:
    """Bar-aligned windows (tokens, prefix length): one every ``stride_bars`` bars of every song."""
    out = []
    for s in songs:
        for b in range(0, max(1, len(s.bars)), stride_bars):
            out.append(make_window(s, b, block))
    return out


class TrigramLM:
    """Interpolated 3-gram with Dirichlet smoothing: P3 = (c(uvw) + a P2(w|v)) / (c(uv) + a), likewise P2."""

    def __init__(self, sequences: list[list[int]], vocab: int, alpha: float = 2.0):
        self.V, self.a = vocab, alpha
        self.c1, self.c2, self.c3 = Counter(), Counter(), Counter()
        self.h1, self.h2 = Counter(), Counter()
        for seq in sequences:
            for i, w in enumerate(seq):
                self.c1[w] += 1
                if i >= 1:
                    self.c2[(seq[i - 1], w)] += 1
                    self.h1[seq[i - 1]] += 1
                if i >= 2:
                    self.c3[(seq[i - 2], seq[i - 1], w)] += 1
                    self.h2[(seq[i - 2], seq[i - 1])] += 1
        self.n = sum(self.c1.values())

    def prob(self, u: int, v: int, w: int) -> float:
        p1 = (self.c1[w] + 1) / (self.n + self.V)
        p2 = (self.c2[(v, w)] + self.a * p1) / (self.h1[v] + self.a)
        return (self.c3[(u, v, w)] + self.a * p2) / (self.h2[(u, v)] + self.a)


def nll_trigram(lm: TrigramLM, windows) -> float:
    tot, n = 0.0, 0
    for w, pl in windows:
        for i in range(max(pl, 2), len(w)):
            tot -= math.log(lm.prob(w[i - 2], w[i - 1], w[i]))
            n += 1
    return tot / max(n, 1)


@torch.no_grad()
def nll_model(model, windows, device) -> float:
    tot, n = 0.0, 0
    for w, pl in windows:
        x = torch.tensor([w[:-1]], device=device)
        logits = model(x)[0].float()  # (T, V)
        tgt = torch.tensor(w[1:], device=device)
        start = max(pl, 2) - 1  # the same targets as the 3-gram: tokens from index max(pl, 2)
        tot += float(F.cross_entropy(logits[start:], tgt[start:], reduction="sum"))
        n += len(w) - 1 - start
    return tot / max(n, 1)


# --- musical statistics ----------------------------------------------------------------------------------------
def _melody(song: Song):
    pitched = [t for t in song.tracks if not t.is_drum and t.notes]
    mel = [t for t in pitched if t.role == "melody"] or pitched[:1]
    return mel[0] if mel else None


def song_stats(song: Song) -> dict[str, Counter]:
    """Counts: 'interval' (melodic steps in semitones, clipped to ±12), 'duration' (index into DURATIONS),
    'chord_tone' (notes on beats: 1 when their pitch class is in the sounding chord, else 0)."""
    st = {"interval": Counter(), "duration": Counter(), "chord_tone": Counter()}
    mel = _melody(song)
    if mel is not None:
        tops: dict[int, int] = {}
        for n in mel.notes:
            tops[n.start_tick] = max(tops.get(n.start_tick, 0), n.pitch)
        line = [tops[k] for k in sorted(tops)]
        for a, b in zip(line, line[1:]):
            st["interval"][max(-12, min(12, b - a))] += 1
    m = song.meter_map.meter_at_bar(0)
    beat = T.STEP_TICKS * (6 if m.denominator == 8 and m.numerator % 3 == 0 else 4)
    chords = sorted(song.chords, key=lambda c: c.start_tick)
    starts = [c.start_tick for c in chords]
    import bisect

    for t in song.tracks:
        if t.is_drum:
            continue
        for n in t.notes:
            st["duration"][T._nearest(T.DURATIONS, n.duration_ticks / T.STEP_TICKS)] += 1
            if n.start_tick % beat == 0 and chords:
                i = bisect.bisect_right(starts, n.start_tick) - 1
                if i >= 0 and chords[i].start_tick + chords[i].duration_ticks > n.start_tick:
                    c = chords[i]
                    pcs = {(c.root + x) % 12 for x in CHORD_PCS.get(c.quality, (0, 4, 7))}
                    st["chord_tone"][int(n.pitch % 12 in pcs)] += 1
    return st


def merge(stats: list[dict[str, Counter]]) -> dict[str, Counter]:
    out = {k: Counter() for k in ("interval", "duration", "chord_tone")}
    for s in stats:
        for k in out:
            out[k].update(s[k])
    return out


def kl(p: Counter, q: Counter, support, eps: float = 1e-3) -> float:
    """KL(p || q) in nats over ``support`` with additive smoothing ``eps`` on both histograms."""
    pa = np.array([p.get(x, 0) for x in support], dtype=float) + eps
    qa = np.array([q.get(x, 0) for x in support], dtype=float) + eps
    pa, qa = pa / pa.sum(), qa / qa.sum()
    return float(np.sum(pa * np.log(pa / qa)))


SUPPORT = {"interval": list(range(-12, 13)), "duration": list(range(len(T.DURATIONS))), "chord_tone": [0, 1]}


def random_in_key(h: T.Header, rng: random.Random) -> Song:
    """Baseline: per bar, random chords and 1..steps/2 random notes per track in the key and the role's range."""
    song = T.decode(T.header_tokens(h) + [T.tid("EOS")], h)
    from ..song.model import Section

    start = 0
    for s in h.sections:
        song.sections.append(Section(s.label, start, s.bars))
        start += s.bars
    pcs = allowed_pitch_classes(h.key.mode, h.genre)
    P, bt = h.positions, h.bar_ticks
    chords = []
    for bar in range(start):
        for half in range(2):
            chords.append(Chord(bar * bt + half * bt // 2, bt // 2, (h.key.tonic + rng.choice(pcs)) % 12,
                                rng.choice(("maj", "min"))))
        for t in song.tracks:
            for pos in sorted(rng.sample(range(P), rng.randint(1, P // 2))):
                if t.is_drum:
                    t.notes.append(Note(bar * bt + pos * T.STEP_TICKS, rng.choice((36, 38, 42)), T.STEP_TICKS, 90))
                    continue
                lo, hi = ROLE_RANGES.get(t.role, (36, 96))
                pitch = rng.choice([p for p in range(lo, hi + 1) if (p - h.key.tonic) % 12 in pcs])
                d = rng.choice([d for d in T.DURATIONS if d <= P - pos] or [1])
                t.notes.append(Note(bar * bt + pos * T.STEP_TICKS, pitch, d * T.STEP_TICKS, 82))
    song.chords = chords
    return song


def cut_header(h: T.Header, max_bars: int) -> T.Header:
    secs, n = [], 0
    for s in h.sections:
        if n + s.bars > max_bars and secs:
            break
        secs.append(s)
        n += s.bars
    h.sections = secs
    return h


def run_eval(cfg: EvalConfig, log=print) -> dict:
    """Run both evaluations; write ``cfg.out`` (JSON) and return the report."""
    from ..structure.checkpoint import load_checkpoint
    from ..structure.generate import generate_tokens
    from ..training.data_structure import iter_songs

    t0 = time.time()
    model, info = load_checkpoint(cfg.model, cfg.device)
    block = model.cfg.block_size
    train = [tokenize_song(s, p) for s, p in iter_songs(cfg.data, "train")]
    val = [tokenize_song(s, p) for s, p in list(iter_songs(cfg.data, "val"))[: cfg.max_val_songs]]
    windows = eval_windows(val, block)
    lm = TrigramLM([s.tokens.tolist() for s in train], T.VOCAB_SIZE)
    best = (nll_trigram(lm, windows), lm.a)
    for a in (0.5, 8.0):  # pick the smoothing the baseline likes best (on the same windows: its best case)
        lm.a = a
        best = min(best, (nll_trigram(lm, windows), a), key=lambda x: x[0])
    nll_t = nll_model(model, windows, cfg.device)
    n_targets = sum(len(w) - max(pl, 2) for w, pl in windows)
    log(f"NLL: transformer {nll_t:.4f}, 3-gram {best[0]:.4f} (alpha {best[1]}) on {n_targets} tokens")

    test = list(iter_songs(cfg.data, "test"))
    rng = random.Random(cfg.seed)
    picks = rng.sample(test, min(cfg.n_songs, len(test)))
    ref = merge([song_stats(s) for s, _ in test])
    gen_stats, rnd_stats, gen_tokens, gen_s = [], [], 0, 0.0
    for i, (s, p) in enumerate(picks):
        s.plan = s.plan or p
        h = cut_header(T.header_from_song(s), cfg.max_bars)
        res = generate_tokens(model, h, seed=cfg.seed + i)
        gen_tokens += res.sampled
        gen_s += res.seconds
        gen_stats.append(song_stats(T.decode(res.tokens, h)))
        rnd_stats.append(song_stats(random_in_key(h, rng)))
    g, r = merge(gen_stats), merge(rnd_stats)
    report = {
        "model": {"path": cfg.model, "sha256": info["sha256"], "config": info["config"],
                  "training": {k: v for k, v in info["training"].items() if k != "config"}},
        "data": {"path": cfg.data, "train_songs": len(train), "val_songs": len(val), "test_songs": len(test)},
        "nll": {"transformer": nll_t, "trigram": best[0], "trigram_alpha": best[1], "tokens": n_targets,
                "windows": len(windows)},
        "kl_vs_test": {k: {"model": kl(ref[k], g[k], SUPPORT[k]), "random_in_key": kl(ref[k], r[k], SUPPORT[k])}
                       for k in SUPPORT},
        "chord_tone_ratio": {name: c[1] / max(1, c[0] + c[1]) for name, c in
                             (("test", ref["chord_tone"]), ("model", g["chord_tone"]), ("random_in_key", r["chord_tone"]))},
        "generation": {"songs": len(picks), "sampled_tokens": gen_tokens, "seconds": gen_s,
                       "sampled_tokens_per_s": gen_tokens / max(gen_s, 1e-9)},
        "seconds": time.time() - t0,
    }
    Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
    Path(cfg.out).write_text(json.dumps(report, indent=1))
    return report


def format_table(rep: dict) -> str:
    lines = [f"{'metric':34s} {'model':>10s} {'baseline':>10s}",
             f"{'val NLL (nats/token) vs 3-gram':34s} {rep['nll']['transformer']:10.4f} {rep['nll']['trigram']:10.4f}"]
    for k, v in rep["kl_vs_test"].items():
        lines.append(f"{'KL(test||gen) ' + k + ' vs random':34s} {v['model']:10.4f} {v['random_in_key']:10.4f}")
    c = rep["chord_tone_ratio"]
    lines.append(f"{'chord-tone ratio (test ' + format(c['test'], '.3f') + ')':34s} {c['model']:10.4f} {c['random_in_key']:10.4f}")
    return "\n".join(lines)
