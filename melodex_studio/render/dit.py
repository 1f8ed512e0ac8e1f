"""Diffusion transformer over codec latent frames (the renderer's network; no parameterisation, no loss).

Input per frame: the noisy latent, the known neighbour latents with their mask (for seamless joins) and
the frame-aligned score features (pitch roll, onsets, beat and bar position; see ``score_features``).
Global conditions: diffusion time, instrument (GM program or drum kit), production tags and genre, fed
through adaLN-Zero modulation. Rotary position embeddings in attention, so any section length works.
``cond['uncond']`` (B,) selects the learned null conditions (score notes, instrument, tags, genre) used
for classifier-free guidance; beat/bar position and known latents are context and are never dropped.

References: DiT (Peebles & Xie 2023, sec. 3.2 adaLN-Zero); RoFormer (Su et al. 2021, eq. 34);
classifier-free guidance (Ho & Salimans 2022).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from .score_features import FEATURE_DIM, GENRES, N_INSTRUMENTS, ONSET_PHASE, STYLE_TAGS

NOTE_CHANNELS = ONSET_PHASE + 1  # score channels [0, NOTE_CHANNELS) are dropped for CFG; the rest is position


@dataclass
class DiTConfig:
    """Network hyper-parameters; stored as JSON in the checkpoint metadata."""

    latent_dim: int = 32
    feature_dim: int = FEATURE_DIM
    dim: int = 256
    depth: int = 6
    heads: int = 4
    mlp_ratio: float = 4.0
    patch: int = 1  # latent frames per transformer token (DiT patchify, 1-D)
    n_instruments: int = N_INSTRUMENTS  # + 1 null entry
    n_tags: int = len(STYLE_TAGS)
    n_genres: int = len(GENRES) + 1  # 0 = unknown; + 1 null entry
    time_freqs: int = 256
    rope_base: float = 10000.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DiTConfig":
        d = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


DIT_PRESETS: dict[str, DiTConfig] = {
    "tiny": DiTConfig(latent_dim=8, dim=64, depth=2, heads=2, time_freqs=64, patch=2),
    "small": DiTConfig(dim=256, depth=6, heads=4, mlp_ratio=3.0, patch=2),
    "base": DiTConfig(dim=512, depth=12, heads=8, patch=2),
}


def timestep_embedding(t: torch.Tensor, n_freqs: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of t in [0, 1] scaled by 1000 (DDPM/DiT convention): (B,) -> (B, n_freqs)."""
    half = n_freqs // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def rope_tables(T: int, head_dim: int, base: float, device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables (T, head_dim/2) of rotary embeddings (RoFormer eq. 34)."""
    inv = 1.0 / base ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    ang = torch.arange(T, device=device, dtype=torch.float32)[:, None] * inv[None]  # (T, hd/2)
    return ang.cos(), ang.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs of channels (2i, 2i+1) by the angles of ``cos``/``sin`` (T, hd/2): x (B, H, T, hd)."""
    if x.device.type != "mps":  # as a complex product: the same numbers, ~6x faster than strided slices on the CPU
        xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2).contiguous())
        return torch.view_as_real(xc * torch.complex(cos, sin)).flatten(-2).to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, H, T, hd/2); MPS lacks complex kernels
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (B, H, T, hd/2, 2)
    return out.flatten(-2).to(x.dtype)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)  # (B, H, T, hd) each
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, H, T, hd)
        return self.proj(y.transpose(1, 2).reshape(B, T, D))


class DiTBlock(nn.Module):
    """Pre-norm transformer block with adaLN-Zero modulation from the global condition."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        sh1, sc1, g1, sh2, sc2, g2 = self.ada(c).chunk(6, dim=-1)  # (B, D) each
        x = x + g1[:, None] * self.attn(modulate(self.norm1(x), sh1, sc1), cos, sin)
        return x + g2[:, None] * self.mlp(modulate(self.norm2(x), sh2, sc2))  # (B, T, D)


class DiT(nn.Module):
    """Velocity network v(x_t, t, cond) over latent frames: (B, T, latent_dim) -> (B, T, latent_dim)."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.dim
        P = cfg.patch
        self.x_in = nn.Linear(P * (2 * cfg.latent_dim + 1), D)  # noisy latent, known latent * mask, mask
        self.score_in = nn.Linear(P * cfg.feature_dim, D)
        self.null_score = nn.Parameter(torch.zeros(D))
        self.time_mlp = nn.Sequential(nn.Linear(cfg.time_freqs, D), nn.SiLU(), nn.Linear(D, D))
        self.instrument = nn.Embedding(cfg.n_instruments + 1, D)  # last = null
        self.tags = nn.Linear(cfg.n_tags, D)
        self.null_tags = nn.Parameter(torch.zeros(D))
        self.genre = nn.Embedding(cfg.n_genres + 1, D)  # last = null
        self.blocks = nn.ModuleList([DiTBlock(D, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth)])
        self.norm_out = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.ada_out = nn.Linear(D, 2 * D)
        self.out = nn.Linear(D, P * cfg.latent_dim)
        for m in (self.ada_out, self.out):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        """Args:
            x: (B, T, latent_dim) noisy normalised latent; t: (B,) flow time in [0, 1] (1 = noise).
            cond: 'score' (B, T, feature_dim); 'instrument' (B,) long; 'tags' (B, n_tags); 'genre' (B,) long;
                optional 'known' (B, T, latent_dim) with 'known_mask' (B, T, 1); optional 'uncond' (B,) bool.
        Returns the predicted velocity (B, T, latent_dim).
        """
        B, T, _ = x.shape
        known = cond.get("known")
        mask = cond.get("known_mask")
        if known is None or mask is None:
            known, mask = torch.zeros_like(x), x.new_zeros(B, T, 1)
        uncond = cond.get("uncond")
        drop = torch.zeros(B, dtype=torch.bool, device=x.device) if uncond is None else uncond.to(x.device).bool()
        keep = (~drop).to(x.dtype)[:, None, None]  # (B, 1, 1)

        score = cond["score"].to(x.dtype)  # (B, T, F)
        notes, position = score[..., :NOTE_CHANNELS] * keep, score[..., NOTE_CHANNELS:]
        h = self.x_in(self._patchify(torch.cat([x, known.to(x.dtype) * mask, mask.to(x.dtype)], dim=-1)))  # (B, N, D)
        h = h + self.score_in(self._patchify(torch.cat([notes, position], dim=-1))) + (1 - keep) * self.null_score

        null_inst = torch.full_like(cond["instrument"], self.cfg.n_instruments)
        null_genre = torch.full_like(cond["genre"], self.cfg.n_genres)
        inst = torch.where(drop, null_inst, cond["instrument"].long())
        genre = torch.where(drop, null_genre, cond["genre"].long())
        tags = torch.where(drop[:, None], self.null_tags[None], self.tags(cond["tags"].to(x.dtype)))  # (B, D)
        c = self.time_mlp(timestep_embedding(t, self.cfg.time_freqs).to(x.dtype))
        c = F.silu(c + self.instrument(inst) + tags + self.genre(genre))  # (B, D)

        cos, sin = rope_tables(h.shape[1], self.cfg.dim // self.cfg.heads, self.cfg.rope_base, x.device)
        for block in self.blocks:
            h = block(h, c, cos, sin)
        shift, scale = self.ada_out(c).chunk(2, dim=-1)
        out = self.out(modulate(self.norm_out(h), shift, scale))  # (B, N, P * latent_dim)
        return out.reshape(B, -1, self.cfg.latent_dim)[:, :T]  # (B, T, latent_dim)

    def _patchify(self, a: torch.Tensor) -> torch.Tensor:
        """(B, T, C) -> (B, ceil(T / P), P * C), zero-padding the last patch."""
        P = self.cfg.patch
        B, T, C = a.shape
        if T % P:
            a = F.pad(a, (0, 0, 0, P - T % P))
        return a.reshape(B, -1, P * C)


def build_dit(cfg: DiTConfig | str, latent_dim: int | None = None) -> DiT:
    """Build a DiT from a config or preset name; ``latent_dim`` overrides the preset's (match the codec)."""
    if isinstance(cfg, str):
        cfg = DIT_PRESETS[cfg]
    if latent_dim is not None and latent_dim != cfg.latent_dim:
        cfg = DiTConfig(**{**asdict(cfg), "latent_dim": latent_dim})
    return DiT(cfg)
