"""Codec: shapes, exact STFT round trip, losses, config in the checkpoint, and a short real training run."""
import math

import numpy as np
import pytest
import torch

from melodex_studio.errors import ModelError
from melodex_studio.render.codec import (
    CODEC_PRESETS, CodecConfig, build_codec, energy_loss, istft_same, kl_loss, mel_loss, mrstft_loss, stft_same,
)
from melodex_studio.render.diffusion import load_codec, load_dit, save_model


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def test_shapes_and_latent_rate():
    codec = build_codec("tiny").eval()
    cfg = codec.cfg
    assert cfg.latent_hop == 960 and cfg.latent_rate == 25.0
    x = torch.randn(2, 24000 + 100)  # not a whole number of frames: padded
    z = codec.encode(x)
    assert z.shape == (2, 26, cfg.latent_dim)
    y = codec.decode(z)
    assert y.shape == (2, 26 * 960) and torch.isfinite(y).all()


def test_same_padding_stft_round_trip_is_exact():
    x = torch.randn(3, 960 * 7)
    spec = stft_same(x, 960, 240)
    assert spec.shape == (3, 481, 28)
    assert torch.allclose(istft_same(spec, 960, 240), x, atol=1e-5)


def test_losses_are_zero_on_identity_and_positive_otherwise():
    x = torch.randn(2, 8000)
    assert float(mrstft_loss(x, x)) < 1e-6
    assert float(mrstft_loss(0.5 * x, x)) > 0.1
    assert float(mel_loss(x, x, 24000)) == 0.0
    assert float(mel_loss(0.5 * x, x, 24000)) == pytest.approx(math.log(4), rel=1e-3)  # power mel: 1/4
    assert float(energy_loss(x, x)) == 0.0
    assert float(energy_loss(0.5 * x, x)) == pytest.approx(math.log(4), rel=1e-2)  # quieter by 6 dB everywhere
    spec = torch.fft.rfft(x)
    tilted = torch.fft.irfft(spec * torch.linspace(2.0, 0.0, spec.shape[-1]), n=x.shape[-1])  # same energy, darker
    assert float(energy_loss(tilted, x)) > 0.5
    mean, logvar = torch.zeros(2, 5, 4), torch.zeros(2, 5, 4)
    assert float(kl_loss(mean, logvar)) == 0.0
    assert float(kl_loss(mean + 1, logvar)) == pytest.approx(0.5)


def test_config_in_checkpoint_rebuilds_the_model(tmp_path):
    cfg = CodecConfig(**{**CODEC_PRESETS["tiny"].__dict__, "latent_mean": 0.25, "latent_std": 2.0})
    assert CodecConfig.from_json(cfg.to_json()) == cfg
    codec = build_codec(cfg).eval()
    path = tmp_path / "codec.safetensors"
    save_model(codec, cfg.to_json(), path, "codec")
    again = load_codec(path)
    assert again.cfg == cfg
    x = torch.randn(1, 9600)
    with torch.no_grad():
        assert torch.equal(codec.decode(codec.encode(x)), again.decode(again.encode(x)))
    with pytest.raises(ModelError):
        load_dit(path)  # a codec is not a renderer checkpoint
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError):
        load_codec(tmp_path / "bad.safetensors")


def test_a_short_training_run_reduces_the_reconstruction_loss():
    sr = 24000
    t = torch.arange(9600) / sr
    x = torch.stack([0.5 * torch.sin(2 * math.pi * f * t) * torch.exp(-3 * t) for f in (220.0, 330.0, 440.0, 660.0)])
    codec = build_codec("tiny")
    opt = torch.optim.AdamW(codec.parameters(), lr=3e-3)
    losses = []
    g = torch.Generator().manual_seed(0)
    for _ in range(25):
        recon, mean, logvar = codec(x, generator=g)
        loss = mrstft_loss(recon, x) + 1e-4 * kl_loss(mean, logvar)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.75 * np.mean(losses[:5])


def test_warm_start_into_a_wider_latent_reconstructs_like_the_source():
    from dataclasses import replace

    from melodex_studio.training.train_codec import warm_start

    src = build_codec("tiny").eval()
    with torch.no_grad():  # non-trivial decoder input weights, so that the copy is checked for real
        src.decoder.inp.weight.normal_()
    wide = build_codec(replace(CODEC_PRESETS["tiny"], latent_dim=2 * src.cfg.latent_dim)).eval()
    assert warm_start(wide, src.state_dict()) == []
    x = torch.randn(2, 9600) * 0.3
    with torch.no_grad():
        m_src, lv_src = src.encode_dist(x)
        m_wide, lv_wide = wide.encode_dist(x)
        d = src.cfg.latent_dim
        assert torch.equal(m_wide[..., :d], m_src) and torch.equal(lv_wide[..., :d], lv_src)
        assert float(lv_wide[..., d:].mean()) < -3.0  # new channels start with a small posterior variance
        torch.testing.assert_close(wide.decode(m_wide), src.decode(m_src), rtol=1e-5, atol=1e-6)
        # the new channels are unused at first: changing them does not change the audio
        shifted = m_wide.clone()
        shifted[..., d:] += 5.0
        torch.testing.assert_close(wide.decode(shifted), wide.decode(m_wide), rtol=1e-5, atol=1e-6)


def test_integrated_phase_keeps_a_steady_partial_coherent():
    """phase_mode 'integrate': zero predicted deviation = each bin advances by its centre frequency per hop,
    so one bin's magnitude alone decodes to a clean sinusoid at that bin's frequency; a constant deviation d
    raises the advance per frame by exactly d."""
    from dataclasses import replace

    codec = build_codec(replace(CODEC_PRESETS["tiny"], phase_mode="integrate")).eval()
    cfg = codec.cfg
    K, T = cfg.n_fft // 2 + 1, 40
    dev = torch.zeros(1, K, T)
    phase = codec.decoder._integrated_phase(dev, torch.zeros(1, K, T))
    step = torch.remainder(phase[..., 1:] - phase[..., :-1], 2 * math.pi)
    expected = torch.remainder(2 * math.pi * torch.arange(K)[:, None] * cfg.hop_length / cfg.n_fft, 2 * math.pi)
    d = torch.remainder(step - expected + math.pi, 2 * math.pi) - math.pi  # wrapped difference
    assert float(d.abs().max()) < 1e-3
    shifted = codec.decoder._integrated_phase(dev + 0.3, torch.zeros(1, K, T))
    d = torch.remainder(shifted[..., 1:] - shifted[..., :-1] - step - 0.3 + math.pi, 2 * math.pi) - math.pi
    assert float(d.abs().max()) < 1e-3

    k = 20  # 20 * 24000 / 960 = 500 Hz
    spec = torch.polar(torch.zeros(1, K, T).index_fill_(1, torch.tensor([k]), 1.0), phase)
    wave = istft_same(spec, cfg.n_fft, cfg.hop_length)[0, cfg.n_fft: -cfg.n_fft]
    power = torch.fft.rfft(wave * torch.hann_window(wave.numel())).abs().square()
    freqs = torch.fft.rfftfreq(wave.numel(), 1 / cfg.sample_rate)
    assert float(freqs[power.argmax()]) == pytest.approx(500.0, abs=2 * cfg.sample_rate / wave.numel())
    near = (freqs - 500.0).abs() < 30
    assert float(power[near].sum() / power.sum()) > 0.99  # a pure tone, not smeared by frame-to-frame phase jumps

    with torch.no_grad():
        y = codec.decode(torch.randn(1, 6, cfg.latent_dim))
    assert y.shape == (1, 6 * cfg.latent_hop) and torch.isfinite(y).all()


def test_harmonic_bank_writes_the_stft_of_the_notes_partials():
    """One note with two partials through the bank and the iSTFT is the sum of the two cosines, for a low, a
    middle and a high note; its frames are the STFT of that signal."""
    from melodex_studio.render.harmonic import HarmonicBank

    sr, n_fft, hop, K, T = 24000, 960, 240, 4, 100
    bank = HarmonicBank(K, sr, n_fft, hop)
    params = torch.full((1, T, 2 * K), -40.0)
    params[..., K:] = 0.0
    params[..., 0], params[..., 2] = math.log(0.5), math.log(0.2)  # partials 1 and 3
    for pitch in (28, 69, 100):
        roll = torch.zeros(1, T, 128)
        roll[..., pitch] = 1.0
        spec = bank(params, roll)
        y = istft_same(spec, n_fft, hop)[0]
        f = 440.0 * 2 ** ((pitch - 69) / 12)
        n = torch.arange(y.numel(), dtype=torch.float64)
        ref = 0.5 * torch.cos(2 * math.pi * f * n / sr) + (0.2 * torch.cos(2 * math.pi * 3 * f * n / sr) if 3 * f < 0.45 * sr else 0)
        mid = slice(2000, -2000)
        assert float((y[mid] - ref[mid]).norm() / ref[mid].norm()) < 5e-3, pitch
        S = stft_same(ref.float()[None], n_fft, hop)[0]
        assert float((S[:, 10:-10] - spec[0][:, 10:-10]).abs().max() / S.abs().max()) < 1e-2, pitch
    half = roll * 0.5
    assert torch.allclose(bank(params, half), 0.5 * bank(params, roll), atol=1e-5)  # level scales the note
    assert float(bank(params, torch.zeros(1, T, 128)).abs().max()) == 0.0


def test_hann_window_transform_in_closed_form_equals_the_sum():
    """The bank's kernels: the closed form equals sum_n h[n] e^{-j theta n}, at bin centres (where the Dirichlet
    kernel's 0/0 limit is taken) and anywhere else."""
    from melodex_studio.render.harmonic import _hann_dtft

    N = 960
    n = np.arange(N)
    h = 0.5 - 0.5 * np.cos(2 * np.pi * n / N)
    theta = np.concatenate([np.random.default_rng(0).uniform(-7, 7, 300), 2 * np.pi * np.arange(-4, 5) / N,
                            [2 * np.pi, -4 * np.pi, 2 * np.pi / N + 1e-11]])
    direct = np.exp(-1j * theta[:, None] * n) @ h
    assert np.abs(_hann_dtft(theta, N) - direct).max() < 1e-8 * N
    assert _hann_dtft(np.zeros(1), N)[0] == pytest.approx(N / 2)


def test_a_codec_with_harmonics_uses_the_roll_and_learns_through_it():
    from dataclasses import replace

    codec = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=8))
    z = torch.randn(1, 5, codec.cfg.latent_dim)
    roll = torch.zeros(1, 5, 128)
    with torch.no_grad():
        silent = codec.decode(z)
        assert torch.equal(codec.decode(z, roll), silent)  # no notes (drums): the STFT head alone
        roll[0, 1:4, 64] = 0.8
        with_note = codec.decode(z, roll)
    assert with_note.shape == silent.shape and not torch.allclose(with_note, silent)
    power = torch.fft.rfft(with_note[0] - silent[0]).abs().square()
    freqs = torch.fft.rfftfreq(with_note.shape[1], 1 / codec.cfg.sample_rate)
    f0 = 440.0 * 2 ** ((64 - 69) / 12)
    assert abs(float(freqs[power.argmax()]) / f0 - round(float(freqs[power.argmax()]) / f0)) < 0.02  # a harmonic of E4
    x = torch.randn(2, 9600) * 0.1
    recon, _, _ = codec(x, roll=torch.zeros(2, 10, 128).index_fill_(2, torch.tensor([60]), 1.0))
    mrstft_loss(recon, x).backward()
    assert codec.decoder.harm_head.weight.grad.abs().sum() > 0


def test_released_notes_ring_on_through_a_decaying_gate():
    from dataclasses import replace

    from melodex_studio.render.harmonic import release_tails

    level = torch.zeros(1, 10, 128)
    level[0, 1:3, 60] = 0.8  # a note, released at frame 3
    level[0, 6:8, 60] = 0.5  # struck again at frame 6: its tail stops
    tails = release_tails(level, 0.5)[0, :, 60]
    assert torch.allclose(tails, torch.tensor([0, 0, 0, 0.4, 0.2, 0.1, 0, 0, 0.25, 0.125]))
    assert float(release_tails(level, 0.5)[0, :, 61].abs().max()) == 0.0

    def stepwise(lv, decay, floor=1e-3):  # the recurrence frame by frame, as the docstring states it
        out, tail, prev = torch.zeros_like(lv), torch.zeros_like(lv[:, 0]), torch.zeros_like(lv[:, 0])
        for t in range(lv.shape[1]):
            cur = lv[:, t]
            tail = torch.where(cur > 0, torch.zeros_like(cur), torch.maximum(tail, prev) * decay)
            tail = torch.where(tail < floor, torch.zeros_like(tail), tail)
            out[:, t], prev = tail, cur
        return out

    g = torch.Generator().manual_seed(3)
    rand = (torch.rand(2, 300, 128, generator=g) > 0.93).float() * torch.rand(2, 300, 128, generator=g)
    assert torch.allclose(release_tails(rand, 0.96), stepwise(rand, 0.96), atol=1e-6)

    codec = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4, harmonic_tail=0.5)).eval()
    short = torch.zeros(1, 12, 128)
    short[0, 2:4, 57] = 1.0
    z = torch.randn(1, 12, codec.cfg.latent_dim)
    with torch.no_grad():
        ringing = codec.decode(z, short) - codec.decode(z)
        codec.decoder.tail_head.bias.fill_(-40.0)  # no release: the note stops at its score end
        dry = codec.decode(z, short) - codec.decode(z)
    after = slice(5 * codec.cfg.latent_hop, 8 * codec.cfg.latent_hop)
    assert float(ringing[0, after].abs().max()) > 10 * float(dry[0, after].abs().max())


def test_warm_start_into_more_harmonics_keeps_the_old_ones():
    from dataclasses import replace

    from melodex_studio.training.train_codec import warm_start

    src = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4, harmonic_tail=0.5))
    with torch.no_grad():
        src.decoder.harm_head.weight.normal_()
        src.decoder.tail_head.bias.normal_()
    big = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=10, harmonic_tail=0.5))
    assert warm_start(big, src.state_dict()) == []
    hs, hb = src.decoder.harm_head.weight.detach(), big.decoder.harm_head.weight.detach()
    assert torch.equal(hb[:4], hs[:4]) and torch.equal(hb[10:14], hs[4:8])  # log amplitudes and slopes
    assert float(hb[4:10].detach().abs().max()) == 0.0 and torch.all(big.decoder.harm_head.bias[4:10] == -6.0)
    assert torch.equal(big.decoder.tail_head.bias[:4], src.decoder.tail_head.bias)


def test_warm_start_into_a_deeper_decoder_starts_as_the_source():
    """Extra decoder blocks (at the latent rate and at the frame rate) start as the identity: the deeper codec
    decodes exactly like its source until it trains; then the new blocks change the output."""
    from dataclasses import replace

    from melodex_studio.training.train_codec import warm_start

    torch.manual_seed(0)
    src = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4)).eval()
    deep = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4, dec_blocks=3, dec_high_blocks=2)).eval()
    assert warm_start(deep, src.state_dict()) == []
    x = torch.randn(1, 4 * src.cfg.latent_hop) * 0.1
    roll = torch.zeros(1, 4, 128)
    roll[..., 64] = 0.7
    with torch.no_grad():
        assert torch.equal(deep.decode(deep.encode(x), roll), src.decode(src.encode(x), roll))
        deep.decoder.blocks[2].gamma.fill_(0.1)
        assert not torch.allclose(deep.decode(deep.encode(x), roll), src.decode(src.encode(x), roll))


def test_a_conditioned_decoder_warm_starts_as_its_source_and_then_hears_the_instrument():
    """The instrument and tag conditions start at zero (a conditioned codec warm-started from an unconditioned one
    decodes exactly like it); once trained, the instrument changes the sound, "not known" (None) is its own
    condition, and tags add to the instrument's."""
    from dataclasses import replace

    from melodex_studio.render.score_features import STYLE_TAGS, tag_vector
    from melodex_studio.training.train_codec import warm_start

    torch.manual_seed(0)
    src = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4)).eval()
    cond = build_codec(replace(CODEC_PRESETS["tiny"], harmonics=4, conditioned=True)).eval()
    assert warm_start(cond, src.state_dict()) == []
    x = torch.randn(1, 4 * src.cfg.latent_hop) * 0.1
    roll = torch.zeros(1, 4, 128)
    roll[..., 64] = 0.7
    tags = torch.from_numpy(tag_vector(["lofi", "warm"]))[None]
    assert tags.shape == (1, len(STYLE_TAGS))
    with torch.no_grad():
        z = cond.encode(x)
        assert torch.equal(cond.decode(z, roll, torch.tensor([33]), tags), src.decode(z, roll))
        cond.decoder.conditions.instrument.weight.normal_()
        bass, piano, unknown = (cond.decode(z, roll, i) for i in (torch.tensor([33]), torch.tensor([0]), None))
        assert not torch.allclose(bass, piano) and not torch.allclose(bass, unknown)
        assert torch.equal(unknown, cond.decode(z, roll, torch.tensor([cond.decoder.conditions.unknown])))
        assert torch.equal(cond.decode(z, roll, torch.tensor([33]), tags * 0), bass)
        cond.decoder.conditions.tags.weight.normal_()
        assert not torch.allclose(cond.decode(z, roll, torch.tensor([33]), tags), bass)


def test_slaney_mel_filterbank_is_librosas():
    """``scale="slaney"`` builds the filters `eval renderer` measures with (librosa's default), so a codec can be
    trained on the same log-mel distance; HTK's bands are narrower at low frequencies."""
    librosa = pytest.importorskip("librosa")
    from melodex_studio.render.codec import mel_filterbank

    fb = mel_filterbank(24000, 1024, 80, scale="slaney").numpy()
    ref = librosa.filters.mel(sr=24000, n_fft=1024, n_mels=80)
    assert np.abs(fb - ref).max() < 1e-4 * np.abs(ref).max()
    htk = mel_filterbank(24000, 1024, 80).numpy()
    assert (htk[0] > 0).sum() < (fb[0] > 0).sum()  # the lowest band: fewer bins on the HTK scale
    with pytest.raises(ValueError, match="mel scale"):
        mel_filterbank(24000, 1024, 80, scale="bark")
