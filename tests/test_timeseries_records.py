"""Forecast records: runs saved atomically, last month's forecast against the actual, accuracy over time."""

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from forecast.core.errors import ForecastError
from forecast.timeseries import records
from forecast.usage.warehouse import Warehouse


def _history(last_month: str, value: float = 100.0) -> pd.DataFrame:
    ds = pd.date_range(end=last_month, periods=6, freq="MS")
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds, "y": value}) for uid in ("a", "b")])


def _forecast(first_month: str, points: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for uid, values in points.items():
        for k, (ds, v) in enumerate(zip(pd.date_range(first_month, periods=len(values), freq="MS"), values,
                                        strict=True)):
            rows.append({"unique_id": uid, "ds": ds, "forecast": v, "forecast-lo-80": v - 10 - k,
                         "forecast-hi-80": v + 10 + k, "model": "ets" if uid == "a" else "theta"})
    return pd.DataFrame(rows)


ACTUAL = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": pd.to_datetime(["2026-09-01", "2026-10-01"] * 2),
                       "y": [105.0, 130.0, 50.0, 80.0]})


@pytest.fixture
def wh(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as w:
        yield w


def _two_runs(wh):
    aug = records.save_run(wh, _forecast("2026-09-01", {"a": [100, 110, 120], "b": [60, 60, 60]}),
                           _history("2026-08-01"), "MS", {"models": "auto"},
                           created_at=datetime(2026, 8, 31, tzinfo=UTC))
    sep = records.save_run(wh, _forecast("2026-10-01", {"a": [120, 125], "b": [70, 75]}),
                           _history("2026-09-01"), "MS", created_at=datetime(2026, 9, 30, tzinfo=UTC))
    return aug, sep


def test_last_months_forecast_against_the_actual(wh):
    aug, sep = _two_runs(wh)
    got = records.forecast_vs_actual(wh, ACTUAL, "2026-10-01").set_index("unique_id")
    # October was forecast by both runs; the latest made before October is the September run (horizon 1)
    assert got["run_id"].tolist() == [sep, sep]
    assert got["horizon"].tolist() == [1, 1]
    assert got["forecast"].tolist() == [120, 70]
    assert got["error"].tolist() == [10.0, 10.0]  # 130 - 120, 80 - 70
    assert got["pct_error"].tolist() == pytest.approx([10 / 130, 10 / 80])
    assert got["lo_80"].tolist() == [110, 60] and got["inside_80"].tolist() == [True, True]
    old = records.forecast_vs_actual(wh, ACTUAL, "2026-10-01", run_id=aug).set_index("unique_id")
    # the August run's October value is its horizon 2, band +-11: a 110 in [99, 121], b 60 in [49, 71]: 80 outside
    assert old["horizon"].tolist() == [2, 2] and old["inside_80"].tolist() == [False, False]
    assert old["model"].tolist() == ["ets", "theta"]


def test_accuracy_per_run_and_horizon_by_hand(wh):
    aug, sep = _two_runs(wh)
    acc = records.accuracy_over_time(wh, ACTUAL).set_index(["run_id", "horizon"])
    # Aug run, horizon 1 (September): errors a 105-100 = 5, b 50-60 = -10 -> MAE 7.5, RMSE sqrt(62.5),
    # bias (forecast - actual) = (-5 + 10)/2 = 2.5, coverage: a inside [90, 110], b 50 outside [50, 70]? 50 is
    # the bound itself -> inside. Horizon 2 (October): a 130 vs 110 +- 11, b 80 vs 60 +- 11: both outside.
    h1 = acc.loc[(aug, 1)]
    assert (h1["n"], h1["mae"], h1["bias"], h1["coverage_80"]) == (2, 7.5, 2.5, 1.0)
    assert h1["rmse"] == pytest.approx(62.5**0.5)
    assert h1["mape"] == pytest.approx((5 / 105 + 10 / 50) / 2)
    assert acc.loc[(aug, 2), "coverage_80"] == 0.0 and acc.loc[(aug, 2), "mae"] == 20.0
    assert acc.loc[(sep, 1), "mae"] == 10.0  # 130 - 120, 80 - 70
    assert (aug, 3) not in acc.index  # November has no actual yet
    per_model = records.accuracy_over_time(wh, ACTUAL, by=("model",)).set_index("model")
    assert per_model.loc["ets", "n"] == 3 and per_model.loc["ets", "mae"] == pytest.approx((5 + 20 + 10) / 3)


def test_run_records_hash_parameters_and_selection(wh):
    sel = pd.DataFrame({"unique_id": ["a", "b"], "model": ["ets", "theta"], "mase": [0.8, 1.1]})
    fc = _forecast("2026-09-01", {"a": [1.0], "b": [2.0]}).drop(columns="model")
    run = records.save_run(wh, fc, _history("2026-08-01"), "MS", {"h": 1}, selection=sel)
    r = records.runs(wh).iloc[0]
    assert r["run_id"] == run and r["n_series"] == 2 and r["h"] == 1 and json.loads(r["levels"]) == [80.0]
    assert str(r["history_end"])[:10] == "2026-08-01"
    shuffled = _history("2026-08-01").sample(frac=1, random_state=0)
    assert r["data_sha256"] == records.data_sha256(shuffled)  # row order does not matter
    assert r["data_sha256"] != records.data_sha256(_history("2026-08-01", value=100.5))
    models = wh.sql(f"SELECT unique_id, model FROM forecast_values WHERE run_id = '{run}' ORDER BY 1").fetchall()
    assert models == [("a", "ets"), ("b", "theta")]
    scores = wh.sql("SELECT scores FROM forecast_selection ORDER BY unique_id").fetchall()
    assert json.loads(scores[0][0]) == {"mase": 0.8}


def test_a_failed_write_leaves_nothing(wh, monkeypatch):
    original = records._insert

    def failing(con, table, frame):
        if table == "forecast_intervals":
            raise RuntimeError("disk full")
        original(con, table, frame)

    monkeypatch.setattr(records, "_insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        records.save_run(wh, _forecast("2026-09-01", {"a": [1.0]}), _history("2026-08-01"), "MS")
    for table in ("forecast_runs", "forecast_values", "forecast_intervals"):
        assert wh.sql(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]
    monkeypatch.setattr(records, "_insert", original)
    records.save_run(wh, _forecast("2026-09-01", {"a": [1.0]}), _history("2026-08-01"), "MS")
    assert wh.sql("SELECT count(*) FROM forecast_values").fetchall() == [(1,)]


def test_bad_input_is_named(wh):
    fc = _forecast("2026-09-01", {"a": [1.0]})
    with pytest.raises(ForecastError, match="no model column"):
        records.save_run(wh, fc.drop(columns="model"), _history("2026-08-01"), "MS")
    with pytest.raises(ForecastError, match="duplicate"):
        records.save_run(wh, pd.concat([fc, fc]), _history("2026-08-01"), "MS")
    with pytest.raises(ForecastError, match="has no matching 'forecast-hi-80'"):
        records.save_run(wh, fc.drop(columns="forecast-hi-80"), _history("2026-08-01"), "MS")
    with pytest.raises(ForecastError, match="no saved forecast of 2026-12-01"):
        records.forecast_vs_actual(wh, ACTUAL, "2026-12-01")
