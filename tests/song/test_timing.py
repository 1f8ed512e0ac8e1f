from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from melodex_studio.song.timing import PPQ, MeterChange, MeterMap, TempoChange, TempoMap, ticks_per_bar


def test_constant_tempo_seconds_and_samples_are_exact():
    tm = TempoMap(bpm=82)
    # one bar of 4/4 at 82 BPM = 4 * 60 / 82 s exactly
    assert tm.tick_to_seconds_exact(4 * PPQ) == Fraction(240, 82)
    # 82 BPM, 44.1 kHz: one beat is 32268.29... samples; 41 beats are exactly 1,323,000 samples
    assert tm.tick_to_sample(41 * PPQ, 44100) == 1_323_000
    assert tm.tick_to_sample(PPQ, 44100) == 32268


def test_tempo_change_accumulates_exactly():
    tm = TempoMap([TempoChange(0, 120), TempoChange(4 * PPQ, 60)])
    assert tm.tick_to_seconds(4 * PPQ) == 2.0
    assert tm.tick_to_seconds(5 * PPQ) == 3.0
    assert tm.tick_to_sample(6 * PPQ, 48000) == 4 * 48000
    assert tm.bpm_at(4 * PPQ - 1) == 120 and tm.bpm_at(4 * PPQ) == 60


def test_fractional_bpm_stays_rational():
    tm = TempoMap(bpm=119.88)
    assert tm.tick_to_seconds_exact(PPQ) == Fraction(60) / Fraction("119.88")


@given(
    st.lists(st.tuples(st.integers(1, 20_000), st.floats(30, 300).map(lambda x: round(x, 2))), max_size=6),
    st.integers(0, 200_000),
)
def test_seconds_to_tick_inverts_tick_to_seconds(changes, tick):
    tm = TempoMap([TempoChange(0, 100)] + [TempoChange(t, b) for t, b in changes])
    assert tm.seconds_to_tick(tm.tick_to_seconds(tick)) == pytest.approx(tick, abs=1e-6)


@given(st.lists(st.tuples(st.integers(1, 5000), st.floats(30, 300)), max_size=5), st.integers(0, 10**6))
def test_time_is_monotonic(changes, tick):
    tm = TempoMap([TempoChange(0, 90)] + [TempoChange(t, b) for t, b in changes])
    assert tm.tick_to_seconds_exact(tick + 1) > tm.tick_to_seconds_exact(tick)


def test_meter_map_bars_in_3_4_and_6_8():
    assert ticks_per_bar(3, 4) == 1440 and ticks_per_bar(6, 8) == 1440 and ticks_per_bar(12, 8) == 2880
    mm = MeterMap([MeterChange(0, 4, 4), MeterChange(2, 3, 4), MeterChange(4, 6, 8)])
    assert [mm.bar_to_tick(b) for b in range(6)] == [0, 1920, 3840, 5280, 6720, 8160]
    assert mm.tick_to_bar(5280 + 100) == (3, 100)
    assert mm.tick_to_bar(8160) == (5, 0)
    assert mm.meter_at_bar(3).numerator == 3 and mm.meter_at_tick(7000).denominator == 8


@given(st.integers(0, 200))
def test_bar_tick_round_trip(bar):
    mm = MeterMap([MeterChange(0, 5, 4), MeterChange(7, 7, 8), MeterChange(30, 12, 8)])
    assert mm.tick_to_bar(mm.bar_to_tick(bar)) == (bar, 0)


def test_invalid_maps_are_rejected():
    with pytest.raises(ValueError):
        TempoMap(bpm=0)
    with pytest.raises(ValueError):
        MeterMap(numerator=4, denominator=3)


def test_maps_serialise_round_trip():
    tm = TempoMap([TempoChange(0, 82.5), TempoChange(960, 140)])
    mm = MeterMap([MeterChange(0, 6, 8), MeterChange(8, 4, 4)])
    assert TempoMap.from_list(tm.to_list()) == tm
    assert MeterMap.from_list(mm.to_list()) == mm


def test_tempo_map_numbers_stay_bounded_with_many_tempos():
    """Exact sums of 20,000 different tempos had denominators of ~300,000 digits (100,000 changes: 19 s, 3.5 GB);
    start times now keep at most 64-bit denominators, so the cost is linear in the number of changes."""
    from melodex_studio.song.timing import TIME_GRID

    changes = [TempoChange(i * 7, 40 + (i * 7919 % 200_000) / 1000) for i in range(20_000)]
    tm = TempoMap(changes)
    assert max(s.denominator for s in tm._start_s) <= TIME_GRID
    assert tm.tick_to_seconds_exact(20_000 * 7).denominator < 2**128
    # every start within n / (2 * TIME_GRID) s of the exact sum (checked over the first 400 changes)
    exact, worst = Fraction(0), Fraction(0)
    for i in range(1, 400):
        exact += Fraction(60) / (Fraction(repr(changes[i - 1].bpm)) * PPQ) * 7
        worst = max(worst, abs(exact - tm._start_s[i]))
    assert worst <= Fraction(400, 2 * TIME_GRID)


def test_few_tempos_stay_exact():
    tm = TempoMap([TempoChange(0, 120), TempoChange(960, 82.5), TempoChange(2000, 119.88), TempoChange(2500, 61.7)])
    exact = (Fraction(60, 120 * PPQ) * 960 + Fraction(60) / (Fraction("82.5") * PPQ) * 1040
             + Fraction(60) / (Fraction("119.88") * PPQ) * 500)
    assert tm.tick_to_seconds_exact(2500) == exact
    assert tm.tick_to_seconds_exact(2600) == exact + Fraction(60) / (Fraction("61.7") * PPQ) * 100
