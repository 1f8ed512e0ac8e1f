"""Stateless flow-matching samplers with one signature, as in k-diffusion's ``sampling.py``:

    sample_x(model, x, schedule, cond, callback=None, *, start_step=0, old_denoised=None) -> x at schedule[-1]

``model(x, t, cond)`` returns the velocity of the rectified flow x_t = (1 - t) x0 + t eps (a
``FlowDenoiser``); ``schedule`` is a 1-D tensor of decreasing times (``schedule[0]`` the time of ``x``, the
last entry 0); ``callback(step, x, denoised)`` is called after every step with the schedule index ``step``
of the new ``x`` (so ``x`` lies at ``schedule[step]``) and the clean-latent estimate of that step. To resume
from a recorded step ``k``, call the same sampler with the same schedule, the latent recorded at ``k``,
``start_step=k`` and, for multistep samplers, the ``denoised`` recorded at ``k``: the result is the same
as the uninterrupted run, bit for bit. Adding a sampler is adding a function to ``SAMPLERS``.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

Callback = Optional[Callable[[int, torch.Tensor, torch.Tensor], None]]


def flow_schedule(steps: int, t_start: float = 1.0, shift: float = 1.0, device=None) -> torch.Tensor:
    """``steps + 1`` times from ``t_start`` down to 0, uniform in t then shifted (SD3, Esser et al. 2024,
    eq. 23: t' = shift t / (1 + (shift - 1) t); shift > 1 spends more steps at high noise)."""
    if steps < 1:
        raise ValueError("a schedule needs at least one step")
    t = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64) * float(t_start)
    t = shift * t / (1 + (shift - 1) * t)
    return t.float().to(device)


def _denoised(x: torch.Tensor, t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return x - t * v  # x0 = x_t - t v


@torch.no_grad()
def sample_euler(model, x, schedule, cond, callback: Callback = None, *, start_step: int = 0, old_denoised=None):
    """First-order Euler steps of the probability-flow ODE dx/dt = v (Liu et al. 2022, eq. 1)."""
    for i in range(start_step, len(schedule) - 1):
        t, t_next = schedule[i], schedule[i + 1]
        v = model(x, t, cond)
        d = _denoised(x, t, v)
        x = x + (t_next - t) * v
        if callback is not None:
            callback(i + 1, x, d)
    return x


@torch.no_grad()
def sample_heun(model, x, schedule, cond, callback: Callback = None, *, start_step: int = 0, old_denoised=None):
    """Heun's second-order method (Karras et al. 2022, alg. 1); the last step to t = 0 is Euler."""
    for i in range(start_step, len(schedule) - 1):
        t, t_next = schedule[i], schedule[i + 1]
        v = model(x, t, cond)
        d = _denoised(x, t, v)
        x_euler = x + (t_next - t) * v
        if float(t_next) == 0.0:
            x = x_euler
        else:
            v2 = model(x_euler, t_next, cond)
            x = x + (t_next - t) * 0.5 * (v + v2)
        if callback is not None:
            callback(i + 1, x, d)
    return x


@torch.no_grad()
def sample_midpoint(model, x, schedule, cond, callback: Callback = None, *, start_step: int = 0, old_denoised=None):
    """Explicit midpoint (RK2) steps: velocity at the half step; the last step to t = 0 is Euler."""
    for i in range(start_step, len(schedule) - 1):
        t, t_next = schedule[i], schedule[i + 1]
        v = model(x, t, cond)
        d = _denoised(x, t, v)
        if float(t_next) == 0.0:
            x = x + (t_next - t) * v
        else:
            t_mid = 0.5 * (t + t_next)
            x = x + (t_next - t) * model(x + (t_mid - t) * v, t_mid, cond)
        if callback is not None:
            callback(i + 1, x, d)
    return x


def _lambda(t: float) -> float:
    """Half log-SNR of the flow path, log(alpha / sigma) with alpha = 1 - t, sigma = t."""
    if t <= 0.0:
        return math.inf
    if t >= 1.0:
        return -math.inf
    return math.log((1 - t) / t)


@torch.no_grad()
def sample_dpmpp_2m(model, x, schedule, cond, callback: Callback = None, *, start_step: int = 0, old_denoised=None):
    """DPM-Solver++(2M) (Lu et al. 2022, alg. 2) on the flow path alpha_t = 1 - t, sigma_t = t, one model
    call per step. ``old_denoised`` is the denoised estimate of step ``start_step - 1`` when resuming."""
    for i in range(start_step, len(schedule) - 1):
        t, t_next = float(schedule[i]), float(schedule[i + 1])
        v = model(x, schedule[i], cond)
        d = _denoised(x, schedule[i], v)
        a_next, s_next = 1.0 - t_next, t_next
        # e^{-h} = (alpha_t sigma_next) / (sigma_t alpha_next), finite at t = 1 and t_next = 0
        exp_neg_h = ((1.0 - t) * s_next) / (t * a_next) if t > 0 and a_next > 0 else 0.0
        if old_denoised is None or t_next == 0.0 or i == 0:
            d_use = d
        else:
            t_prev = float(schedule[i - 1])
            h, h_prev = _lambda(t_next) - _lambda(t), _lambda(t) - _lambda(t_prev)
            r = h_prev / h if math.isfinite(h_prev) and h > 0 else math.inf
            d_use = d if not math.isfinite(r) else (1 + 1 / (2 * r)) * d - (1 / (2 * r)) * old_denoised
        x = (s_next / t) * x + a_next * (1.0 - exp_neg_h) * d_use if t > 0 else d_use
        old_denoised = d
        if callback is not None:
            callback(i + 1, x, d)
    return x


SAMPLERS = {
    "euler": sample_euler,
    "heun": sample_heun,
    "midpoint": sample_midpoint,
    "dpmpp_2m": sample_dpmpp_2m,
}
DEFAULT_SAMPLER = "dpmpp_2m"
DEFAULT_STEPS = 8
