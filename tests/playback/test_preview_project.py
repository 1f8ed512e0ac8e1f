"""Playback of an opened project: its diffusion stems are still-encoded ``CachedStem`` entries of the file, which
the preview decodes on first use (it used to fail with a TypeError and play nothing)."""
from __future__ import annotations

import numpy as np

from melodex_studio.engine.preview import PreviewStems
from melodex_studio.engine.proposals import cache_stem, stem_name
from melodex_studio.engine.session import ProjectSession
from tests.engine.session_helpers import make_session, tiny_plan, write_tiny_models


def test_an_opened_projects_diffusion_stems_play(tmp_path):
    models = write_tiny_models(tmp_path / "models")
    s = make_session(models)
    s.run(s.generate(plan=tiny_plan(), seed=4, render=True))
    live = {t.id: np.asarray(s.audio[stem_name(s.song, t.id)]) for t in s.song.tracks}
    s.save_as(tmp_path / "song.melodex")
    s.close()

    opened = ProjectSession(autosave=False)
    opened.open(tmp_path / "song.melodex", read_only=True)
    audio = dict(opened.audio)
    assert all(hasattr(v, "array") for v in audio.values())  # still encoded in the file
    stems, changed = PreviewStems(isolate=False).update(opened.song, audio, opened.song.sample_rate)
    assert changed == set(live)
    for tid, stem in live.items():
        np.testing.assert_array_equal(stems[tid], cache_stem(stem))
    opened.close()
