"""The one contract every forecaster passes: long frame in, unique_id/ds/<alias>/bands out."""

import numpy as np
import pandas as pd
import pytest

from forecast.core.errors import ForecastError
from forecast.timeseries.base import Forecaster, future_dates, interval_columns
from forecast.timeseries.models import MODELS, forecaster


def _frame(freq: str, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    start = {"MS": "2022-01-01", "W": "2024-01-01", "D": "2025-01-01"}[freq]
    rows = []
    for uid, level in (("a", 100.0), ("b", 5.0)):
        ds = pd.date_range(start, periods=n, freq={"MS": "MS", "W": "7D", "D": "D"}[freq])
        t = np.arange(n)
        y = level * (1 + 0.01 * t + 0.1 * np.sin(2 * np.pi * t / 7)) + rng.normal(0, level * 0.02, n)
        rows.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("name", [*MODELS, "prophet"])
def test_every_forecaster_honours_the_contract(name):
    freq = "D" if name == "prophet" else "MS"
    df = _frame(freq)
    model = forecaster(name)
    assert isinstance(model, Forecaster)
    assert model.fit(df, freq) is model
    out = model.predict(5, level=(95, 80))
    assert list(out.columns) == ["unique_id", "ds", name, *interval_columns(name, (80, 95))]
    assert out.columns[3:].tolist() == [f"{name}-lo-80", f"{name}-hi-80", f"{name}-lo-95", f"{name}-hi-95"]
    assert len(out) == 10 and out["unique_id"].tolist() == ["a"] * 5 + ["b"] * 5
    for uid, g in out.groupby("unique_id"):
        last = df.loc[df.unique_id == uid, "ds"].max()
        assert g["ds"].tolist() == list(future_dates(last, 5, freq))
    values = out[[name, *interval_columns(name, (80, 95))]].to_numpy()
    assert np.isfinite(values).all()
    assert (out[f"{name}-lo-95"] <= out[f"{name}-lo-80"] + 1e-9).all()
    assert (out[f"{name}-lo-80"] <= out[name] + 1e-9).all() and (out[name] <= out[f"{name}-hi-80"] + 1e-9).all()
    assert (out[f"{name}-hi-80"] <= out[f"{name}-hi-95"] + 1e-9).all()


def test_predict_before_fit_and_unknown_names_are_errors():
    with pytest.raises(ForecastError, match="before fit"):
        forecaster("naive").predict(3)
    with pytest.raises(ForecastError, match="unknown model: use 'auto' or any of"):
        forecaster("lstm")


def test_fit_rejects_bad_frames_through_the_same_validator():
    df = _frame("MS")
    df.loc[3, "y"] = np.nan
    with pytest.raises(ForecastError, match=r"series 'a', ds 2022-04-01: y nan: not a finite number"):
        forecaster("naive").fit(df, "MS")
