"""Decoder-only transformer over arrangement tokens (nanoGPT layout, rotary positions, KV cache).

One network, read top to bottom: rotary embedding, attention, MLP, block, config, model. No I/O, no device
choice, no printing: ``structure/checkpoint.py`` loads, ``engine/`` picks the device.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class StructureConfig:
    vocab_size: int = 991
    block_size: int = 512  # longest context in tokens (training window and KV cache length)
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 256
    mlp_ratio: int = 4
    dropout: float = 0.0
    rope_base: float = 10000.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StructureConfig":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


PRESETS: dict[str, dict] = {
    "tiny": dict(block_size=256, n_layer=2, n_head=2, n_embd=64),  # tests
    "small": dict(block_size=512, n_layer=3, n_head=4, n_embd=256),  # shipped CPU default (~2.6M params)
    "base": dict(block_size=1024, n_layer=8, n_head=8, n_embd=512),  # GPU (~25M params)
}


def rotary_tables(head_dim: int, length: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables for RoPE (Su et al. 2021, RoFormer, eq. 34) in rotate-half layout, each (length, head_dim)."""
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))  # (hd/2,)
    ang = torch.outer(torch.arange(length, dtype=torch.float32), inv)  # (L, hd/2)
    ang = torch.cat((ang, ang), dim=-1)  # (L, hd)
    return ang.cos(), ang.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x * cos + rotate_half(x) * sin. x: (..., T, hd); cos/sin: (T, hd)."""
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), dim=-1)  # (..., T, hd)
    return x * cos + rot * sin


class KVCache:
    """Preallocated keys/values for incremental decoding, written in place; ``pos`` = tokens already in the cache.

    ``kv`` is (n_layer, 2, batch, n_head, length, head_dim) (keys then values); ``k``/``v`` are its
    (n_layer, batch, n_head, length, head_dim) views and ``layers[i]`` the (2, n_head, length, head_dim) view
    of layer i for batch row 0 (the lean single-sequence path of ``StructureTransformer.decode``).
    """

    def __init__(self, n_layer: int, batch: int, n_head: int, length: int, head_dim: int, device, dtype):
        self.kv = torch.zeros((n_layer, 2, batch, n_head, length, head_dim), device=device, dtype=dtype)
        self.k, self.v = self.kv[:, 0], self.kv[:, 1]
        self.layers = [self.kv[i, :, 0] for i in range(n_layer)]
        self.pos = 0
        self.length = length

    def reset(self) -> None:
        self.pos = 0


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: StructureConfig):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head, self.head_dim = cfg.n_head, cfg.n_embd // cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        self.dropout = cfg.dropout

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0):
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, H, T, hd)
        qk = apply_rotary(qkv[:2], cos, sin)  # (2, B, H, T, hd)
        q, k, v = qk[0], qk[1], qkv[2]  # each (B, H, T, hd)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=self.dropout if self.training else 0.0)  # (B, H, T, hd)
        else:
            p = cache.pos
            cache.k[layer, :B, :, p:p + T] = k
            cache.v[layer, :B, :, p:p + T] = v
            kk, vv = cache.k[layer, :B, :, :p + T], cache.v[layer, :B, :, :p + T]  # (B, H, p+T, hd)
            if T == 1:
                y = F.scaled_dot_product_attention(q, kk, vv)  # (B, H, 1, hd)
            else:
                mask = torch.ones(T, p + T, dtype=torch.bool, device=x.device).tril(diagonal=p)  # (T, p+T)
                y = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask)  # (B, H, T, hd)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, cfg: StructureConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, cfg.mlp_ratio * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.mlp_ratio * cfg.n_embd, cfg.n_embd, bias=False)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.drop(self.proj(F.gelu(self.fc(x))))  # (B, T, C)


class Block(nn.Module):
    def __init__(self, cfg: StructureConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, cache=None, layer=0):
        x = x + self.attn(self.ln1(x), cos, sin, cache, layer)  # (B, T, C)
        return x + self.mlp(self.ln2(x))  # (B, T, C)


class StructureTransformer(nn.Module):
    """Next-token model. ``forward(idx (B, T), cache=None) -> logits (B, T, vocab)``.

    With a ``KVCache`` the tokens are appended at ``cache.pos`` (which then advances by T); positions
    are absolute indices inside the cache, so a context is at most ``block_size`` tokens long.
    """

    def __init__(self, cfg: StructureConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.wte.weight  # weight tying (Press & Wolf 2017)
        cos, sin = rotary_tables(cfg.n_embd // cfg.n_head, cfg.block_size, cfg.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight"):  # GPT-2 scaled init of residual projections
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, batch: int = 1, length: int | None = None) -> KVCache:
        """An empty KV cache; also (re)packs the weights ``decode`` reads, so call it after moving the model."""
        p = next(self.parameters())
        self._pack = _DecodePack(self)
        return KVCache(self.cfg.n_layer, batch, self.cfg.n_head, length or self.cfg.block_size,
                       self.cfg.n_embd // self.cfg.n_head, p.device, p.dtype)

    def decode(self, tokens: list[int], cache: KVCache) -> torch.Tensor:
        """Append ``tokens`` (one sequence, batch row 0 of ``cache``) and return the next-token logits (vocab,).

        The same function as ``forward(idx, cache, last_only=True)[0, -1]`` (a test checks it), written for
        token-by-token sampling on a CPU: plain tensor ops on the packed weights (no module dispatch), rotary
        rows precomputed per position, keys/values written in place into the preallocated cache, the residual
        adds fused into ``addmm``. Run it under ``torch.inference_mode()``; the cache must come from
        ``new_cache`` (which packs the weights).
        """
        pk: _DecodePack = self._pack
        T, p = len(tokens), cache.pos
        if p + T > cache.length:
            raise ValueError(f"context of {p + T} tokens exceeds the cache length {cache.length}")
        C, H, hd = pk.C, pk.H, pk.hd
        if T == 1:
            x = pk.wte.narrow(0, tokens[0], 1)  # (1, C)
            cos, sin = pk.cos_at[p], pk.sin_at[p]  # each (3, 1, 1, hd)
            mask = None
        else:
            x = F.embedding(torch.tensor(tokens, device=pk.wte.device), pk.wte)  # (T, C)
            cos, sin = pk.cos3[:, :, p:p + T], pk.sin3[:, :, p:p + T]  # each (3, 1, T, hd)
            mask = torch.ones(T, p + T, dtype=torch.bool, device=x.device).tril(diagonal=p)  # (T, p+T)
        for (ln1w, ln1b, wqkv, wo, ln2w, ln2b, wfc, wpr), kv in zip(pk.layers, cache.layers):
            h = F.layer_norm(x, (C,), ln1w, ln1b)  # (T, C)
            qkv = F.linear(h, wqkv).view(T, 3, H, hd).permute(1, 2, 0, 3)  # (3, H, T, hd)
            qkv = torch.addcmul(qkv * cos, qkv.roll(hd // 2, -1), sin)  # RoPE on q and k; v has cos 1, sin 0
            kv.narrow(2, p, T).copy_(qkv[1:])  # cache (2, H, L, hd) <- k, v
            k, v = kv.narrow(2, 0, p + T).unbind(0)  # each (H, p+T, hd)
            if mask is None:
                att = torch.baddbmm(pk.zero, qkv[0], k.transpose(1, 2), beta=0.0, alpha=pk.scale)  # (H, 1, p+1)
                y = torch.bmm(torch.softmax(att, -1), v)  # (H, 1, hd)
            else:
                y = F.scaled_dot_product_attention(qkv[0], k, v, attn_mask=mask)  # (H, T, hd)
            x = torch.addmm(x, y.transpose(0, 1).reshape(T, C), wo.t())  # (T, C)
            h = F.layer_norm(x, (C,), ln2w, ln2b)  # (T, C)
            x = torch.addmm(x, F.gelu(F.linear(h, wfc)), wpr.t())  # (T, C)
        cache.pos += T
        x = F.layer_norm(x[-1], (C,), pk.lnfw, pk.lnfb)  # (C,)
        return F.linear(x, pk.wte)  # (vocab,)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor:
        B, T = idx.shape
        start = cache.pos if cache is not None else 0
        if start + T > self.cfg.block_size:
            raise ValueError(f"context of {start + T} tokens exceeds block_size {self.cfg.block_size}")
        cos, sin = self.rope_cos[start:start + T], self.rope_sin[start:start + T]  # (T, hd)
        x = self.drop(self.wte(idx))  # (B, T, C)
        for i, blk in enumerate(self.blocks):
            x = blk(x, cos, sin, cache, i)  # (B, T, C)
        if cache is not None:
            cache.pos += T
        if last_only:
            x = x[:, -1:]  # (B, 1, C)
        return self.head(self.ln_f(x))  # (B, T or 1, vocab)


class _DecodePack:
    """The weights and rotary rows ``StructureTransformer.decode`` reads, gathered once per cache (plain
    attributes instead of module lookups). Rotary rows are stacked for (q, k, v) with v's rows the identity
    (cos 1, sin 0) and rotate_half folded into a signed sin: rotate_half(x) = roll(x, hd/2) * [-1.., +1..]."""

    def __init__(self, m: StructureTransformer):
        cfg = m.cfg
        self.C, self.H = cfg.n_embd, cfg.n_head
        self.hd = cfg.n_embd // cfg.n_head
        self.scale = 1.0 / math.sqrt(self.hd)
        self.wte = m.wte.weight.detach()  # (vocab, C), tied with the head
        self.lnfw, self.lnfb = m.ln_f.weight.detach(), m.ln_f.bias.detach()
        self.layers = [tuple(t.detach() for t in (b.ln1.weight, b.ln1.bias, b.attn.qkv.weight, b.attn.proj.weight,
                                                  b.ln2.weight, b.ln2.bias, b.mlp.fc.weight, b.mlp.proj.weight))
                       for b in m.blocks]
        cos, sin = m.rope_cos, m.rope_sin  # (L, hd)
        sign = torch.ones(self.hd, device=cos.device, dtype=cos.dtype)
        sign[: self.hd // 2] = -1.0
        self.cos3 = torch.stack((cos, cos, torch.ones_like(cos))).unsqueeze(1)  # (3, 1, L, hd)
        self.sin3 = torch.stack((sin * sign, sin * sign, torch.zeros_like(sin))).unsqueeze(1)  # (3, 1, L, hd)
        self.cos_at = self.cos3.split(1, dim=2)  # L views of (3, 1, 1, hd)
        self.sin_at = self.sin3.split(1, dim=2)
        self.zero = torch.zeros(1, 1, 1, device=cos.device, dtype=cos.dtype)  # baddbmm input (ignored, beta=0)


def build_model(cfg: StructureConfig | str) -> StructureTransformer:
    """Model from a config or a preset name ('tiny', 'small', 'base')."""
    if isinstance(cfg, str):
        if cfg not in PRESETS:
            raise ValueError(f"unknown preset {cfg!r}; choose one of {', '.join(PRESETS)}")
        from .tokens import VOCAB_SIZE

        cfg = StructureConfig(vocab_size=VOCAB_SIZE, **PRESETS[cfg])
    return StructureTransformer(cfg)
