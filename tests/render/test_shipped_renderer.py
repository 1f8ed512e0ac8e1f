"""The shipped codec and diffusion renderer (models/codec-small, models/renderer-small): they load, render a
pitched track of a short song to finite audio whose chroma follows its score, and a drum track too."""
from __future__ import annotations

import numpy as np
import pytest

from melodex_studio.engine import models
from melodex_studio.errors import ModelError
from melodex_studio.eval.renderer_eval import chroma_similarity
from melodex_studio.render.diffusion import RenderSettings
from tests.songs import make_demo_song


@pytest.fixture(scope="module")
def renderer():
    try:
        models.diffusion_model_paths()
    except ModelError:
        pytest.skip("no shipped diffusion renderer in models/")
    yield models.load_diffusion_renderer(device="cpu")
    models.clear_cache()


def _notes(song, track):
    tm = song.tempo_map
    return [(tm.tick_to_seconds(n.start_tick), tm.tick_to_seconds(n.end_tick), n.pitch, n.velocity) for n in track.notes]


@pytest.mark.slow
def test_the_shipped_renderer_follows_the_score(renderer):
    song = make_demo_song(bars=4, tracks=4)
    pitched = max((t for t in song.tracks if not t.is_drum), key=lambda t: len(t.notes))
    latent, renders = renderer.render_track(song, pitched, RenderSettings(steps=8, seed=0))
    audio = renderer.decode_track(song, pitched, latent)
    assert np.isfinite(audio).all() and 1e-3 < np.sqrt(np.mean(audio ** 2)) and np.abs(audio).max() < 1.0
    sr = renderer.sample_rate
    right = chroma_similarity(audio, sr, _notes(song, pitched))
    shifted = [(a, b, p + 6, v) for a, b, p, v in _notes(song, pitched)]  # the same score a tritone away
    assert right > 0.7 and right > chroma_similarity(audio, sr, shifted) + 0.3
    drums = next(t for t in song.tracks if t.is_drum)
    d_latent, _ = renderer.render_track(song, drums, RenderSettings(steps=8, seed=0))
    d_audio = renderer.decode_track(song, drums, d_latent)
    assert np.isfinite(d_audio).all() and np.sqrt(np.mean(d_audio ** 2)) > 1e-3
