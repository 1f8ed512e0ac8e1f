"""Samplers on analytic flows: exact endpoints, convergence order, callbacks and bit-exact resumption."""
import pytest
import torch

from melodex_studio.render.sampling import SAMPLERS, flow_schedule

MU, S = 1.5, 0.5  # 1-D Gaussian data N(MU, S^2)


def gaussian_velocity(x, t, cond):
    """Exact marginal velocity of the rectified flow for Gaussian data: x_t = (1-t) MU + sigma_t z,
    sigma_t = sqrt((1-t)^2 S^2 + t^2); v = -MU + sigma_t'/sigma_t (x - (1-t) MU)."""
    t = torch.as_tensor(t, dtype=torch.float64)
    sig2 = (1 - t) ** 2 * S ** 2 + t ** 2
    dsig_over_sig = (-(1 - t) * S ** 2 + t) / sig2
    return -MU + dsig_over_sig * (x - (1 - t) * MU)


def point_velocity(x, t, cond):
    """Velocity when all data is the point cond['x0']: v = (x_t - x0) / t."""
    return (x - cond["x0"]) / torch.as_tensor(t, dtype=x.dtype)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_every_sampler_lands_on_a_point_distribution(name):
    x0 = torch.tensor([[0.3, -2.0, 5.0]], dtype=torch.float64)
    z = torch.randn(1, 3, dtype=torch.float64)
    out = SAMPLERS[name](point_velocity, z, flow_schedule(5).double(), {"x0": x0})
    assert torch.allclose(out, x0, atol=1e-9)


def _error(name, steps, z):
    out = SAMPLERS[name](gaussian_velocity, z, flow_schedule(steps, shift=2.0).double(), {})
    return float((out - (MU + S * z)).abs().max())  # the ODE maps noise z to MU + S z exactly


def test_higher_order_samplers_beat_euler_and_all_converge():
    z = torch.linspace(-2, 2, 9, dtype=torch.float64)[None]
    e = {n: _error(n, 12, z) for n in SAMPLERS}
    for n in ("heun", "midpoint", "dpmpp_2m"):
        assert e[n] < 0.4 * e["euler"], e
    assert _error("euler", 48, z) < _error("euler", 12, z) / 3
    assert all(_error(n, 64, z) < 1e-2 for n in ("heun", "midpoint", "dpmpp_2m"))
    assert _error("heun", 48, z) < _error("heun", 12, z) / 8  # second order
    assert _error("dpmpp_2m", 192, z) < _error("dpmpp_2m", 48, z) / 4


def test_schedule():
    s = flow_schedule(4)
    assert torch.allclose(s, torch.tensor([1.0, 0.75, 0.5, 0.25, 0.0]))
    s2 = flow_schedule(4, t_start=0.5, shift=3.0)
    assert s2[0] == pytest.approx(3 * 0.5 / (1 + 2 * 0.5)) and s2[-1] == 0 and torch.all(s2[1:] < s2[:-1])
    with pytest.raises(ValueError):
        flow_schedule(0)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_callback_and_exact_resume(name):
    z = torch.randn(2, 5, dtype=torch.float64)
    sched = flow_schedule(7, shift=1.5).double()
    seen = {}
    full = SAMPLERS[name](gaussian_velocity, z, sched, {}, lambda i, x, d: seen.__setitem__(i, (x.clone(), d.clone())))
    assert sorted(seen) == list(range(1, 8)) and torch.equal(seen[7][0], full)
    for k in (1, 3, 6):
        again = SAMPLERS[name](gaussian_velocity, seen[k][0], sched, {}, start_step=k, old_denoised=seen[k][1])
        assert torch.equal(again, full)
