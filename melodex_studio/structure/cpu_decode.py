"""Single-token decoding of the structure transformer in numpy, for sampling on a CPU.

Sampling feeds one token at a time; at batch 1 every matmul is a matrix-vector product and per-op dispatch
cost matters as much as arithmetic. On the CPUs we measured (AMD EPYC, AVX2) numpy's OpenBLAS runs these
gemvs about twice as fast as torch's MKL and a numpy op costs ~1 µs against ~3-5 µs for a torch op, so
``CpuDecoder.step`` is the sampler's per-token path on a CPU. It computes the same function as
``StructureTransformer.forward`` (a test checks the logits) with the weights refolded once:

* LayerNorm's scale and shift are folded into the matmul that follows (``W (n*w + b) = (W*w) n + W b``);
* RoPE (Su et al. 2021, eq. 34) is one row of cos and one of signed sin per position over the whole q|k|v
  vector (v rows: cos 1, sin 0), rotate_half being a fixed permutation; the attention scale 1/sqrt(hd) is
  folded into q's rows;
* GELU (exact, erf form; torch's vectorised erf on a buffer shared with numpy) has its 1/sqrt(2) folded
  into the MLP's first matrix and sqrt(2)/2 into its second: gelu(W1 h) W2 = [u (1 + erf u)] (W2 sqrt(2)/2)
  with u = W1 h / sqrt(2).

Keys and values live in the torch ``KVCache`` given to it (shared memory), so multi-token prefills (rebuilds,
forced bars) go through ``StructureTransformer.decode`` and single steps through ``step``, on one cache.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

from .transformer import KVCache, StructureTransformer

LN_EPS = 1e-5  # nn.LayerNorm's default


@contextmanager
def blas_threads(n: int = 1):
    """Limit numpy's BLAS to ``n`` threads inside the block (threadpoolctl when installed, else no-op)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it OpenBLAS keeps its default thread count
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


class CpuWeights:
    """The model's weights refolded for ``CpuDecoder`` (see the module docstring), float32 numpy arrays."""

    def __init__(self, model: StructureTransformer):
        cfg = model.cfg
        self.C, self.H = C, H = cfg.n_embd, cfg.n_head
        self.hd = hd = cfg.n_embd // cfg.n_head

        def f64(t):
            return t.detach().to("cpu").double().numpy()

        def f32(a):
            return np.ascontiguousarray(a, dtype=np.float32)

        wte = f64(model.wte.weight)  # (V, C)
        self.wte = f32(wte)
        scale = 1.0 / math.sqrt(hd)
        cos, sin = f64(model.rope_cos), f64(model.rope_sin)  # (L, hd)
        sign = np.where(np.arange(hd) < hd // 2, -1.0, 1.0)  # rotate_half(x) = x[perm] * sign
        ones = np.ones((cos.shape[0], C))
        self.cos = f32(np.concatenate([np.tile(cos * scale, (1, H)), np.tile(cos, (1, H)), ones], 1))  # (L, 3C)
        self.sin = f32(np.concatenate([np.tile(sin * sign * scale, (1, H)), np.tile(sin * sign, (1, H)), 0 * ones], 1))
        self.perm = np.roll(np.arange(3 * C).reshape(3, H, hd), hd // 2, axis=-1).reshape(-1)  # (3C,)
        r2 = 1.0 / math.sqrt(2.0)
        self.layers = []
        for b in model.blocks:
            w1, b1, wqkv, wo, w2, b2, wfc, wpr = (f64(t) for t in (
                b.ln1.weight, b.ln1.bias, b.attn.qkv.weight, b.attn.proj.weight,
                b.ln2.weight, b.ln2.bias, b.mlp.fc.weight, b.mlp.proj.weight))
            self.layers.append((
                f32((wqkv * w1).T), f32(wqkv @ b1),  # (C, 3C), (3C,)
                f32(wo.T),  # (C, C)
                f32((wfc * w2).T * r2), f32((wfc @ b2) * r2),  # (C, 4C), (4C,)
                f32(wpr.T * (0.5 / r2)),  # (4C, C)
            ))
        wf, bf = f64(model.ln_f.weight), f64(model.ln_f.bias)
        self.head, self.head_b = f32(wte * wf), f32(wte @ bf)  # (V, C) rows per token, (V,)
        self.mlp_width = self.layers[0][3].shape[1]


def cpu_weights(model: StructureTransformer) -> CpuWeights:
    """``CpuWeights`` of ``model``, cached on it until a parameter changes (storage or in-place version)."""
    key = tuple((p.data_ptr(), 0 if p.is_inference() else p._version) for p in model.parameters())
    hit = getattr(model, "_cpu_weights", None)
    if hit is None or hit[0] != key:
        hit = (key, CpuWeights(model))
        model._cpu_weights = hit
    return hit[1]


class CpuDecoder:
    """Numpy single-token steps over a CPU model's weights, writing into ``cache`` (batch row 0)."""

    def __init__(self, model: StructureTransformer, cache: KVCache):
        if cache.kv.device.type != "cpu":
            raise ValueError("CpuDecoder needs a model and cache on the CPU")
        self.w = cpu_weights(model)
        self.cache = cache
        self.kv = [t.numpy() for t in cache.layers]  # each (2, H, L, hd), shares memory with the torch cache
        self.inv_c = 1.0 / self.w.C
        self._u = np.zeros(self.w.mlp_width, dtype=np.float32)  # MLP pre-activation and erf buffers, shared
        self._e = np.zeros_like(self._u)  # with torch (its erf is vectorised, scipy's is not)
        self._tu, self._te = torch.from_numpy(self._u), torch.from_numpy(self._e)

    def _norm(self, x: np.ndarray) -> np.ndarray:
        """LayerNorm without its affine part (folded into the next matmul). x: (C,)."""
        d = x - float(np.add.reduce(x)) * self.inv_c  # scalars as Python floats: numpy scalar ops cost ~0.5 µs each
        return d * (1.0 / math.sqrt(float(np.dot(d, d)) * self.inv_c + LN_EPS))

    def step(self, token: int, spans: tuple[tuple[int, int], ...] | None = None) -> np.ndarray:
        """Append one token at ``cache.pos``; return the next-token logits: (V,) float32, or with ``spans``
        only the rows ``a:b`` of each span, laid end to end (``spans=()``: no logits, an empty array)."""
        c, w = self.cache, self.w
        p = c.pos
        if p + 1 > c.length:
            raise ValueError(f"context of {p + 1} tokens exceeds the cache length {c.length}")
        C, H, hd = w.C, w.H, w.hd
        u, e, tu, te = self._u, self._e, self._tu, self._te
        x = w.wte[token]  # (C,)
        cos, sin, perm = w.cos[p], w.sin[p], w.perm
        for (wqkv, bqkv, wo, wfc, bfc, wpr), kv in zip(w.layers, self.kv):
            qkv = self._norm(x) @ wqkv  # (3C,)
            qkv += bqkv
            qkv = qkv * cos + qkv[perm] * sin  # RoPE on q (pre-scaled) and k
            r = qkv.reshape(3, H, 1, hd)
            kv[:, :, p] = r[1:, :, 0]  # cache <- k, v
            att = np.matmul(r[0], kv[0, :, :p + 1].transpose(0, 2, 1))  # (H, 1, p+1)
            att -= np.maximum.reduce(att, -1, keepdims=True)
            np.exp(att, out=att)
            att /= np.add.reduce(att, -1, keepdims=True)
            y = np.matmul(att, kv[1, :, :p + 1])  # (H, 1, hd)
            x = x + y.reshape(C) @ wo  # (C,)
            np.matmul(self._norm(x), wfc, out=u)  # (4C,)
            u += bfc
            torch.erf(tu, out=te)
            e += np.float32(1.0)
            e *= u
            x += e @ wpr  # (C,)
        c.pos = p + 1
        h = self._norm(x)
        if spans is None:
            return w.head @ h + w.head_b  # (V,)
        if not spans:
            return np.zeros(0, dtype=np.float32)
        if len(spans) == 1:
            a, b = spans[0]
            return w.head[a:b] @ h + w.head_b[a:b]
        return np.concatenate([w.head[a:b] @ h + w.head_b[a:b] for a, b in spans])
