"""Constrained sampling of arrangements: whole songs, one section (infilling), one track, continuations.

The sampler walks the skeleton the plan dictates (header, section headers, bars, the chord track and each
track of each bar, in that order) and forces every structural token, so the output always has exactly the
plan's sections, bar counts, meter and instruments. Inside a segment the model samples under the masks of
``grammar.Grammar`` (positions valid for the meter, pitches in the key and the role's range, durations
inside the section, drum hits only on drum tracks). Forced tokens are queued and fed to the model in one
call together with the next sampled step (KV cache), so structure costs almost nothing.

Context: the KV cache holds at most ``block_size`` tokens; when it fills up, it is rebuilt from the
header, the current section header and the most recent whole bars (the same windows training uses).
Reproducibility: one ``torch.Generator`` on the model's device seeded with ``seed`` (uniforms drawn from it
in blocks); the same seed, model, plan and device give the same tokens.

Speed: a sampled token costs one decode step (on a CPU ``cpu_decode.CpuDecoder.step`` in numpy, computing
only the head rows the grammar allows; elsewhere ``model.decode``; forced runs of tokens go through
``model.decode`` in one call), one cached lookup of the allowed ids (``Grammar.allowed``, shared across
sessions with the same header signature) and a top-p draw over those ids only, in numpy.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import tokens as T
from .cpu_decode import CpuDecoder, blas_threads
from .grammar import Allowed, Grammar, SegState, segment_kind
from .prior import HarmonyPrior

Progress = Callable[[float, str], None]


@dataclass
class SampleOptions:
    temperature: float = 0.95
    top_p: float = 0.95
    keep_fraction: float = 0.6  # share of block_size kept as context when the cache is rebuilt
    harmony: bool = True  # the harmonic and idiomatic prior (``prior.HarmonyPrior``) on the model's choices


@dataclass
class GenResult:
    """Tokens of the whole song, the seed and per-operation timings (seconds) and counts."""

    tokens: list[int]
    seed: int
    sampled: int = 0  # tokens chosen by the model (the rest were forced)
    seconds: float = 0.0
    stats: dict = field(default_factory=dict)


def _session(fn):
    """Run a sampling entry point under ``torch.inference_mode()`` with numpy's BLAS on one thread."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with torch.inference_mode(), blas_threads(1):
            return fn(*args, **kwargs)

    return run


class Cancelled(Exception):
    """Raised inside the sampler when ``cancel()`` returns True."""


def split_song(tokens: list[int]) -> tuple[list[int], list[tuple[list[int], list[list[list[int]]]]]]:
    """Token list -> (header, [(section header, bars)]) where each bar is [[BAR_i], [CHORDS ...], [TRK ...] ...]."""
    hdr_end = tokens.index(T.tid("HDR_END")) + 1
    header, sections = tokens[:hdr_end], []
    for tok in tokens[hdr_end:]:
        if T.SEC0 <= tok < T.SEC0 + len(T.LABELS):
            sections.append(([tok], []))
        elif tok == T.tid("EOS"):
            break
        elif not sections:
            raise ValueError("token stream has notes before its first section")
        elif T.BAR0 <= tok < T.BAR0 + T.MAX_SECTION_BARS:
            sections[-1][1].append([[tok]])
        elif not sections[-1][1]:
            sections[-1][0].append(tok)
        elif tok == T.tid("CHORDS") or T.TRK0 <= tok < T.TRK0 + len(T.ROLES) * T.MAX_SLOTS:
            sections[-1][1][-1].append([tok])
        else:
            sections[-1][1][-1][-1].append(tok)
    return header, sections


def join_song(header: list[int], sections) -> list[int]:
    out = list(header)
    for sec_hdr, bars in sections:
        out += sec_hdr
        for bar in bars:
            for seg in bar:
                out += seg
    return out + [T.tid("EOS")]


class Sampler:
    """One sampling session over one song: token log, KV cache, grammar, random generator.

    Run it under ``torch.inference_mode()`` (``generate_tokens`` / ``regenerate_tokens`` do): the model's
    ``decode`` step assumes it."""

    _U_BLOCK = 512  # uniforms drawn per generator call
    _CPU_STEPS_MAX = 4  # pending runs up to this long go through numpy steps; longer ones through model.decode

    def __init__(self, model, header: T.Header, seed: int, opts: SampleOptions | None = None,
                 progress: Progress | None = None, cancel: Callable[[], bool] | None = None):
        self.model, self.h, self.opts = model, header, opts or SampleOptions()
        self.device = next(model.parameters()).device
        self.gen = torch.Generator(device=self.device)
        self.gen.manual_seed(int(seed))
        self.grammar = Grammar.for_header(header, self.device)
        self.block = model.cfg.block_size
        self.cache = model.new_cache()
        self.cpu = CpuDecoder(model, self.cache) if self.device.type == "cpu" else None  # numpy single steps
        self.prior = HarmonyPrior(header, shared=self.grammar.prior_cache) if self.opts.harmony else None
        self.header_toks = T.header_tokens(header)
        self.tokens: list[int] = []  # the song so far
        self.ctx: list[int] = []  # what the cache holds (a window of the song)
        self.pending: list[int] = []  # forced tokens not yet fed to the model
        self.bar_starts: list[int] = []  # index in self.tokens of each BAR token
        self.bar_sec: list[list[int]] = []  # section header of each of those bars
        self.sec_hdr: list[int] = []  # current section header tokens
        self.sampled = 0
        self.rebuilds = 0
        self.progress, self.cancel = progress, cancel
        self.pre_fed: int | None = None
        self._u, self._u_next = np.zeros(0), 0
        self.feed(self.header_toks)

    # --- token log and model context -------------------------------------------------------------------
    def feed(self, toks: list[int]) -> None:
        for tok in toks:
            if T.BAR0 <= tok < T.BAR0 + T.MAX_SECTION_BARS:
                self.bar_starts.append(len(self.tokens))
                self.bar_sec.append(self.sec_hdr)
            self.tokens.append(tok)
            self.pending.append(tok)

    def _rebuild(self) -> None:
        """Restart the cache from header + section header + the latest whole bars that fit."""
        room = self.block - len(self.header_toks) - T.SECTION_HEADER_LEN - 1
        keep = min(int(self.block * self.opts.keep_fraction), room)
        n = len(self.tokens)
        idx = next((i for i, b in enumerate(self.bar_starts) if n - b <= keep), len(self.bar_starts) - 1)
        j, sec = self.bar_starts[idx], self.bar_sec[idx]
        if n - j > room:  # one huge bar: keep its tail only
            j = n - room
        prefix = self.header_toks + sec
        if self.tokens[j - len(sec):j] == sec:  # the window starts at the section header itself
            prefix, j = self.header_toks, j - len(sec)
        self.cache.reset()
        self.ctx = []
        self.pending = prefix + self.tokens[j:]
        self.rebuilds += 1

    def logits(self, allowed: Allowed | None = None) -> np.ndarray:
        """Feed pending tokens; return the next-token logits as float32 numpy: (vocab,), or with ``allowed``
        those of ``allowed.ids`` only (on the CPU path only their head rows are computed)."""
        if self.cache.pos + len(self.pending) > self.block:
            self._rebuild()
        if self.cpu is not None and 0 < len(self.pending) <= self._CPU_STEPS_MAX:  # short runs: numpy steps
            for tok in self.pending[:-1]:
                self.cpu.step(tok, ())  # keys/values only
            if allowed is None:
                out = self.cpu.step(self.pending[-1])  # (vocab,)
            else:
                out = self.cpu.step(self.pending[-1], allowed.spans)[allowed.take]  # (n,)
        else:
            out = self.model.decode(self.pending, self.cache).float().cpu().numpy()  # (vocab,)
            if allowed is not None:
                out = out[allowed.ids]  # (n,)
        self.ctx += self.pending
        self.pending = []
        return out

    def uniform(self) -> float:
        """Next U[0, 1) number of the session's generator (drawn in blocks: one device call per block)."""
        if self._u_next >= len(self._u):
            u = torch.rand(self._U_BLOCK, generator=self.gen, dtype=torch.float64, device=self.device)  # (block,)
            self._u = u.cpu().numpy()
            self._u_next = 0
        self._u_next += 1
        return float(self._u[self._u_next - 1])

    def choose(self, allowed: Allowed, bias: np.ndarray | None = None) -> int:
        """Sample one token among ``allowed.ids`` (logits plus ``bias``, (n,) with -inf for a forbidden token;
        temperature, then nucleus/top-p over the allowed tokens only) and feed it. A single allowed token is
        forced without running the model."""
        if self.cancel is not None and self.cancel():
            raise Cancelled()
        ids = allowed.ids
        if bias is not None:
            ok = np.flatnonzero(np.isfinite(bias))
            if len(ok) == 1:
                ids = ids[ok]
        if len(ids) == 1:
            tok = int(ids[0])
            self.feed([tok])
            return tok
        z = self.logits(allowed).astype(np.float64)  # (n,)
        if bias is not None:
            z = z + bias
        if self.opts.temperature <= 0:
            tok = int(ids[int(np.argmax(z))])
        else:
            z = (z - z.max()) / self.opts.temperature
            p = np.exp(z)
            p /= p.sum()
            order = np.argsort(-p, kind="stable")  # most likely first
            sp = p[order]
            cum = np.cumsum(sp)
            keep = max(1, int(np.searchsorted(cum - sp, self.opts.top_p, side="right")))  # mass before <= top_p
            k = int(np.searchsorted(cum[:keep], self.uniform() * cum[keep - 1], side="right"))
            tok = int(ids[order[min(k, keep - 1)]])
        self.sampled += 1
        self.feed([tok])
        return tok

    # --- skeleton walking ---------------------------------------------------------------------------------
    def sample_segment(self, track: int, end_token: int, steps_left_bar0: int) -> list[int]:
        """Sample one segment's content after its opener was fed; stop when ``end_token`` is chosen
        (it is fed and consumed). ``steps_left_bar0`` = steps from the bar start to the section end."""
        st = SegState(segment_kind(self.h, track), track)
        out: list[int] = []
        while True:
            left = steps_left_bar0 - max(st.last_pos, 0)
            allowed = self.grammar.allowed(st, end_token, left)
            tok = self.choose(allowed, self.prior.bias(st, allowed) if self.prior is not None else None)
            if tok == end_token:
                return out
            out.append(tok)
            if self.prior is not None:
                self.prior.observe(st, tok)
            Grammar.advance(st, tok)

    def section(self, si: int, forced: list[list[list[int] | None] | None] | None = None) -> list[list[list[int]]]:
        """Write section ``si``. ``forced[b][k]`` = tokens of segment k of bar b (k=0 bar token, 1 chords,
        2.. tracks, each with its opener) or None to sample it; ``forced[b] = None`` samples the whole bar.
        Returns the bars as segment token lists."""
        h = self.h
        spec = h.sections[si]
        self.sec_hdr = T.section_tokens(h, si)
        self.expect(self.sec_hdr[0])
        self.feed(self.sec_hdr[1:])
        slots = h.slots()
        openers = [T.tid("CHORDS")] + slots
        active = set(range(len(h.tracks))) if spec.tracks is None else set(spec.tracks)
        bars: list[list[list[int]]] = []
        bar0 = sum(s.bars for s in h.sections[:si])
        if self.prior is not None:
            self.prior.begin_section()
        for b in range(spec.bars):
            left0 = (spec.bars - b) * h.positions
            fb = forced[b] if forced is not None and b < len(forced) else None
            bar = [[T.BAR0 + b]]
            self.expect(T.BAR0 + b)
            if self.prior is not None:
                self.prior.begin_bar(bar0 + b)
            for k, opener in enumerate(openers):
                track = k - 1
                seg_forced = fb[k + 1] if fb is not None else None
                self.expect(opener)
                if track >= 0 and track not in active:
                    content = []  # the section's instruments leave this track silent
                    self.feed(content)
                elif seg_forced is not None:
                    content = list(seg_forced[1:])
                    self.feed(content)
                else:
                    nxt = openers[k + 1] if k + 1 < len(openers) else self._after_bar(si, b)
                    content = self.sample_segment(track, nxt, left0)
                    self.pre_fed = nxt  # the model's "end" token is the next opener: already in the log
                bar.append([opener] + content)
                if track < 0 and self.prior is not None:
                    self.prior.set_chords(content)
            bars.append(bar)
            if self.progress is not None:
                self.progress(b + 1, f"section {si + 1} bar {b + 1}/{spec.bars}")
        return bars

    def expect(self, tok: int) -> None:
        """Feed a structural token unless the model already wrote it as the end of the last segment."""
        if self.pre_fed is not None:
            if self.pre_fed != tok:
                raise AssertionError(f"grammar desync: {T.VOCAB[self.pre_fed]} vs {T.VOCAB[tok]}")
            self.pre_fed = None
            return
        self.feed([tok])

    def _after_bar(self, si: int, b: int) -> int:
        """Token that follows bar ``b`` of section ``si``: next BAR, next section's SEC, or EOS."""
        if b + 1 < self.h.sections[si].bars:
            return T.BAR0 + b + 1
        if si + 1 < len(self.h.sections):
            return T.section_tokens(self.h, si + 1)[0]
        return T.tid("EOS")


@_session
def generate_tokens(model, header: T.Header, seed: int, opts: SampleOptions | None = None,
                    progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                    vary_repeats: bool = True) -> GenResult:
    """Generate a whole song for ``header`` (plan). A section whose label already occurred copies that
    occurrence bar for bar and samples only its last bar again (``vary_repeats``)."""
    header.validate()
    t0 = time.perf_counter()
    total = sum(s.bars for s in header.sections)
    done = [0]

    def bar_progress(_b, msg):
        done[0] += 1
        if progress is not None:
            progress(done[0] / max(total, 1), msg)

    s = Sampler(model, header, seed, opts, bar_progress, cancel)
    first: dict[str, list] = {}
    for si, spec in enumerate(header.sections):
        lab = spec.label.strip().lower()
        forced = None
        if lab in first:
            src = first[lab]
            n = min(len(src), spec.bars) - (1 if vary_repeats else 0)
            forced = [fit_bar(src[b], (spec.bars - b) * header.positions, header) for b in range(max(n, 0))]
        bars = s.section(si, forced)
        first.setdefault(lab, bars)
    s.expect(T.tid("EOS"))
    return GenResult(list(s.tokens), int(seed), s.sampled, time.perf_counter() - t0,
                     {"tokens": len(s.tokens), "sampled": s.sampled, "rebuilds": s.rebuilds})


def fit_bar(bar: list[list[int]], steps_left: int, header: T.Header) -> list[list[int]]:
    """A copied bar with note durations clipped to ``steps_left`` (steps from bar start to section end)."""
    out = []
    for seg in bar:
        new, pos = [], 0
        for tok in seg:
            if T.POS0 <= tok < T.POS0 + T.MAX_POSITIONS:
                pos = tok - T.POS0
            elif T.DV0 <= tok < T.DV0 + T.NDV:
                d, v = divmod(tok - T.DV0, T.NV)
                while d > 0 and T.DURATIONS[d] > steps_left - pos:
                    d -= 1
                tok = T.DV0 + d * T.NV + v
            new.append(tok)
        out.append(new)
    return out


@_session
def regenerate_tokens(model, header: T.Header, song_tokens: list[int], section: int, seed: int,
                      track: int | None = None, from_bar: int = 0, opts: SampleOptions | None = None,
                      cancel: Callable[[], bool] | None = None, progress: Progress | None = None) -> GenResult:
    """New tokens for the song with section ``section`` redone; every other section is kept token for token.

    ``track`` (index into header.tracks) redoes only that track (the chord track and the other tracks are
    forced from the song as the sampler walks each bar); ``from_bar`` keeps the section's first bars.
    Context: the earlier sections, then the section header whose NEXT token names the following section.
    """
    header.validate()
    t0 = time.perf_counter()
    hdr, secs = split_song(song_tokens)
    if len(secs) != len(header.sections):
        raise ValueError(f"the song has {len(secs)} sections but the plan has {len(header.sections)}")
    bars = header.sections[section].bars

    def bar_progress(b, msg):
        if progress is not None:
            progress(b / max(bars, 1), msg)

    s = Sampler(model, header, seed, opts, bar_progress, cancel)
    for si in range(section):  # context: earlier sections, forced
        s.feed(T.section_tokens(header, si))
        for bar in secs[si][1]:
            for seg in bar:
                s.feed(seg)
    spec = header.sections[section]
    old = secs[section][1]
    forced: list = []
    for b in range(spec.bars):
        if b < from_bar and b < len(old):
            forced.append(old[b])
        elif track is not None and b < len(old):
            segs = list(old[b])
            segs[2 + track] = None
            forced.append(segs)
        else:
            forced.append(None)
    new_bars = s.section(section, forced)
    out_secs = list(secs)
    out_secs[section] = (T.section_tokens(header, section), new_bars)
    toks = join_song(hdr, out_secs)
    return GenResult(toks, int(seed), s.sampled, time.perf_counter() - t0, {"sampled": s.sampled, "rebuilds": s.rebuilds})
