"""Flow-matching wrapper around the DiT: parameterisation, training loss and classifier-free guidance.

Rectified flow (Liu et al. 2022; Lipman et al. 2023): x_t = (1 - t) x0 + t eps with t in [0, 1]
(t = 1 is pure noise), the network predicts the velocity v = dx_t/dt = eps - x0, and the clean latent is
recovered as x0 = x_t - t v. Training times are drawn from a logit-normal density (Esser et al. 2024, SD3
sec. 3.1). Guidance (Ho & Salimans 2022): v = v_uncond + w (v_cond - v_uncond), both halves in one batch,
optionally limited to an interval of t (Kynkaanniemi et al. 2024, "Applying guidance in a limited interval").
"""
from __future__ import annotations

import torch
import torch.nn as nn


class FlowDenoiser(nn.Module):
    """Wraps a velocity network ``net(x, t, cond)``; ``forward`` is what the samplers call."""

    def __init__(self, net: nn.Module, p_uncond: float = 0.1, p_drop_tags: float = 0.2, p_drop_genre: float = 0.3):
        super().__init__()
        self.net = net
        self.p_uncond = p_uncond
        self.p_drop_tags = p_drop_tags
        self.p_drop_genre = p_drop_genre

    # --- parameterisation ----------------------------------------------------------------------------
    @staticmethod
    def noisy(x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Point on the flow path: x_t = (1 - t) x0 + t eps, t broadcast over (B, ...)."""
        t = t.view(-1, *([1] * (x0.dim() - 1)))
        return (1 - t) * x0 + t * eps

    @staticmethod
    def to_denoised(x: torch.Tensor, t: torch.Tensor | float, v: torch.Tensor) -> torch.Tensor:
        """x0 estimate from x_t and the velocity: x0 = x_t - t v."""
        if torch.is_tensor(t) and t.dim() > 0:
            t = t.view(-1, *([1] * (x.dim() - 1)))
        return x - t * v

    # --- sampling-time call ---------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, t: torch.Tensor | float, cond: dict) -> torch.Tensor:
        """Guided velocity at (x, t). ``cond['guidance']`` (float, default 1 = no guidance) is the CFG
        weight w; with w != 1 the conditional and null-conditional passes run as one batch of 2B. Guidance applies
        only for t in ``cond['guidance_interval']`` = (lo, hi] (default (0, 1]; Kynkaanniemi et al. 2024: guidance
        at the highest and lowest noise levels costs compute and diversity for little adherence).
        x: (B, T, D); t: scalar or (B,)."""
        B = x.shape[0]
        t = torch.as_tensor(t, dtype=torch.float32, device=x.device).expand(B) if not torch.is_tensor(t) or t.dim() == 0 else t
        w = float(cond.get("guidance", 1.0))
        lo, hi = cond.get("guidance_interval", (0.0, 1.0))
        net_cond = {k: v for k, v in cond.items() if k not in ("guidance", "guidance_interval")}
        if w == 1.0 or not bool(((t > lo) & (t <= hi)).all()):
            return self.net(x, t, net_cond)
        both = {k: torch.cat([v, v]) if torch.is_tensor(v) else v for k, v in net_cond.items()}
        both["uncond"] = torch.cat([torch.zeros(B, dtype=torch.bool), torch.ones(B, dtype=torch.bool)]).to(x.device)
        v_c, v_u = self.net(torch.cat([x, x]), torch.cat([t, t]), both).chunk(2)  # (B, T, D) each
        return v_u + w * (v_c - v_u)

    # --- training -------------------------------------------------------------------------------------
    def loss(self, x0: torch.Tensor, cond: dict, loss_mask: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Conditional flow-matching loss E ||v_theta(x_t, t) - (eps - x0)||^2 with condition dropout.

        x0: (B, T, D) clean normalised latents; cond: as for ``DiT.forward`` (no 'uncond', no 'guidance');
        loss_mask: (B, T, 1), 1 on frames that count (e.g. not the known neighbour frames).
        """
        B, dev = x0.shape[0], x0.device

        def rand(*shape):
            return torch.rand(*shape, generator=generator, device="cpu").to(dev)

        t = torch.sigmoid(torch.randn(B, generator=generator, device="cpu")).to(dev)  # logit-normal (B,)
        eps = torch.randn(x0.shape, generator=generator, device="cpu").to(dev, x0.dtype)
        cond = dict(cond)
        cond["uncond"] = rand(B) < self.p_uncond
        cond["tags"] = cond["tags"] * (rand(B, 1) >= self.p_drop_tags).to(cond["tags"].dtype)
        cond["genre"] = torch.where(rand(B) < self.p_drop_genre, torch.zeros_like(cond["genre"]), cond["genre"])
        v = self.net(self.noisy(x0, eps, t), t, cond)
        err = (v.float() - (eps - x0).float()).square()  # (B, T, D)
        if loss_mask is None:
            return err.mean()
        m = loss_mask.float().expand_as(err)
        return (err * m).sum() / m.sum().clamp_min(1.0)
