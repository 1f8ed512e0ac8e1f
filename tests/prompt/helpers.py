"""Compare a StylePlan with an ``expect`` dict of the public prompt file (field by field)."""
from __future__ import annotations

from melodex_studio.prompt.plan import StylePlan


def plan_fields(plan: StylePlan) -> dict:
    """The plan in the vocabulary of ``expect`` dicts."""
    return {
        "bpm": plan.tempo_bpm,
        "key": plan.key.name,
        "meter": f"{plan.meter[0]}/{plan.meter[1]}",
        "form": [[s.label, s.bars] for s in plan.form],
        "instruments": plan.stated_instruments,
        "drums": plan.drums,
        "genre": plan.genre,
        "bars": plan.total_bars,
        "duration_s": plan.duration_s,
        "mood": plan.mood,
        "groove": plan.drum_groove,
    }


def mismatches(plan: StylePlan, expect: dict) -> dict:
    """{field: (expected, got)} for every field of ``expect`` the plan does not match exactly."""
    got = plan_fields(plan)
    out = {}
    for k, v in expect.items():
        if k not in got:
            out[k] = (v, "<unknown field>")
        elif got[k] != v:
            out[k] = (v, got[k])
    return out
