"""Bad long frames: each gets a one-line error naming the series, field, value and rule, or a flag."""

import numpy as np
import pandas as pd
import pytest

from forecast.core.errors import ForecastError
from forecast.timeseries.auto import forecast_series
from forecast.timeseries.validate import validate_long_frame


def _frame(n=12, uid="a", start="2025-01-01", freq="MS"):
    return pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=n, freq=freq),
                         "y": np.arange(1.0, n + 1)})


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.assign(y=d.y.where(d.index != 4)), r"series 'a', ds 2025-05-01: y nan: not a finite number"),
    (lambda d: d.assign(y=d.y.where(d.index != 2, -3.0)), r"ds 2025-03-01: y -3.0: negative: spend and usage cannot"),
    (lambda d: d.assign(y=d.y.astype(object).where(d.index != 1, "ten")), r"ds 2025-02-01: y 'ten': not a finite"),
    (lambda d: pd.concat([d, d.iloc[[3]]]), r"series 'a': ds 2025-04-01: duplicate \(unique_id, ds\) rows"),
    (lambda d: d.drop(index=5), r"ds jumps from 2025-05-01 to 2025-07-01: a gap"),
    (lambda d: d.assign(ds=d.ds.where(d.index != 0, pd.Timestamp("2024-12-15"))),
     r"ds 2024-12-15 00:00:00: freq 'MS' needs the first day of a month"),
    (lambda d: d.assign(ds=d.ds.astype(str).where(d.index != 7, "July")), r"data row 8: ds 'July': not a date"),
    (lambda d: d.drop(columns="y"), r"missing column\(s\) y"),
    (lambda d: d.head(2), r"series 'a': 2 observation\(s\): at least 3"),
])
def test_bad_frames_are_errors(mutate, message):
    with pytest.raises(ForecastError, match=message):
        validate_long_frame(mutate(_frame()), "MS", source="series")


def test_daily_dates_with_monthly_freq_and_monthly_dates_with_daily_freq():
    with pytest.raises(ForecastError, match="needs the first day of a month"):
        validate_long_frame(_frame(freq="D"), "MS")
    with pytest.raises(ForecastError, match="not one 'D' period"):
        validate_long_frame(_frame(), "D")
    with pytest.raises(ForecastError, match="unsupported frequency: use one of MS, W, D"):
        validate_long_frame(_frame(), "Q")


def test_horizon_too_long_is_an_error_and_longer_than_history_is_flagged():
    with pytest.raises(ForecastError, match=r"series 'a': horizon 49 > 4 x its 12 observations"):
        validate_long_frame(_frame(), "MS", h=49)
    assert validate_long_frame(_frame(), "MS", h=13).flags["a"] == ("horizon_exceeds_history",)
    with pytest.raises(ForecastError, match=r"^h 0: must be a whole number"):
        forecast_series(_frame(), 0, "MS")


def test_unsorted_rows_are_sorted_and_flagged_not_refused():
    df = _frame().iloc[::-1]
    v = validate_long_frame(df, "MS")
    assert v.flags["a"] == ("unsorted_input",)
    assert v.frame["ds"].is_monotonic_increasing and v.frame["y"].tolist() == list(np.arange(1.0, 13))
    assert df["y"].iloc[0] == 12.0  # the caller's frame is not reordered in place


def test_every_problem_is_listed_up_to_ten():
    df = pd.concat([_frame(uid="a"), _frame(uid="b")], ignore_index=True)
    df.loc[[0, 15], "y"] = -1.0
    with pytest.raises(ForecastError) as info:
        validate_long_frame(df, "MS")
    assert len(info.value.problems) == 2 and "'b', ds 2025-04-01" in info.value.problems[1]
