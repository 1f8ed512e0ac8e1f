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
CHUNK = 8192  # sounding (frame, note) pairs of one pitch synthesised at a time
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
        nz = nz[torch.argsort(nz[:, 2], stable=True)]  # grouped by pitch
        pitches, counts = torch.unique_consecutive(nz[:, 2], return_counts=True)
        out = params.new_zeros(B * T, 2 * self.bins, dtype=torch.float32)  # real | imaginary parts
        base, slope = params.float().chunk(2, dim=-1)  # (B, T, K) each
        grad = torch.is_grad_enabled() and params.requires_grad
        for p, rows in zip(pitches.tolist(), nz.split(counts.tolist())):
            k_n = int(self.k_used[p])
            if k_n == 0:
                continue  # pitches without an audible harmonic
            weights = self._pitch_kernels(p, k_n)
            for chunk in rows.split(CHUNK):  # bounded memory on long songs
                b, m = chunk[:, 0], chunk[:, 1]
                x = self._partials(b, m, p, k_n, level, base, slope, frame_offset)  # (n, 2 k_n)
                y = x @ weights  # (n, 2 bins)
                out = out.index_add(0, b * T + m, y) if grad else out.index_add_(0, b * T + m, y)
        spec = torch.complex(out[:, : self.bins], out[:, self.bins:]).view(B, T, self.bins)
        return spec.transpose(1, 2)

    def _partials(self, b, m, p: int, k_n: int, level, base, slope, frame_offset: int) -> torch.Tensor:
        """(a cos psi, a sin psi) of the first ``k_n`` harmonics of pitch index ``p`` at the rows (batch ``b``, frame
        ``m``): (n, 2 k_n), ``a`` the harmonic's amplitude (half of it: the a/2 above), ``psi`` its phase at the
        frame's first sample."""
        log_amp = base[b, m, :k_n] + slope[b, m, :k_n] * self.octave[p]  # (n, k_n)
        amp = 0.5 * level[b, m, p, None] * torch.exp(log_amp.clamp(max=MAX_LOG_AMP))
        n0 = ((m.double() + frame_offset) * self.hop - (self.n_fft - self.hop) // 2)[:, None]  # frame's first sample
        psi = torch.remainder(self.omega[p, :k_n] * n0, 2 * math.pi).float()  # exact in float64 first
        return torch.cat([amp * torch.cos(psi), amp * torch.sin(psi)], dim=1)

    def _pitch_kernels(self, p: int, k_n: int) -> torch.Tensor:
        """(2 k_n, 2 bins): row k (cos part) and k_n + k (sin part) hold what harmonic k of pitch index ``p`` adds to
        each bin's real and imaginary parts, amp (e^{j psi} Hp + e^{-j psi} Hn) = amp (cos psi (A + j C) + sin psi
        (-B + j D)): the partials of a frame times this matrix are its spectrum (one matrix product per pitch; the
        scatter of every partial's 2 SPREAD + 1 bins took 3 times as long)."""
        idx = self.index[p, :k_n]  # (k_n, S)
        ka, kb, kc, kd = self.kernels[:, p, :k_n]  # (k_n, S) each
        rk = torch.arange(k_n, device=idx.device)[:, None].expand_as(idx)
        w = self.kernels.new_zeros(2 * k_n, 2 * self.bins)
        for rows, cols, vals in ((rk, idx, ka), (rk, idx + self.bins, kc), (rk + k_n, idx, -kb),
                                 (rk + k_n, idx + self.bins, kd)):
            w.index_put_((rows, cols), vals, accumulate=True)  # clipped indices repeat (with zero kernels)
        return w


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
