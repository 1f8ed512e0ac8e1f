"""Audio export: formats, subtypes, rates, dither, silence, stems (files written and read back with soundfile)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf

from melodex_studio.errors import AudioError
from melodex_studio.io.audio import (
    BIT_DEPTHS, SUPPORTED_RATES, export_stems, quantize, resample, safe_name, write_audio,
)

SUBTYPE = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}


def tone(seconds=0.25, rate=48000, freq=440.0, amp=0.5, channels=2):
    t = np.arange(int(seconds * rate)) / rate
    x = amp * np.sin(2 * np.pi * freq * t)
    return np.stack([x * (1 - 0.3 * c) for c in range(channels)], axis=1).astype(np.float32)


COMBOS = [(fmt, rate, bits) for fmt, rate, bits in itertools.product(("wav", "flac"), SUPPORTED_RATES, BIT_DEPTHS)
          if not (fmt == "flac" and bits == 32)]


@pytest.mark.parametrize("fmt, rate, bits", COMBOS)
def test_every_format_rate_and_depth_writes_and_reads_back(tmp_path, fmt, rate, bits):
    x = tone(rate=48000)
    path = tmp_path / f"mix.{fmt}"
    write_audio(path, x, 48000, bits=bits, rate=rate)
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == (fmt.upper(), SUBTYPE[bits], rate, 2)
    assert info.frames == pytest.approx(x.shape[0] * rate / 48000, abs=1)
    y, _ = sf.read(str(path), dtype="float64")
    if rate == 48000:
        lsb = 2.0 ** -(bits - 1) if bits < 32 else 1e-7
        assert np.max(np.abs(y - x)) <= (1.5 * lsb if bits == 16 else 0.51 * lsb + 1e-12)
    else:  # resampled: same tone, same level (compare away from the edges)
        mid = slice(rate // 100, -rate // 100)
        assert np.sqrt(np.mean(y[mid, 0] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
        seg = y[mid, 0]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
        assert np.argmax(spectrum) * rate / seg.size == pytest.approx(440, abs=rate / seg.size)


def test_flac_float_and_bad_settings_raise_clear_audio_errors(tmp_path):
    x = tone()
    with pytest.raises(AudioError, match="FLAC cannot store 32-bit float"):
        write_audio(tmp_path / "a.flac", x, 48000, bits=32)
    with pytest.raises(AudioError, match=r"\.wav or \.flac"):
        write_audio(tmp_path / "a.mp3", x, 48000)
    with pytest.raises(AudioError, match="20-bit"):
        write_audio(tmp_path / "a.wav", x, 48000, bits=20)
    with pytest.raises(AudioError, match="22050 Hz"):
        write_audio(tmp_path / "a.wav", x, 48000, rate=22050)
    with pytest.raises(AudioError, match="NaN"):
        write_audio(tmp_path / "a.wav", np.full((10, 2), np.nan, np.float32), 48000)
    with pytest.raises(AudioError, match="could not write"):
        write_audio(tmp_path / "missing_dir" / "a.wav", x, 48000)
    with pytest.raises(AudioError, match="FLAC cannot store 32-bit float"):
        export_stems(tmp_path, "p", {"a": x}, 48000, bits=32, fmt="flac")
    assert not list(tmp_path.iterdir())


def test_sixteen_bit_is_tpdf_dithered_and_reproducible(tmp_path):
    lsb = 2.0 ** -15
    x = np.full((48000, 1), -0.3 * lsb, np.float32)  # plain rounding would give all zeros
    write_audio(tmp_path / "d.wav", x, 48000, bits=16)
    y, _ = sf.read(str(tmp_path / "d.wav"), dtype="int16")
    assert np.count_nonzero(y) > 0.3 * y.size
    assert set(np.unique(y)) <= {-2, -1, 0, 1}
    assert y.mean() == pytest.approx(-0.3, abs=0.02)  # unbiased: the mean follows the input
    write_audio(tmp_path / "d2.wav", x, 48000, bits=16)
    assert (tmp_path / "d2.wav").read_bytes() == (tmp_path / "d.wav").read_bytes()
    # on music the error is triangular noise of 1/4 LSB^2 variance + rounding (1/12): total 1/4 LSB^2
    m = tone(seconds=1.0, amp=0.3)
    err = quantize(m, 16).astype(np.float64) - m.astype(np.float64) / lsb
    assert err.var() == pytest.approx(0.25, rel=0.05) and abs(err.mean()) < 0.01 and np.abs(err).max() < 1.5


def test_dither_off_gives_plain_rounding_and_clips(tmp_path):
    lsb = 2.0 ** -15
    x = np.array([[-0.3 * lsb], [0.7 * lsb], [2.4 * lsb], [1.5], [-1.5], [-1.0]], np.float32)
    write_audio(tmp_path / "r.wav", x, 44100, bits=16, dither=False)
    y, _ = sf.read(str(tmp_path / "r.wav"), dtype="int16", always_2d=True)
    assert y[:, 0].tolist() == [0, 1, 2, 32767, -32768, -32768]
    write_audio(tmp_path / "r24.flac", x, 44100, bits=24)
    y24, _ = sf.read(str(tmp_path / "r24.flac"), dtype="int32", always_2d=True)
    assert (y24[:, 0] >> 8).tolist() == [-77, 179, 614, 2 ** 23 - 1, -(2 ** 23), -(2 ** 23)]


@pytest.mark.parametrize("fmt, bits", [("wav", 32), ("wav", 24), ("flac", 24), ("wav", 16), ("flac", 16)])
def test_digital_silence_stays_exactly_zero(tmp_path, fmt, bits):
    x = np.zeros((44100, 2), np.float32)
    x[20000:20100, 0] = 0.25  # a short event in otherwise silent audio
    write_audio(tmp_path / f"s.{fmt}", x, 44100, bits=bits)
    y, _ = sf.read(str(tmp_path / f"s.{fmt}"), dtype="float64")
    silent = np.ones(x.shape, bool)
    silent[20000:20100, 0] = False
    assert np.all(y[silent] == 0.0)
    assert np.allclose(y[~silent], 0.25, atol=2 ** -14)


def test_resample_shapes_and_mono():
    mono = np.sin(np.linspace(0, 200, 44100)).astype(np.float32)
    out = resample(mono, 44100, 48000)
    assert out.shape == (48000, 1) and out.dtype == np.float32
    assert resample(tone(), 48000, 48000).shape == tone().shape
    assert resample(tone(), 48000, 96000).shape == (24000, 2)


def test_stems_have_equal_length_names_and_start_at_zero(tmp_path):
    rate = 44100
    kick = np.zeros((rate // 2, 2), np.float32)
    kick[0] = 0.9  # first sample is the onset: the file must start at 0
    stems = {"Lead / Vocal": tone(0.3, rate, amp=0.2), "Bass": tone(1.0, rate, 55, 0.4, channels=1),
             "Drums: Kit?": kick, "...": np.zeros(1000, np.float32)}
    paths = export_stems(tmp_path / "out", "My Song: Final*", stems, rate, bits=24, rate=48000)
    assert [p.name for p in paths] == ["My_Song_Final_01_Lead_Vocal.wav", "My_Song_Final_02_Bass.wav",
                                       "My_Song_Final_03_Drums_Kit.wav", "My_Song_Final_04_track.wav"]
    infos = [sf.info(str(p)) for p in paths]
    assert {i.frames for i in infos} == {48000} and {i.samplerate for i in infos} == {48000}
    assert [i.channels for i in infos] == [2, 1, 2, 1]
    lead, _ = sf.read(str(paths[0]))
    assert np.all(lead[int(0.31 * 48000):] == 0.0)  # padding is exact silence
    drums, _ = sf.read(str(paths[2]))
    assert np.argmax(np.abs(drums[:, 0])) < 30  # resampled onset stays at the start
    silent, _ = sf.read(str(paths[3]))
    assert not np.any(silent)
    flac = export_stems(tmp_path / "f", "p", {"a": tone(), "b": tone(0.1)}, 48000, bits=16, fmt="flac")
    assert [sf.info(str(p)).subtype for p in flac] == ["PCM_16", "PCM_16"]
    with pytest.raises(AudioError, match="no stems"):
        export_stems(tmp_path, "p", {}, 48000)


def test_safe_name():
    assert safe_name('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"
    assert safe_name("  Intro (take 2). ") == "Intro_(take_2)"
    assert safe_name("Café ñ") == "Café_ñ"
    assert safe_name("..") == "untitled"
