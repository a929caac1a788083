"""Prophet on daily usage: weekly seasonality follows the real weekdays; holidays when asked."""

import numpy as np
import pandas as pd
import pytest

from forecast.timeseries.models import forecaster, model_names


def _weekday_series(days: int = 120) -> pd.DataFrame:
    ds = pd.date_range("2025-03-03", periods=days, freq="D")  # a Monday
    rng = np.random.default_rng(2)
    y = np.where(ds.day_of_week >= 5, 20.0, 100.0) + rng.normal(0, 2, days)  # weekends at a fifth of weekdays
    return pd.DataFrame({"unique_id": "api", "ds": ds, "y": y})


def test_prophet_learns_the_weekend_dip_on_real_weekdays():
    out = forecaster("prophet").fit(_weekday_series(), "D").predict(14, level=(80,))
    weekend = out["ds"].dt.day_of_week >= 5
    assert out.loc[weekend, "prophet"].max() < 40 and out.loc[~weekend, "prophet"].min() > 80
    assert (out["prophet-hi-80"] - out["prophet-lo-80"]).between(1, 30).all()


def test_prophet_with_country_holidays_is_a_model_name():
    assert model_names("ets,prophet:US", "D") == ("ets", "prophet:US")


@pytest.mark.slow
def test_prophet_us_holidays_lower_thanksgiving():
    ds = pd.date_range("2023-01-02", "2025-11-20", freq="D")
    y = np.where(ds.day_of_week >= 5, 20.0, 100.0)
    hol = pd.to_datetime(["2023-11-23", "2024-11-28", "2023-12-25", "2024-12-25", "2024-07-04", "2023-07-04",
                          "2025-07-04", "2024-01-01", "2025-01-01", "2023-09-04", "2024-09-02", "2025-09-01"])
    y = np.where(ds.isin(hol), 10.0, y)
    df = pd.DataFrame({"unique_id": "api", "ds": ds, "y": y})
    out = forecaster("prophet:US").fit(df, "D").predict(10, level=(80,)).set_index("ds")
    # Thursday 2025-11-27 is Thanksgiving: well below the other weekdays around it
    assert out.loc["2025-11-27", "prophet:US"] < 0.6 * out.loc["2025-11-25", "prophet:US"]
