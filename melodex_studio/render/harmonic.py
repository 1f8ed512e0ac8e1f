"""Score-informed harmonic synthesis in the STFT domain: the pitched part of the codec decoder's output.

The codec decoder of a pitched track knows which notes sound (the score's pitch roll, which the renderer is
conditioned on anyway). For every sounding note it adds ``K`` harmonics at exactly the note's frequency
multiples, written straight into the STFT frames that the decoder's iSTFT inverts. Each harmonic's phase
advances by its frequency from frame to frame, so a held note is one coherent sinusoid per harmonic after
overlap-add, not the frame-to-frame phase noise that a magnitude-trained phase head gives. The network only
predicts the amplitudes (a log amplitude per harmonic and frame, plus a per-harmonic slope over the pitch, so
that one track's timbre changes with register); the decoder's ordinary STFT head adds the rest (attacks,
noise, drums, everything inharmonic).

The STFT of ``a cos(w n + phi)`` with the periodic Hann window ``h`` at a frame whose first sample is ``n0`` is
``a/2 (e^{j(w n0 + phi)} H(2 pi k/N - w) + e^{-j(w n0 + phi)} H(2 pi k/N + w))`` with ``H(t) = sum_n h[n] e^{-j t n}``;
``H`` is concentrated on a few bins, so each harmonic is written into ``2 * SPREAD + 1`` bins around it.
Only the (frame, pitch) pairs where the roll is non-zero are computed (``nonzero``), so cost and memory
follow the number of sounding notes, not the length of the song.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

SPREAD = 4  # bins on each side of a harmonic (Hann leakage beyond is below -60 dB)
LOW_PITCH, HIGH_PITCH = 21, 108  # A0..C8: the notes that get harmonics (the roll outside is left to the STFT head)
PITCH_REF = 60.0  # the register slope is per octave from middle C
MAX_LOG_AMP = 0.0  # an amplitude of at most 1 per harmonic and note
CHUNK = 8192  # sounding (frame, note) pairs synthesised at a time
TAIL_FLOOR = 1e-3  # a released note's gate ends below this level (-60 dB)


def _dirichlet(theta: np.ndarray, n_fft: int) -> np.ndarray:
    """D(theta) = sum_{n<N} e^{-j theta n} = e^{-j theta (N-1)/2} sin(N theta/2) / sin(theta/2) (N at theta = 2 pi k)."""
    half = theta / 2.0
    s = np.sin(half)
    small = np.abs(s) < 1e-9
    ratio = np.where(small, n_fft * np.cos(n_fft * half) / np.where(small, np.cos(half), 1.0),
                     np.sin(n_fft * half) / np.where(small, 1.0, s))
    return np.exp(-1j * half * (n_fft - 1)) * ratio


def _hann_dtft(theta: np.ndarray, n_fft: int) -> np.ndarray:
    """H(theta) = sum_n h[n] e^{-j theta n} of the periodic Hann window of length n_fft (complex128), in closed
    form: h = 1/2 - 1/4 e^{j 2 pi n/N} - 1/4 e^{-j 2 pi n/N}, so H = D(theta)/2 - D(theta - 2 pi/N)/4 -
    D(theta + 2 pi/N)/4 with the Dirichlet kernel D (the direct sum over n took 5 s at every codec load)."""
    w = 2 * np.pi / n_fft
    return 0.5 * _dirichlet(theta, n_fft) - 0.25 * _dirichlet(theta - w, n_fft) - 0.25 * _dirichlet(theta + w, n_fft)


class HarmonicBank(nn.Module):
    """(amplitude parameters, pitch roll) -> complex STFT frames of the notes' harmonics."""

    def __init__(self, harmonics: int, sample_rate: int, n_fft: int, hop: int):
        super().__init__()
        self.harmonics, self.sample_rate, self.n_fft, self.hop = harmonics, sample_rate, n_fft, hop
        self.bins = n_fft // 2 + 1
        pitches = np.arange(LOW_PITCH, HIGH_PITCH + 1)
        f = 440.0 * 2.0 ** ((pitches[:, None] - 69) / 12.0) * np.arange(1, harmonics + 1)[None, :]  # (P, K) Hz
        omega = 2 * np.pi * f / sample_rate  # rad / sample
        centre = np.rint(f * n_fft / sample_rate).astype(np.int64)
        idx = centre[..., None] + np.arange(-SPREAD, SPREAD + 1)  # (P, K, S)
        audible = (idx[..., -1] < self.bins - 1) & (f < 0.45 * sample_rate)  # the whole kernel below Nyquist
        theta = 2 * np.pi * idx / n_fft
        pos = _hann_dtft(theta - omega[..., None], n_fft)  # (P, K, S): e^{+j w n} part
        neg = _hann_dtft(theta + omega[..., None], n_fft)  # e^{-j w n} part (matters for the lowest notes)
        pos[~audible], neg[~audible] = 0, 0
        pos[idx < 0], neg[idx < 0] = 0, 0  # negative frequencies are not stored (the neg term covers them)
        idx = np.clip(idx, 0, self.bins - 1)
        self.register_buffer("omega", torch.from_numpy(omega), persistent=False)  # float64 (P, K)
        self.register_buffer("index", torch.from_numpy(idx), persistent=False)
        # amp (e^{j psi} Hp + e^{-j psi} Hn) = amp (cos psi (A + j C) + sin psi (-B + j D)) with these four kernels
        kernels = [pos.real + neg.real, pos.imag - neg.imag, pos.imag + neg.imag, pos.real - neg.real]  # A, B, C, D
        self.register_buffer("kernels", torch.from_numpy(np.stack(kernels)).float(), persistent=False)
        self.register_buffer("octave", torch.from_numpy((pitches - PITCH_REF) / 12.0).float(), persistent=False)
        # harmonics worth computing per pitch: the audible ones (a prefix), rounded up to K/8, K/4, K/2 or K, so
        # that a high note does not compute the kernels of 40 harmonics above Nyquist (they are all zero)
        sizes = sorted({max(1, harmonics // d) for d in (8, 4, 2, 1)})
        bucket = [0 if n == 0 else next(z for z in sizes if z >= n) for n in audible.sum(axis=1)]
        self.register_buffer("k_used", torch.tensor(bucket, dtype=torch.long), persistent=False)

    def forward(self, params: torch.Tensor, roll: torch.Tensor, frame_offset: int = 0) -> torch.Tensor:
        """params (B, T, 2K): per frame a log amplitude per harmonic and its slope per octave; roll (B, T, 128)
        note level 0..1 at the same frame rate (frame m starts at sample ``(m + frame_offset) * hop - (n_fft - hop)
        // 2``: a window of a longer signal decoded on its own keeps the phases the whole signal has there).
        Returns complex (B, bins, T)."""
        B, T, _ = params.shape
        lo, hi = LOW_PITCH, HIGH_PITCH + 1
        level = roll[..., lo:hi].float()  # (B, T, P)
        nz = level.nonzero()  # (n, 3): batch, frame, pitch index
        out = params.new_zeros(2, B * T * self.bins, dtype=torch.float32)
        base, slope = params.float().chunk(2, dim=-1)  # (B, T, K) each
        used = self.k_used[nz[:, 2]]
        for k_n in used.unique().tolist():
            if k_n == 0:
                continue  # pitches without an audible harmonic
            for chunk in nz[used == k_n].split(CHUNK):  # bounded memory on long songs
                out = self._add(out, chunk, k_n, level, base[..., :k_n], slope[..., :k_n], T, frame_offset,
                                torch.is_grad_enabled() and params.requires_grad)
        spec = torch.complex(out[0], out[1]).view(B, T, self.bins)
        return spec.transpose(1, 2)


    def _add(self, out, chunk, k_n: int, level, base, slope, T: int, frame_offset: int, grad: bool) -> torch.Tensor:
        """Add the first ``k_n`` harmonics of the (batch, frame, pitch) rows ``chunk`` to ``out`` (2, B * T * bins)."""
        b, m, p = chunk.unbind(1)
        log_amp = base[b, m] + slope[b, m] * self.octave[p, None]  # (n, k_n)
        amp = 0.5 * level[b, m, p, None] * torch.exp(log_amp.clamp(max=MAX_LOG_AMP))  # (n, k_n); the a/2 above
        n0 = ((m.double() + frame_offset) * self.hop - (self.n_fft - self.hop) // 2)[:, None]  # frame's first sample
        psi = torch.remainder(self.omega[p, :k_n] * n0, 2 * math.pi).float()  # (n, k_n), exact in float64 first
        ac, as_ = (amp * torch.cos(psi))[..., None], (amp * torch.sin(psi))[..., None]  # (n, k_n, 1)
        k = self.kernels[:, p, :k_n]  # (4, n, k_n, S)
        re = ac * k[0] - as_ * k[1]  # real and imaginary parts of amp (e^{j psi} Hp + e^{-j psi} Hn)
        im = ac * k[2] + as_ * k[3]
        flat = (((b * T + m) * self.bins)[:, None, None] + self.index[p, :k_n]).reshape(-1)  # (n * k_n * S,)
        if grad:  # training: autograd through out-of-place adds
            return torch.stack([out[0].index_add(0, flat, re.reshape(-1)), out[1].index_add(0, flat, im.reshape(-1))])
        out[0].index_add_(0, flat, re.reshape(-1))  # decoding: in place (out of place copied the spectrum per chunk)
        out[1].index_add_(0, flat, im.reshape(-1))
        return out


def release_tails(level: torch.Tensor, decay: float, floor: float = TAIL_FLOOR) -> torch.Tensor:
    """Gates of released notes (B, L, 128) from the score's note levels (B, L, 128): after a note's last sounding
    frame its level decays by ``decay`` per frame until it is sounded again or falls below ``floor``.

    Closed form of that recurrence (no loop over frames): at a silent frame ``t`` the gate is the level of the
    pitch's last sounding frame ``s < t`` times ``decay ** (t - s)``."""
    L = level.shape[1]
    t = torch.arange(L, device=level.device).view(1, L, 1)
    last = torch.cummax(torch.where(level > 0, t, torch.full_like(t, -1)).expand_as(level), dim=1).values  # (B, L, P)
    held = level.gather(1, last.clamp(min=0))  # level of the last sounding frame
    tail = held * torch.pow(torch.tensor(decay, dtype=level.dtype, device=level.device), (t - last).to(level.dtype))
    tail = torch.where((level > 0) | (last < 0) | (tail < floor), torch.zeros_like(tail), tail)
    return tail
