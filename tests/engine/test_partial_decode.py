"""Regenerating or varying one section decodes only that section (plus context) and splices it into the track's
stem (engine/partial_decode.py). With the shipped codec the result is the whole-song decode except for the
comping crossfade at the section's joins."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.engine.partial_decode import TAIL_S
from melodex_studio.engine.proposals import stem_name
from melodex_studio.engine.render_takes import decode_takes
from melodex_studio.engine.session import ProjectSession
from melodex_studio.prompt.plan import InstrumentPlan, SectionPlan, StylePlan
from melodex_studio.song import Key
from tests.engine.session_helpers import shipped_models_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Three 2-bar sections (bass and drums) written and rendered by the shipped models."""
    with shipped_models_session(tmp_path_factory.mktemp("data")) as s:
        plan = StylePlan(tempo_bpm=120.0, meter=(4, 4), key=Key.parse("D minor"),
                         form=[SectionPlan("intro", 2), SectionPlan("verse", 2), SectionPlan("outro", 2)],
                         instruments=[InstrumentPlan("bass", 33, "bass"),
                                      InstrumentPlan("drums", 0, "drums", is_drum=True)],
                         drums=True, genre="funk", mood="happy")
        s.run(s.generate(plan=plan, seed=5, render=True))
        yield s


def _stems(s: ProjectSession) -> dict[str, np.ndarray]:
    out = {}
    for t in s.song.tracks:
        a = s.audio[stem_name(s.song, t.id)]
        out[t.id] = np.asarray(a.array() if hasattr(a, "array") else a)
    return out


def test_regenerating_a_section_patches_the_stems_and_keeps_the_rest_bit_for_bit(session):
    song = session.song
    before = _stems(session)
    stages = []
    session.run(session.regenerate("verse", seed=77, render=True, progress=lambda p: stages.append(p.message)))
    assert "decoding the changed sections" in stages  # the patch path, not a whole decode
    after = _stems(session)
    whole = decode_takes(session.song, session.tensors, None, options=session.diffusion)
    sr = song.sample_rate
    a, b = (song.tempo_map.tick_to_sample(t, sr) for t in song.section_ticks(song.section("verse")))
    join = int(0.03 * sr)  # the crossfade at each join (50 ms) and rounding
    reach = int(0.7 * sr)  # the decoder's receptive field (16 latent frames) plus that
    for tid, new in after.items():
        old, ref = before[tid], whole.stems[tid][: new.shape[0]]
        peak = float(np.abs(ref).max())
        assert peak > 0.05
        # outside the verse, its joins and the 2 s after it (its notes' release tails): the old stem, bit for bit
        tail = b + int(TAIL_S * sr)
        np.testing.assert_array_equal(new[: a - join], old[: a - join])
        np.testing.assert_array_equal(new[tail + join:], old[tail + join:])
        # inside: the whole-song decode of the new takes (24-bit grid apart), away from the joins
        inner = slice(a + reach, b - reach)
        assert np.abs(new[inner] - ref[inner]).max() < 1e-4 * max(1.0, peak)
        assert not np.allclose(new[inner], old[inner], atol=1e-3)  # the verse did change
        # and everywhere close: what differs is the 0.7 s before the verse (the old stem was decoded with the old
        # verse as context) and what still rings of the old and new verse 2 s after it (4 s sections here)
        residual = np.sum((new - ref) ** 2) / np.sum(ref ** 2)
        assert residual < 10 ** (-20 / 10)


def test_a_variation_with_the_takes_own_seed_keeps_the_stems_unchanged(session):
    from melodex_studio.engine.render_takes import current_take

    before = _stems(session)
    take = current_take(session.song, "verse", session.song.tracks[0].id)
    p = session.run(session.vary("verse", 1, seed=take.seed, tracks=[session.song.tracks[0].id]))
    assert p.takes and p.takes[0].id != take.id
    after = _stems(session)
    for tid in before:
        np.testing.assert_array_equal(after[tid], before[tid])


def test_switching_back_to_a_render_take_decodes_only_its_section(session, monkeypatch):
    from melodex_studio.engine import render_takes
    from melodex_studio.engine.render_takes import current_take

    song = session.song
    bass = song.tracks[0]
    take_a = current_take(song, "verse", bass.id)
    stem_a = _stems(session)[bass.id]
    step = min(take_a.params["state"]["steps_recorded"])  # take A may itself be a variation (later steps only)
    session.run(session.vary("verse", step, seed=take_a.seed + 1, take=take_a.id))  # take B plays now
    assert current_take(session.song, "verse", bass.id).id != take_a.id
    session._stem_memo.clear()  # take A's stem is no longer held: switching back must decode

    def whole_decode(*_a, **_k):
        raise AssertionError("the whole track was decoded")

    monkeypatch.setattr(render_takes, "decode_takes", whole_decode)
    session.use_take(take_a.id)
    back = _stems(session)[bass.id]
    sr = song.sample_rate
    a, b = (song.tempo_map.tick_to_sample(t, sr) for t in song.section_ticks(song.section("verse")))
    reach = int(0.7 * sr)
    np.testing.assert_array_equal(back[: a - reach], stem_a[: a - reach])  # outside: untouched
    tail = b + int(TAIL_S * sr)  # the verse's release tails were decoded again, with the next section's gain
    np.testing.assert_array_equal(back[tail + reach:], stem_a[tail + reach:])
    after = slice(b + reach, tail - reach)
    assert np.abs(back[after] - stem_a[after]).max() < 0.05 * np.abs(stem_a[after]).max()
    inner = slice(a + reach, b - reach)
    assert np.abs(back[inner] - stem_a[inner]).max() < 1e-4  # take A's verse again
    assert np.sum((back - stem_a) ** 2) / np.sum(stem_a ** 2) < 10 ** (-20 / 10)
