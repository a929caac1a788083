"""One-off spike adjustment: the detector on hand-made series (expected values worked out here), and
forecast_series with it on (the default) and off."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.core.errors import ParameterError
from forecast.timeseries import select
from forecast.timeseries.auto import forecast_series
from forecast.timeseries.models import AUTO_MODELS
from forecast.timeseries.outliers import MIN_POINTS, spike_adjusted


def changes(res):
    return [(a.index, a.actual, a.adjusted) for a in res.adjustments]


def test_a_one_off_spike_in_flat_spend_goes_back_to_the_level():
    y = [10.0] * 6 + [80.0] + [10.0] * 5
    res = spike_adjusted(y, 12)
    assert changes(res) == [(6, 80.0, 10.0)] and res.y.tolist() == [10.0] * 12
    assert res.adjustments[0].reason == "one-off spike: 8.0x the local level, back down 1 period later"
    assert y[6] == 80.0  # pure: the input is not modified


def test_the_adjusted_value_is_the_median_of_the_neighbours():
    # neighbours of position 6: 11, 10, 11 before and 11, 10, 11 after -> sorted 10 10 11 11 11 11 -> median 11
    y = [10.0, 11, 10, 11, 10, 11, 60, 11, 10, 11, 10, 11]
    assert changes(spike_adjusted(y)) == [(6, 60.0, 11.0)]
    # on a line 100 + 2t the neighbours of t = 10 are 114 116 118 | 122 124 126: median 120, the line itself
    line = 100 + 2.0 * np.arange(30)
    spiked = line.copy()
    spiked[10] = 400.0
    res = spike_adjusted(spiked, 12)
    assert changes(res) == [(10, 400.0, 120.0)] and res.y.tolist() == line.tolist()


def test_a_runaway_lasting_two_periods_is_outvoted_by_its_neighbours():
    y = [10.0] * 6 + [80.0, 70.0] + [10.0] * 6
    assert changes(spike_adjusted(y)) == [(6, 80.0, 10.0), (7, 70.0, 10.0)]


def test_a_level_shift_is_not_a_spike_even_at_the_end():
    assert spike_adjusted([10.0] * 6 + [80.0] * 6).adjustments == ()
    # two points after the step: the neighbours of position 10 are 10 10 10 | 80, so it is high against them,
    # but nothing after it comes back down: not confirmed
    assert spike_adjusted([10.0] * 10 + [80.0] * 2).adjustments == ()
    # nor is a point that is not above the level before it (a launch month followed by a fall)
    assert spike_adjusted([74.0, 31, 15, 17, 17.5, 20, 18, 25, 22, 24]).adjustments == ()


def test_the_last_point_is_never_adjusted_and_the_one_before_needs_it_back_down():
    assert spike_adjusted([10.0] * 11 + [80.0]).adjustments == ()
    assert changes(spike_adjusted([10.0] * 10 + [80.0, 10.0])) == [(10, 80.0, 10.0)]
    # the back-down point must be closer to the previous level (10) than to the spike (80), i.e. below their
    # midpoint 45: 44 is (34 from 10, 36 from 80), 46 is not
    assert changes(spike_adjusted([10.0] * 10 + [80.0, 44.0])) == [(10, 80.0, 10.0)]
    assert spike_adjusted([10.0] * 10 + [80.0, 46.0]).adjustments == ()


def test_a_december_peak_that_repeats_every_year_is_a_season():
    y = np.full(36, 10.0)
    y[11::12] = 30.0  # every December, the first one included
    assert spike_adjusted(y, 12).adjustments == ()
    # without the season length the same Decembers are one-offs: the seasonal check is what keeps them
    assert changes(spike_adjusted(y, 1)) == [(11, 30.0, 10.0), (23, 30.0, 10.0)]  # not 35: the last point
    # a one-off on top of the second December's peak goes back to the seasonal level: local level 10 times
    # the same period's ratio a season ago (30 / 10) and a season later (30 / 10) = 30, not to 10
    y[23] = 90.0
    res = spike_adjusted(y, 12)
    assert changes(res) == [(23, 90.0, 30.0)]
    assert res.adjustments[0].reason.startswith("one-off spike: 3.0x the seasonal level")


def test_constant_short_and_intermittent_series_are_left_alone():
    assert spike_adjusted([5.0] * 20, 12).adjustments == ()
    assert spike_adjusted([0.0] * 20, 12).adjustments == ()
    short = [10.0] * 3 + [80.0] + [10.0] * (MIN_POINTS - 5)
    assert len(short) == MIN_POINTS - 1 and spike_adjusted(short).adjustments == ()
    assert changes(spike_adjusted([10.0] * 3 + [80.0] + [10.0] * (MIN_POINTS - 4))) == [(3, 80.0, 10.0)]
    sparse = [0, 0, 5, 0, 0, 0, 4, 0, 0, 6, 0, 0, 0, 5, 0, 0, 4, 0, 0, 0, 60, 0, 0, 5, 0, 0, 0, 4]
    assert spike_adjusted(sparse, 12).adjustments == ()  # a local level of 0 says nothing about a spike


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=0, max_size=60), st.sampled_from([1, 4, 7, 12]))
def test_only_listed_points_change_and_only_downwards(values, season_length):
    y = np.array(values)
    res = spike_adjusted(y, season_length)
    assert res.y.shape == y.shape and np.array_equal(y, np.array(values))  # pure
    changed = [a.index for a in res.adjustments]
    assert np.array_equal(np.flatnonzero(res.y != y), changed)
    assert all(0 < i < len(y) - 1 for i in changed)  # never the first or the last point
    assert all(0 < a.adjusted < a.actual == y[a.index] and res.y[a.index] == a.adjusted for a in res.adjustments)


def test_season_length_is_checked():
    with pytest.raises(ParameterError, match="season_length 0: must be a whole number of periods >= 1"):
        spike_adjusted([1.0] * 10, 0)


def _frame(y, uid="api"):
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2024-01-01", periods=len(y), freq="MS"), "y": y})


def test_forecast_series_adjusts_by_default_and_lists_it():
    line = 100 + 2.0 * np.arange(30)
    spiked = line.copy()
    spiked[10] = 400.0
    df = pd.concat([_frame(spiked, "api"), _frame(line, "clean")], ignore_index=True)
    res = forecast_series(df, 6, "MS", (80, 95), scheduler="serial")
    assert res.adjustments.to_dict("records") == [
        {"unique_id": "api", "ds": pd.Timestamp("2024-11-01"), "actual": 400.0, "adjusted": 120.0,
         "reason": "one-off spike: 3.3x the local level, back down 1 period later"}]
    assert res.selection.set_index("unique_id")["adjusted_periods"].to_dict() == {"api": 1, "clean": 0}
    # the models saw the straight line: the spiked series is forecast exactly as the clean one
    fc = res.forecast.set_index("unique_id")
    np.testing.assert_array_equal(fc.loc["api", "forecast"], fc.loc["clean", "forecast"])
    np.testing.assert_array_equal(fc.loc["api", "forecast-hi-95"], fc.loc["clean", "forecast-hi-95"])
    doc = res.to_dict()
    assert doc["adjustments"][0]["ds"] == "2024-11-01" and doc["adjustments"][0]["adjusted"] == 120.0
    assert "api 2024-11-01: 400.00 -&gt; 120.00" in res._repr_html_()
    assert res.to_frame().groupby("unique_id")["adjusted_periods"].first().to_dict() == {"api": 1, "clean": 0}


def test_turned_off_it_is_the_forecast_of_the_raw_history():
    line = 100 + 2.0 * np.arange(30)
    spiked = line.copy()
    spiked[10] = 400.0
    res = forecast_series(_frame(spiked), 6, "MS", (80,), scheduler="serial", adjust_spikes=False)
    assert res.adjustments.empty and list(res.adjustments.columns) == ["unique_id", "ds", "actual", "adjusted",
                                                                      "reason"]
    assert res.selection["adjusted_periods"].tolist() == [0] and res.to_dict()["adjustments"] == []
    fc, rec = select.forecast_one(spiked, 6, (80,), 12, AUTO_MODELS, 3, 6,
                                  pd.Timestamp("2024-01-01"), "MS")
    np.testing.assert_array_equal(res.forecast["forecast"], fc.mean)
    np.testing.assert_array_equal(res.forecast["forecast-hi-80"], fc.hi[80])
    assert res.selection.loc[0, "model"] == rec["model"] and res.selection.loc[0, "mase"] == rec["mase"]
    on = forecast_series(_frame(spiked), 6, "MS", (80,), scheduler="serial")
    assert on.adjustments["actual"].tolist() == [400.0] and on.selection["adjusted_periods"].tolist() == [1]
    cleaned = spiked.copy()
    cleaned[10] = on.adjustments["adjusted"].iloc[0]  # the forecast with adjustment is that of the cleaned history
    fc_on, _ = select.forecast_one(cleaned, 6, (80,), 12, AUTO_MODELS, 3, 6,
                                   pd.Timestamp("2024-01-01"), "MS")
    np.testing.assert_array_equal(on.forecast["forecast-hi-80"], fc_on.hi[80])
    assert not np.array_equal(on.forecast["forecast-hi-80"], res.forecast["forecast-hi-80"])


def test_where_nothing_is_flagged_both_settings_give_the_same_result():
    rng = np.random.default_rng(3)
    t = np.arange(48)
    y = 100 * (1 + 0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) * rng.lognormal(0, 0.03, 48)
    on = forecast_series(_frame(y), 6, "MS", (80,), scheduler="serial")
    off = forecast_series(_frame(y), 6, "MS", (80,), scheduler="serial", adjust_spikes=False)
    assert on.adjustments.empty
    pd.testing.assert_frame_equal(on.forecast, off.forecast)
    pd.testing.assert_frame_equal(on.selection, off.selection)


def test_adjust_spikes_must_be_a_bool():
    with pytest.raises(ParameterError, match="adjust_spikes 'yes': must be True or False"):
        forecast_series(_frame(np.arange(1.0, 13)), 3, adjust_spikes="yes")
