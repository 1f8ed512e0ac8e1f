"""Any take can be made again from what the project stores: with the shipped models on the CPU, regenerating a
structure take with its seed gives bit-identical tokens, and resuming a render take from its recorded step with
its seed gives the same latent and the same audio within 1e-5 (also after a save and reopen)."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.engine.diffusion_render import DiffusionOptions
from melodex_studio.engine.proposals import stem_name
from melodex_studio.engine.render_takes import current_take
from melodex_studio.engine.session import ProjectSession
from tests.engine.session_helpers import shipped_models_session, tiny_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """One song (2 x 2 bars, piano and drums) written and rendered by the shipped models, shared by the tests."""
    with shipped_models_session(tmp_path_factory.mktemp("data")) as s:
        s.run(s.generate(plan=tiny_plan(bars=2), seed=21, render=True))
        yield s


def test_a_structure_take_regenerated_with_its_seed_has_the_same_tokens(session):
    first = session.run(session.regenerate("chorus", seed=11)).takes[0]
    tokens, notes = session.tensors[first.tensors[0]].copy(), {t.id: list(t.notes) for t in session.song.tracks}
    session.undo()
    again = session.run(session.regenerate("chorus", seed=first.seed)).takes[0]
    assert np.array_equal(session.tensors[again.tensors[0]], tokens)
    assert {t.id: list(t.notes) for t in session.song.tracks} == notes


def test_a_render_take_resumed_from_its_recorded_step_with_its_seed_gives_the_same_audio(session, tmp_path):
    session.run(session.render(stale_only=True))  # what an earlier test regenerated without rendering
    song = session.song
    piano, verse = song.track("piano"), song.section("verse")
    take = current_take(song, verse, piano.id)
    latent = session.tensors[f"render/{take.id}/latent"].copy()
    stem = np.asarray(session.audio[stem_name(song, piano.id)]).copy()
    session.save_as(tmp_path / "r.melodex")  # from the stored state: reopen the file first
    session.close()
    s = ProjectSession(device="cpu", diffusion=DiffusionOptions(steps=4, device="cpu"), autosave=False)
    s.open(tmp_path / "r.melodex")
    step = 1  # a step every render of 4 steps records
    p = s.run(s.vary("verse", step, seed=take.seed, tracks=["piano"]))
    new = p.takes[0]
    assert new.id != take.id and new.params["from_step"] == step
    np.testing.assert_allclose(s.tensors[f"render/{new.id}/latent"], latent, atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.asarray(s.audio[stem_name(s.song, piano.id)]), stem, atol=1e-5, rtol=0)
    other = s.run(s.vary("verse", step, seed=take.seed + 1, take=take.id)).takes[0]
    assert np.abs(s.tensors[f"render/{other.id}/latent"] - latent).max() > 1e-2  # another seed: another render
    s.close()
