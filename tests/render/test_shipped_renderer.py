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


@pytest.mark.slow
def test_a_window_of_the_song_decodes_as_the_whole_song_does_there(renderer):
    """engine/partial_decode.py decodes only a window of a track, from ``receptive_frames()`` before the part it
    keeps, with the score's roll before it (``history_frames``): the notes that ended before the window ring on in
    it with their release tails as in the whole-song decode; without that history they would be missing."""
    import torch

    from melodex_studio.song import Note

    song = make_demo_song(bars=8, tracks=2)
    track = next(t for t in song.tracks if not t.is_drum)
    ppq_bar = song.meter_map.bar_to_tick(1)
    track.notes = [n for n in track.notes if n.start_tick < 4 * ppq_bar]  # silent after bar 4: only tails sound
    track.notes.append(Note(pitch=69, start_tick=4 * ppq_bar - 960, duration_ticks=480, velocity=110))
    T = renderer.song_frames(song)
    latent = torch.from_numpy(np.random.default_rng(0).standard_normal((T, renderer.codec.cfg.latent_dim),
                                                                        dtype=np.float32))
    whole = renderer.decode_track(song, track, latent)
    hop = renderer.hop
    f_end = song.tempo_map.tick_to_sample(4 * ppq_bar, renderer.sample_rate) // hop  # the last note ends here
    d0 = f_end + 5  # a window that starts 0.2 s after it
    w = renderer.decode_track(song, track, latent[d0:], d0, history_frames=renderer.release_frames())
    assert renderer.codec.decoder.receptive_frames() == 24  # 21 at the latent rate, 2 at the STFT rate, 1 spare
    exact = slice(renderer.codec.decoder.receptive_frames() * hop, None)
    assert np.abs(w[exact] - whole[d0 * hop:][exact]).max() < 1e-6  # float rounding (convolutions of other lengths)
    no_history = renderer.decode_track(song, track, latent[d0:], d0)
    assert np.abs(no_history[exact] - whole[d0 * hop:][exact]).max() > 1e-3  # the tails are audible without it
    assert renderer.release_frames() == 174  # 1 s time constant (harmonic_tail) to -60 dB at 25 frames/s


@pytest.mark.slow
def test_a_long_track_decodes_in_windows_as_in_one_pass_and_a_cancel_stops_between_them(renderer):
    """decode_track decodes a latent longer than DECODE_CHUNK_FRAMES window by window (bounded memory, and a
    cancel is answered within one window): the audio is the one-pass decode's up to float rounding, tails and
    harmonic phases included."""
    import torch

    from melodex_studio.errors import CancelledError
    from melodex_studio.render import diffusion

    song = make_demo_song(bars=40, tracks=2)  # 80 s: 2000 frames, three windows of 768
    track = next(t for t in song.tracks if not t.is_drum)
    T = renderer.song_frames(song)
    assert T > 2 * diffusion.DECODE_CHUNK_FRAMES
    latent = torch.from_numpy(np.random.default_rng(1).standard_normal((T, renderer.codec.cfg.latent_dim),
                                                                        dtype=np.float32))
    asked = []
    chunked = renderer.decode_track(song, track, latent, cancel=lambda: asked.append(1) and False)
    assert len(asked) == 3
    one_pass = renderer._decode_window(song, track, latent, 0, None, 0)
    assert chunked.shape == one_pass.shape and np.abs(one_pass).max() > 0.05
    assert np.abs(chunked - one_pass).max() < 1e-5
    calls = []
    with pytest.raises(CancelledError):
        renderer.decode_track(song, track, latent, cancel=lambda: calls.append(1) or len(calls) > 1)
    assert len(calls) == 2  # the second window was not decoded
