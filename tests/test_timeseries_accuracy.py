"""Slow: auto mode beats seasonal naive on real monthly series bundled with statsmodels (no network)."""

import numpy as np
import pandas as pd
import pytest

from forecast.timeseries import metrics
from forecast.timeseries.auto import forecast_series

H = 12


def _bundled() -> pd.DataFrame:
    from statsmodels.datasets import co2, elec_equip, elnino

    c = co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    e = elec_equip.load().data.iloc[:, 0]
    n = elnino.load_pandas().data.set_index("YEAR")
    series = {"co2": (c.to_numpy(), c.index[0]), "elec_equip": (e.to_numpy(), e.index[0]),
              "elnino": (n.to_numpy().ravel(), pd.Timestamp(f"{int(n.index[0])}-01-01"))}
    frames = []
    for k, (v, start) in series.items():
        ds = pd.date_range(start.to_period("M").to_timestamp(), periods=len(v), freq="MS")
        frames.append(pd.DataFrame({"unique_id": k, "ds": ds, "y": v}))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.slow
def test_auto_beats_seasonal_naive_on_bundled_monthly_series():
    df = _bundled()
    scores = {"auto": [], "seasonal_naive": []}
    for back in (12, 24, 36):  # three origins per series
        groups = [g for _, g in df.groupby("unique_id")]
        train = pd.concat([g.iloc[: len(g) - back] for g in groups], ignore_index=True)
        test = pd.concat([g.iloc[len(g) - back: len(g) - back + H] for g in groups], ignore_index=True)
        for name, models in (("auto", "auto"), ("seasonal_naive", "seasonal_naive")):
            fc = forecast_series(train, H, "MS", (80,), models=models, scheduler="serial").forecast
            merged = test.merge(fc, on=["unique_id", "ds"])
            for uid, g in merged.groupby("unique_id"):
                ins = train.loc[train.unique_id == uid, "y"]
                scores[name].append(metrics.mase(g.y, g.forecast, ins, 12))
    auto, snaive = np.mean(scores["auto"]), np.mean(scores["seasonal_naive"])
    assert auto < 0.9 * snaive, (auto, snaive)  # measured here: auto 0.48, seasonal naive 0.77
