"""Render options a user can type: bounded steps, 64-bit seeds, a strength and a guidance that are numbers. Each
bad value is a ModelError naming it, before any model is loaded or any work is done."""
from __future__ import annotations

import pytest

from melodex_studio.engine.diffusion_render import DiffusionOptions, check_options, render_diffusion
from melodex_studio.errors import ModelError
from melodex_studio.song import Note, Section, Song, Track
from melodex_studio.song import limits


def song() -> Song:
    s = Song("t")
    s.add_section(Section("a", 0, 1))
    s.add_track(Track("Lead", notes=[Note(0, 60, 480)]))
    return s


@pytest.mark.parametrize("changes, match", [
    ({"steps": 100_000}, r"100000 steps is out of range: use 1 to 1,000"),  # before: no upper bound
    ({"steps": 0}, r"0 steps is out of range"),
    ({"steps": 2.5}, r"the number of steps must be a whole number"),
    ({"seed": 2**64}, r"the render seed 18446744073709551616 is out of range"),  # before: an overflow traceback
    ({"seed": -1}, r"the render seed -1 is out of range: use a whole number from 0 to 9,223,372,036,854,775,807"),
    ({"seed": True}, r"the render seed must be a whole number"),
    ({"strength": 1.5}, r"strength 1\.5 must be between 0"),
    ({"strength": float("nan")}, r"strength nan must be between 0"),
    ({"guidance": float("inf")}, r"guidance inf must be a number between -100 and 100"),
    ({"record_steps": (1, 99)}, r"recorded step 99 must be a whole number between 0 and the 8 steps"),
])
def test_bad_render_options_are_refused_before_any_work(tmp_path, changes, match):
    opts = DiffusionOptions(codec=tmp_path / "none.safetensors", renderer=tmp_path / "none.safetensors", **changes)
    with pytest.raises(ModelError, match=match):
        check_options(opts)
    with pytest.raises(ModelError, match=match):  # the check comes before the models are loaded
        render_diffusion(song(), options=opts)


def test_the_limits_are_accepted():
    check_options(DiffusionOptions(steps=limits.MAX_STEPS, seed=limits.SEED_RANGE[1], strength=0.0, guidance=0.0,
                                   record_steps=(0, limits.MAX_STEPS)))
