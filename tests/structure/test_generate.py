"""Constrained sampling with a real (tiny, random-weight) model: every output obeys the plan; seeds
reproduce; regeneration keeps everything it should keep; checkpoints rebuild their model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from melodex_studio.errors import ModelError
from melodex_studio.structure import tokens as T
from melodex_studio.structure.checkpoint import load_checkpoint, save_checkpoint
from melodex_studio.structure.generate import generate_tokens, regenerate_tokens
from melodex_studio.structure.grammar import allowed_pitch_classes
from melodex_studio.structure.transformer import build_model
from tests.structure.conftest import make_plan


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("tiny").eval()


def check_song(tokens, h):
    song = T.decode(tokens, h)
    bars = [(s.label, s.length_bars) for s in song.sections]
    assert bars == [(s.label, s.bars) for s in h.sections]
    assert [(t.name, t.program, t.is_drum) for t in song.tracks] == [(t.name, t.program, t.is_drum) for t in h.tracks]
    bt, end = h.bar_ticks, song.bar_to_tick(song.length_bars)
    pcs = set(allowed_pitch_classes(h.key.mode, h.genre))
    for t in song.tracks:
        for n in t.notes:
            assert n.start_tick % T.STEP_TICKS == 0 and n.start_tick < end and n.end_tick <= end
            if not t.is_drum:
                assert (n.pitch - h.key.tonic) % 12 in pcs
    sec_of = {}
    for s in song.sections:
        for b in range(s.start_bar, s.end_bar):
            sec_of[b] = s
    for t in song.tracks:  # notes never ring past the end of their section
        for n in t.notes:
            assert n.end_tick <= sec_of[n.start_tick // bt].end_bar * bt
    return song


@pytest.mark.parametrize("meter,key,drums,genre", [((4, 4), "D major", True, "pop"), ((3, 4), "A minor", False, "folk"),
                                                    ((6, 8), "F major", True, "jazz")])
def test_output_follows_the_plan(model, meter, key, drums, genre):
    plan = make_plan(meter=meter, key=key, drums=drums, genre=genre, form=(("intro", 2), ("verse", 3), ("chorus", 2)))
    h = T.header_from_plan(plan)
    res = generate_tokens(model, h, seed=7)
    song = check_song(res.tokens, h)
    assert any(t.is_drum for t in song.tracks) == drums
    assert sum(len(t.notes) for t in song.tracks) > 0
    assert res.sampled < len(res.tokens)  # structure tokens are forced, not sampled


def test_same_seed_same_tokens_and_cache_rebuilds_are_seamless(model):
    plan = make_plan(form=(("verse", 6), ("chorus", 6), ("verse", 6)))
    h = T.header_from_plan(plan)
    a, b = generate_tokens(model, h, seed=11), generate_tokens(model, h, seed=11)
    assert a.tokens == b.tokens
    assert a.stats["rebuilds"] >= 1  # the 256-token cache was rebuilt at bar boundaries
    assert generate_tokens(model, h, seed=12).tokens != a.tokens
    check_song(a.tokens, h)


def test_repeated_label_copies_all_but_the_last_bar(model):
    plan = make_plan(form=(("chorus", 3), ("verse", 2), ("chorus", 3)))
    h = T.header_from_plan(plan)
    song = T.decode(generate_tokens(model, h, seed=3).tokens, h)
    bt = h.bar_ticks
    for t in song.tracks:
        first = [(n.start_tick, n.pitch) for n in t.notes if n.start_tick < 2 * bt]
        again = [(n.start_tick - 5 * bt, n.pitch) for n in t.notes if 5 * bt <= n.start_tick < 7 * bt]
        assert first == again


def test_regenerate_section_keeps_other_sections_bit_identical(model):
    plan = make_plan()
    h = T.header_from_plan(plan)
    old = generate_tokens(model, h, seed=1).tokens
    new = regenerate_tokens(model, h, old, section=2, seed=99).tokens
    a, b = T.decode(old, h), T.decode(new, h)
    s = b.sections[2]
    lo, hi = b.section_ticks(s)
    for ta, tb in zip(a.tracks, b.tracks):
        assert [n for n in ta.notes if not lo <= n.start_tick < hi] == [n for n in tb.notes if not lo <= n.start_tick < hi]
    assert any(ta.notes_in(lo, hi) != tb.notes_in(lo, hi) for ta, tb in zip(a.tracks, b.tracks))
    check_song(new, h)


def test_regenerate_one_track_and_continue_from_bar(model):
    plan = make_plan()
    h = T.header_from_plan(plan)
    old = generate_tokens(model, h, seed=2).tokens
    a = T.decode(old, h)
    b = T.decode(regenerate_tokens(model, h, old, section=1, seed=5, track=1).tokens, h)
    lo, hi = a.section_ticks(a.sections[1])
    for i, (ta, tb) in enumerate(zip(a.tracks, b.tracks)):
        if i != 1:
            assert ta.notes == tb.notes
    assert a.chords == b.chords
    c = T.decode(regenerate_tokens(model, h, old, section=1, seed=5, from_bar=2).tokens, h)
    keep = lo + 2 * h.bar_ticks
    for ta, tc in zip(a.tracks, c.tracks):  # the kept bars' notes stay; a note held over the cut may end where a
        kept_a = [n for n in ta.notes if n.start_tick < keep]  # new note of its pitch starts (one MIDI channel)
        kept_c = [n for n in tc.notes if n.start_tick < keep]
        assert [(n.start_tick, n.pitch, n.velocity) for n in kept_a] == [(n.start_tick, n.pitch, n.velocity) for n in kept_c]
        for na, nc in zip(kept_a, kept_c):  # (in the new take or, the other way round, in the old one)
            assert nc.duration_ticks == na.duration_ticks or (
                nc.end_tick > keep and any(m.pitch == nc.pitch and m.start_tick == nc.end_tick for m in tc.notes)) or (
                na.end_tick > keep and any(m.pitch == na.pitch and m.start_tick == na.end_tick for m in ta.notes))


def test_checkpoint_rebuilds_model_and_rejects_bad_files(model, tmp_path):
    p = tmp_path / "m.safetensors"
    sha = save_checkpoint(model, p, {"step": 3})
    m2, info = load_checkpoint(p)
    assert info["sha256"] == sha and info["training"]["step"] == 3 and info["config"]["n_layer"] == 2
    x = torch.randint(0, T.VOCAB_SIZE, (1, 12))
    with torch.no_grad():
        torch.testing.assert_close(m2(x), model(x))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ModelError):
        load_checkpoint(bad)
    with pytest.raises(ModelError):
        load_checkpoint(tmp_path / "missing.safetensors")


def test_lean_decode_step_matches_the_training_forward(model):
    """decode() (token-by-token and in chunks, cache written in place) gives the logits of forward()."""
    torch.manual_seed(1)
    seq = torch.randint(0, T.VOCAB_SIZE, (90,)).tolist()
    with torch.inference_mode():
        ref = model(torch.tensor([seq]))[0]  # (90, vocab)
        cache = model.new_cache()
        got = [model.decode(seq[:10], cache)] + [model.decode([t], cache) for t in seq[10:50]]
        got += [model.decode(seq[50:70], cache)] + [model.decode([t], cache) for t in seq[70:]]
    rows = [9] + list(range(10, 50)) + [69] + list(range(70, 90))
    assert cache.pos == 90
    torch.testing.assert_close(torch.stack(got), ref[rows], atol=1e-5, rtol=1e-4)


def test_grammar_ids_agree_with_masks_and_segment_rules():
    from melodex_studio.structure.grammar import Grammar, SegState

    h = T.header_from_plan(make_plan(key="A minor", genre="pop"))
    g = Grammar(h)
    st = SegState("pitched", 1, phase="item", last_pos=3, last_item=12, count=1)
    a = g.allowed(st, T.TRK0, 40)
    ids = a.ids
    assert ids.tolist() == g.mask(st, T.TRK0, 40).nonzero().flatten().tolist()
    rows = np.concatenate([np.arange(lo, hi) for lo, hi in a.spans])  # the head rows the sampler computes
    assert rows[a.take].tolist() == ids.tolist() and len(a.spans) <= 3
    names = {T.VOCAB[i] for i in ids}
    assert T.VOCAB[T.TRK0] in names and "POS_3" not in names and "POS_4" in names and "POS_15" in names
    assert "POS_16" not in names  # 4/4: 16 steps per bar
    pitches = [int(n.split("_")[1]) for n in names if n.startswith("PITCH_")]
    assert pitches and min(pitches) > 12 and all(p % 12 in (0, 2, 3, 5, 7, 8, 10, 11) for p in pitches)
    dv = {T.VOCAB[i] for i in g.allowed(SegState("pitched", 1, phase="pitch", last_pos=14), -1, 2).ids}
    assert dv == {f"DV_{d}_{v}" for d in (1, 2) for v in range(T.NV)}  # 2 steps left in the section


def test_numpy_cpu_step_matches_the_training_forward(model):
    """CpuDecoder.step (folded weights, numpy) gives forward()'s logits, full or over head-row spans, and
    shares its KV cache with the torch decode path (prefill in torch, steps in numpy)."""
    from melodex_studio.structure.cpu_decode import CpuDecoder

    torch.manual_seed(2)
    seq = torch.randint(0, T.VOCAB_SIZE, (80,)).tolist()
    spans = ((T.POS0, T.POS0 + 16), (T.PITCH0 + 40, T.PITCH0 + 90))
    with torch.inference_mode():
        ref = model(torch.tensor([seq]))[0].numpy()  # (80, vocab)
        cache = model.new_cache()
        dec = CpuDecoder(model, cache)
        model.decode(seq[:30], cache)
        full = np.stack([dec.step(t) for t in seq[30:60]])
        model.decode(seq[60:70], cache)
        part = np.stack([dec.step(t, spans) for t in seq[70:]])
    np.testing.assert_allclose(full, ref[30:60], atol=2e-5, rtol=1e-4)
    cols = np.r_[T.POS0:T.POS0 + 16, T.PITCH0 + 40:T.PITCH0 + 90]
    np.testing.assert_allclose(part, ref[70:, cols], atol=2e-5, rtol=1e-4)


def test_cpu_weights_are_cached_until_a_parameter_changes():
    from melodex_studio.structure.cpu_decode import cpu_weights

    torch.manual_seed(3)
    m = build_model("tiny").eval()
    w = cpu_weights(m)
    assert cpu_weights(m) is w
    with torch.no_grad():
        m.blocks[0].mlp.fc.weight.mul_(2.0)  # e.g. a training step between two generations
    w2 = cpu_weights(m)
    assert w2 is not w and not np.allclose(w2.layers[0][3], w.layers[0][3])
