"""Audio codec: a small VAE with a continuous latent and a Vocos-style iSTFT decoder.

Mono stems at ``CodecConfig.sample_rate`` (24 kHz by default; the engine resamples to and from the
project rate with soxr, never this module). The encoder reads compressed STFT frames (log magnitude plus
power-compressed real/imag parts) at ``hop_length`` and downsamples them with strided convolutions to
the latent frame rate ``sample_rate / (hop_length * downsample)`` (25 Hz by default). The decoder works at
the latent rate, upsamples to STFT frames and predicts log-magnitude and phase per bin, which an
overlap-add inverse STFT with "same" padding turns into exactly ``frames * latent_hop`` samples.

References: Vocos (Siuzdak 2023, sec. 3: Fourier-domain head, ISTFT with same padding); ConvNeXt blocks
(Liu et al. 2022); VAE (Kingma & Welling 2014, eq. 10 KL term); multi-resolution STFT loss
(Yamamoto et al. 2020, Parallel WaveGAN eq. 4-6).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class CodecConfig:
    """Hyper-parameters of the codec; the checkpoint stores this as JSON in its safetensors metadata."""

    sample_rate: int = 24000
    n_fft: int = 960
    hop_length: int = 240  # STFT hop; latent hop = hop_length * downsample
    downsample: int = 4
    latent_dim: int = 32
    enc_dim: int = 192
    enc_blocks: int = 4
    dec_dim: int = 192  # decoder width at the latent rate
    dec_blocks: int = 6
    dec_high_dim: int = 128  # decoder width at the STFT frame rate
    dec_high_blocks: int = 2
    mag_max_log: float = 6.0  # clamp of the predicted log magnitude (exp(6) ~ 400)
    # "direct": the head predicts each frame's phase (Vocos); "integrate": it predicts the deviation of each
    # bin's instantaneous frequency from the bin centre, integrated over frames, plus a per-frame offset, so a
    # steady partial keeps a coherent phase from frame to frame by construction (the phase-vocoder relation).
    phase_mode: str = "direct"
    # > 0: the decoder also takes the score's pitch roll and adds this many harmonics of every sounding note
    # (render.harmonic.HarmonicBank, phase-coherent by construction); the STFT head adds the rest.
    harmonics: int = 0
    # > 0 (seconds): notes keep sounding after their score end through a release gate that decays with this time
    # constant; a second amplitude head shapes the released notes (instruments ring after note-off).
    harmonic_tail: float = 0.0
    # True: the decoder also takes the track's instrument (GM program or drum kit) and production tags, the
    # conditions the renderer has anyway, so one latent need not carry the timbre of every instrument.
    conditioned: bool = False
    # Statistics of the latent means over the training data, used to normalise latents for diffusion.
    latent_mean: float = 0.0
    latent_std: float = 1.0

    @property
    def latent_hop(self) -> int:
        """Samples per latent frame."""
        return self.hop_length * self.downsample

    @property
    def latent_rate(self) -> float:
        """Latent frames per second."""
        return self.sample_rate / self.latent_hop

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "CodecConfig":
        d = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


CODEC_PRESETS: dict[str, CodecConfig] = {
    "tiny": CodecConfig(latent_dim=8, enc_dim=32, enc_blocks=1, dec_dim=32, dec_blocks=1, dec_high_dim=32, dec_high_blocks=1),
    "small": CodecConfig(),
    "base": CodecConfig(latent_dim=32, enc_dim=384, enc_blocks=6, dec_dim=512, dec_blocks=8, dec_high_dim=256, dec_high_blocks=3),
}


class ConvNeXtBlock(nn.Module):
    """1-D ConvNeXt block: depthwise conv, LayerNorm, pointwise MLP, layer scale, residual (Liu et al. 2022)."""

    def __init__(self, dim: int, kernel_size: int = 7, mult: int = 3):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pw1 = nn.Linear(dim, dim * mult)
        self.pw2 = nn.Linear(dim * mult, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dwconv(x).transpose(1, 2)  # (B, T, C)
        h = self.pw2(F.gelu(self.pw1(self.norm(h))))  # (B, T, C)
        return x + (self.gamma * h).transpose(1, 2)  # (B, C, T)


def _window(n_fft: int, like: torch.Tensor) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, device=like.device, dtype=torch.float32)


def stft_same(wave: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Complex STFT with "same" padding: (B, N) with N % hop == 0 -> (B, n_fft//2+1, N // hop)."""
    pad = (n_fft - hop) // 2
    x = F.pad(wave.float().unsqueeze(1), (pad, pad), mode="reflect" if wave.shape[-1] > pad else "constant").squeeze(1)
    return torch.stft(x, n_fft, hop, window=_window(n_fft, x), center=False, return_complex=True)


def istft_same(spec: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Inverse of ``stft_same`` by windowed overlap-add (Vocos ISTFT, padding="same"): (B, K, T) -> (B, T*hop)."""
    B, _, T = spec.shape
    pad = (n_fft - hop) // 2
    window = _window(n_fft, spec.real)
    frames = torch.fft.irfft(spec, n_fft, dim=1, norm="backward") * window[None, :, None]  # (B, n_fft, T)
    out_len = (T - 1) * hop + n_fft
    y = F.fold(frames, output_size=(1, out_len), kernel_size=(1, n_fft), stride=(1, hop))[:, 0, 0]  # (B, out_len)
    env = F.fold(window.square()[None, :, None].expand(1, n_fft, T), output_size=(1, out_len),
                 kernel_size=(1, n_fft), stride=(1, hop))[0, 0, 0]  # (out_len,)
    return (y / env.clamp_min(1e-8))[:, pad: out_len - pad]  # (B, T*hop)


class Encoder(nn.Module):
    """Compressed STFT frames -> latent mean and log-variance at the latent rate."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        bins = cfg.n_fft // 2 + 1
        self.inp = nn.Conv1d(3 * bins, cfg.enc_dim, 3, padding=1)
        self.blocks = nn.Sequential(*[ConvNeXtBlock(cfg.enc_dim) for _ in range(cfg.enc_blocks)])
        self.down = nn.Conv1d(cfg.enc_dim, cfg.enc_dim, cfg.downsample, stride=cfg.downsample)
        self.post = ConvNeXtBlock(cfg.enc_dim)
        self.norm = nn.LayerNorm(cfg.enc_dim)
        self.out = nn.Linear(cfg.enc_dim, 2 * cfg.latent_dim)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spec = stft_same(wave, self.cfg.n_fft, self.cfg.hop_length)  # (B, K, 4L)
        mag = spec.abs()
        comp = spec / mag.clamp_min(1e-5) * mag.pow(0.3)  # power-compressed complex
        feats = torch.cat([torch.log(mag + 1e-4), comp.real, comp.imag], dim=1)  # (B, 3K, 4L)
        h = self.down(self.blocks(self.inp(feats)))  # (B, C, L)
        h = self.norm(self.post(h).transpose(1, 2))  # (B, L, C)
        mean, logvar = self.out(h).chunk(2, dim=-1)  # (B, L, D) each
        return mean, logvar.clamp(-12.0, 6.0)


class DecoderConditions(nn.Module):
    """(instrument, production tags) -> a vector added to the decoder's features at the latent rate and one at
    the STFT frame rate. Both start at zero, so a codec warm-started from an unconditioned one decodes exactly
    like it; index ``N_INSTRUMENTS`` and all-zero tags mean "not known" (training drops the conditions now and
    then, so decoding without them still works)."""

    def __init__(self, dim: int, high_dim: int):
        super().__init__()
        from .score_features import N_INSTRUMENTS, STYLE_TAGS

        self.unknown = N_INSTRUMENTS
        self.instrument = nn.Embedding(N_INSTRUMENTS + 1, dim + high_dim)
        self.tags = nn.Linear(len(STYLE_TAGS), dim + high_dim, bias=False)
        self.dim = dim
        with torch.no_grad():
            self.instrument.weight.zero_()
            self.tags.weight.zero_()

    def forward(self, batch: int, device, instrument: torch.Tensor | None, tags: torch.Tensor | None):
        """instrument (B,) or None, tags (B, n_tags) or per latent frame (B, L, n_tags) or None -> the vectors
        at the latent rate and at the frame rate, (B, C, 1 or L) and (B, C2, 1 or L)."""
        if instrument is None:
            instrument = torch.full((batch,), self.unknown, dtype=torch.long, device=device)
        c = self.instrument(instrument.to(device).long())[:, :, None]  # (B, C + C2, 1)
        if tags is not None:
            t = self.tags(tags.to(device).float())  # (B, C + C2) or (B, L, C + C2)
            c = c + (t[:, :, None] if t.dim() == 2 else t.transpose(1, 2))
        return c[:, : self.dim], c[:, self.dim:]


class Decoder(nn.Module):
    """Latent frames -> log magnitude and phase of STFT frames -> waveform (iSTFT)."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        bins = cfg.n_fft // 2 + 1
        self.inp = nn.Conv1d(cfg.latent_dim, cfg.dec_dim, 7, padding=3)
        self.blocks = nn.Sequential(*[ConvNeXtBlock(cfg.dec_dim) for _ in range(cfg.dec_blocks)])
        self.up = nn.ConvTranspose1d(cfg.dec_dim, cfg.dec_high_dim, cfg.downsample, stride=cfg.downsample)
        self.high = nn.Sequential(*[ConvNeXtBlock(cfg.dec_high_dim) for _ in range(cfg.dec_high_blocks)])
        self.norm = nn.LayerNorm(cfg.dec_high_dim)
        self.head = nn.Linear(cfg.dec_high_dim, 3 * bins)  # log magnitude, phase as (cos, sin) direction
        if cfg.harmonics:
            from .harmonic import HarmonicBank

            self.harm_head = nn.Linear(cfg.dec_high_dim, 2 * cfg.harmonics)  # log amplitude and its register slope
            with torch.no_grad():
                self.harm_head.weight.mul_(0.1)
                self.harm_head.bias.zero_()
                self.harm_head.bias[: cfg.harmonics] = -3.0  # about the level of a partial in the data
            self.bank = HarmonicBank(cfg.harmonics, cfg.sample_rate, cfg.n_fft, cfg.hop_length)
            if cfg.harmonic_tail > 0:
                self.tail_head = nn.Linear(cfg.dec_high_dim, cfg.harmonics)  # log amplitude of released notes
                with torch.no_grad():
                    self.tail_head.weight.mul_(0.1)
                    self.tail_head.bias.fill_(-3.0)
        if cfg.conditioned:
            self.conditions = DecoderConditions(cfg.dec_dim, cfg.dec_high_dim)

    def forward(self, z: torch.Tensor, roll: torch.Tensor | None = None, instrument: torch.Tensor | None = None,
                tags: torch.Tensor | None = None, frame_offset: int = 0,
                roll_history: torch.Tensor | None = None) -> torch.Tensor:
        """z (B, L, D) -> (B, 4L * hop); ``roll`` (B, L, 128): the score's note levels at the latent rate (used
        when the config has harmonics; None or zeros = no notes, e.g. drums); ``instrument`` (B,) and ``tags``
        (B, n_tags) or (B, L, n_tags): the track's conditions (used when the config is conditioned; None = not
        known); ``frame_offset``: the latent frame of a longer signal that ``z`` starts at (harmonic phases);
        ``roll_history`` (B, H, 128): the score's note levels of the H frames before ``z`` (the release tails of
        notes that ended there ring on into ``z``; a window of a song decoded with the song's roll before it
        gets the tails the whole-song decode has)."""
        h = self.inp(z.transpose(1, 2))  # (B, C, L)
        low = high = 0.0
        if self.cfg.conditioned:
            low, high = self.conditions(z.shape[0], z.device, instrument, tags)  # (B, C, 1 or L), (B, C2, 1 or L)
            if high.shape[-1] > 1:  # per latent frame -> per STFT frame
                high = high.repeat_interleave(self.cfg.downsample, dim=2)
        h = self.blocks(h + low)
        h = self.high(self.up(h) + high)  # (B, C2, 4L)
        hn = self.norm(h.transpose(1, 2))  # (B, 4L, C2)
        logmag, px, py = self.head(hn).float().transpose(1, 2).chunk(3, dim=1)  # (B, K, 4L)
        mag = torch.exp(logmag.clamp(max=self.cfg.mag_max_log))
        if self.cfg.phase_mode == "integrate":
            phase = self._integrated_phase(px, py)
        else:
            phase = torch.atan2(py, px)
        spec = torch.polar(mag, phase)  # (B, K, 4L)
        if self.cfg.harmonics and roll is not None:
            roll = roll.to(hn.device).float()
            params = self.harm_head(hn)  # (B, 4L, 2K)
            offset = frame_offset * self.cfg.downsample  # in STFT frames
            spec = spec + self.bank(params, self._upsample(roll, hn.shape[1]), offset)
            if self.cfg.harmonic_tail > 0:
                from .harmonic import release_tails

                held = roll if roll_history is None else torch.cat([roll_history.to(roll), roll], dim=1)
                decay = math.exp(-1.0 / (self.cfg.harmonic_tail * self.cfg.latent_rate))
                tails = release_tails(held, decay)[:, held.shape[1] - roll.shape[1]:]
                tail_params = torch.cat([self.tail_head(hn), params[..., self.cfg.harmonics:]], dim=-1)
                spec = spec + self.bank(tail_params, self._upsample(tails, hn.shape[1]), offset)
        return istft_same(spec, self.cfg.n_fft, self.cfg.hop_length)  # (B, 4L*hop)

    def receptive_frames(self) -> int:
        """Latent frames on each side that a decoded frame depends on: the input convolution and the ConvNeXt
        blocks at the latent rate (kernel 7: 3 frames each), those at the STFT rate and the iSTFT's overlap
        (in STFT frames, rounded up to latent frames), and one more for the transposed convolution's phase."""
        half = 3  # kernel 7 of ``inp`` and of every ``ConvNeXtBlock``
        stft = half * self.cfg.dec_high_blocks + self.cfg.n_fft // self.cfg.hop_length // 2
        return half * (1 + self.cfg.dec_blocks) + math.ceil(stft / self.cfg.downsample) + 1

    def _upsample(self, roll: torch.Tensor, frames: int) -> torch.Tensor:
        return roll.repeat_interleave(self.cfg.downsample, dim=1)[:, :frames]  # latent rate -> STFT frame rate

    def _integrated_phase(self, dev: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Phase (B, K, T) of bin k at frame t: 2 pi k hop t / n_fft (the bin centre's advance, computed modulo
        2 pi exactly in integers) + the running sum of the predicted deviations ``dev`` + ``offset``."""
        K, T = dev.shape[1], dev.shape[2]
        k = torch.arange(K, device=dev.device)[:, None]
        t = torch.arange(T, device=dev.device)[None, :]
        centre = ((k * t * self.cfg.hop_length) % self.cfg.n_fft).float() * (2 * torch.pi / self.cfg.n_fft)  # (K, T)
        return centre + torch.cumsum(dev, dim=2) + offset


class AudioCodec(nn.Module):
    """VAE over mono audio: ``encode`` (B, N) -> (B, L, D) latent means; ``decode`` (B, L, D) -> (B, L*latent_hop)."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def pad_to_hop(self, wave: torch.Tensor) -> torch.Tensor:
        """Right-pad (B, N) with zeros to a whole number of latent frames."""
        rem = (-wave.shape[-1]) % self.cfg.latent_hop
        return F.pad(wave, (0, rem)) if rem else wave

    def encode_dist(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N) at ``sample_rate`` -> mean, logvar, each (B, ceil(N / latent_hop), latent_dim)."""
        return self.encoder(self.pad_to_hop(wave))

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """Deterministic latent (the posterior mean), (B, N) -> (B, L, D)."""
        return self.encode_dist(wave)[0]

    def decode(self, z: torch.Tensor, roll: torch.Tensor | None = None, instrument: torch.Tensor | None = None,
               tags: torch.Tensor | None = None, frame_offset: int = 0,
               roll_history: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L, D) -> (B, L * latent_hop) waveform; ``roll`` (B, L, 128): the score's note levels at the latent
        rate (score features' pitch roll), used by a codec with harmonics; ``instrument`` (B,) instrument indices
        and ``tags`` (B, n_tags) tag vectors (``score_features.encode_conditions``), or one per latent frame
        (B, L, n_tags) where the production changes from section to section, used by a conditioned codec;
        ``frame_offset`` and ``roll_history``: where ``z`` lies in a longer signal (``Decoder.forward``)."""
        return self.decoder(z, roll, instrument, tags, frame_offset, roll_history)

    def normalize(self, z: torch.Tensor) -> torch.Tensor:
        """Raw latent -> unit-scale latent for the diffusion model."""
        return (z - self.cfg.latent_mean) / self.cfg.latent_std

    def denormalize(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.cfg.latent_std + self.cfg.latent_mean

    def forward(self, wave: torch.Tensor, generator: torch.Generator | None = None, roll: torch.Tensor | None = None,
                instrument: torch.Tensor | None = None, tags: torch.Tensor | None = None):
        """Training pass: returns (reconstruction (B, N'), mean, logvar) with a reparameterised sample."""
        mean, logvar = self.encode_dist(wave)
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        z = mean + torch.exp(0.5 * logvar) * eps  # (B, L, D)
        return self.decode(z, roll, instrument, tags), mean, logvar


def build_codec(cfg: CodecConfig | str) -> AudioCodec:
    """Build a codec from a config or a preset name ('tiny', 'small', 'base')."""
    if isinstance(cfg, str):
        cfg = CODEC_PRESETS[cfg]
    return AudioCodec(cfg)


# --- losses -------------------------------------------------------------------------------------------

MRSTFT_RESOLUTIONS = ((2048, 512), (1024, 256), (512, 128), (256, 64), (128, 32))


def mrstft_loss(pred: torch.Tensor, target: torch.Tensor, resolutions=MRSTFT_RESOLUTIONS) -> torch.Tensor:
    """Multi-resolution STFT loss: spectral convergence + log-magnitude L1, averaged over resolutions
    (Yamamoto et al. 2020, eq. 4-6). pred, target: (B, N)."""
    total = pred.new_zeros((), dtype=torch.float32)
    for n_fft, hop in resolutions:
        w = torch.hann_window(n_fft, device=pred.device)
        P = torch.stft(pred.float(), n_fft, hop, window=w, return_complex=True).abs()
        T = torch.stft(target.float(), n_fft, hop, window=w, return_complex=True).abs()
        sc = torch.linalg.norm(T - P) / torch.linalg.norm(T).clamp_min(1e-6)
        mag = (torch.log(P + 1e-5) - torch.log(T + 1e-5)).abs().mean()
        total = total + sc + mag
    return total / len(resolutions)


ENERGY_BAND_EDGES_HZ = (0, 120, 250, 500, 1000, 2000, 4000, 8000, 1e9)  # octave bands of ``energy_loss``


def energy_loss(pred: torch.Tensor, target: torch.Tensor, sample_rate: int = 24000, n_fft: int = 1024,
                hop: int = 256) -> torch.Tensor:
    """L1 distance of log band energies per frame (octave bands, energy summed over each band before the log).
    The log-spectral terms favour a quieter output where a partial is uncertain (a geometric mean) and do not
    see a band's balance; this term holds the level of every octave (so also the K-weighted loudness)."""
    w = torch.hann_window(n_fft, device=pred.device)
    freqs = torch.fft.rfftfreq(n_fft, 1.0 / sample_rate).to(pred.device)
    edges = torch.tensor(ENERGY_BAND_EDGES_HZ, device=pred.device)
    bands = ((freqs[None, :] >= edges[:-1, None]) & (freqs[None, :] < edges[1:, None])).float()  # (nb, K)
    P = bands @ torch.stft(pred.float(), n_fft, hop, window=w, return_complex=True).abs().square()  # (B, nb, F)
    T = bands @ torch.stft(target.float(), n_fft, hop, window=w, return_complex=True).abs().square()
    return (torch.log(P + 1e-4) - torch.log(T + 1e-4)).abs().mean()


def kl_loss(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per latent element (Kingma & Welling 2014, appendix B)."""
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, device=None, scale: str = "htk") -> torch.Tensor:
    """(n_mels, n_fft//2+1) triangular filters, area-normalised (Slaney 1998), on the HTK mel scale or on
    Slaney's (``scale="slaney"``: linear below 1 kHz, logarithmic above; librosa's default, so its bands are
    wider at low frequencies: about 3 FFT bins of 1024 at 24 kHz where HTK's are about 1)."""
    if scale == "htk":
        def hz_to_mel(f):
            return 2595.0 * torch.log10(1.0 + f / 700.0)

        def mel_to_hz(m):
            return 700.0 * (10 ** (m / 2595.0) - 1.0)
    elif scale == "slaney":
        f_sp, logstep = 200.0 / 3, math.log(6.4) / 27.0
        min_log_mel = 1000.0 / f_sp

        def hz_to_mel(f):
            return torch.where(f >= 1000.0, min_log_mel + torch.log(f.clamp_min(1e-9) / 1000.0) / logstep, f / f_sp)

        def mel_to_hz(m):
            return torch.where(m >= min_log_mel, 1000.0 * torch.exp(logstep * (m - min_log_mel)), f_sp * m)
    else:
        raise ValueError(f"unknown mel scale {scale!r} (htk or slaney)")

    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, device=device, dtype=torch.float64)
    top = hz_to_mel(torch.tensor(sample_rate / 2, dtype=torch.float64))
    pts = mel_to_hz(torch.linspace(0.0, float(top), n_mels + 2, device=device, dtype=torch.float64))
    lo, ce, hi = pts[:-2, None], pts[1:-1, None], pts[2:, None]
    fb = torch.clamp(torch.minimum((freqs - lo) / (ce - lo), (hi - freqs) / (hi - ce)), min=0.0)
    return (fb * (2.0 / (hi - lo))).float()


def mel_loss(pred: torch.Tensor, target: torch.Tensor, sample_rate: int, n_fft: int = 1024, hop: int = 256,
             n_mels: int = 80, scale: str = "htk") -> torch.Tensor:
    """L1 distance of log power mel spectrograms (the reconstruction term of Vocos / DAC). pred, target: (B, N)."""
    w = torch.hann_window(n_fft, device=pred.device)
    fb = mel_filterbank(sample_rate, n_fft, n_mels, pred.device, scale)
    P = fb @ torch.stft(pred.float(), n_fft, hop, window=w, return_complex=True).abs().square()  # (B, M, F)
    T = fb @ torch.stft(target.float(), n_fft, hop, window=w, return_complex=True).abs().square()
    return (torch.log(P + 1e-5) - torch.log(T + 1e-5)).abs().mean()
