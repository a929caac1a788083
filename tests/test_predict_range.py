"""y beyond the forecastable range (validate.MAX_Y = 1e15) is refused with one line naming file, series, period,
value and rule (exit 2); a forecast or band that comes out non-finite anyway is an error, never a written inf."""

import numpy as np
import pandas as pd
import pytest

from forecast.cli.main import main
from forecast.core.errors import ForecastError
from forecast.timeseries.auto import forecast_series

MAX_Y = 1e15  # validate.MAX_Y


def _frame(values) -> pd.DataFrame:
    return pd.DataFrame({"unique_id": "api", "ds": pd.date_range("2026-01-01", periods=len(values), freq="MS"),
                         "y": values})


@pytest.mark.parametrize("big", [1e300, 1.0000001e15, 1e16])
def test_predict_refuses_y_beyond_the_range_with_one_line_and_exit_2(tmp_path, capsys, big):
    src = tmp_path / "big.csv"
    _frame([100.0, big, 120.0, 130.0]).to_csv(src, index=False)
    out = tmp_path / "fc.csv"
    assert main(["predict", str(src), "--horizon", "2", "--scheduler", "serial", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: {src}: series 'api', ds 2026-02-01: y {big}: above 1e+15, the largest value forecast "
        "(10 x world GDP in USD): check the units (cents instead of dollars?) or scale the series down"]
    assert not out.exists() and "inf" not in captured.out


def test_the_bound_itself_is_forecast_and_every_written_number_is_finite(tmp_path):
    src, out = tmp_path / "edge.csv", tmp_path / "fc.csv"
    _frame([MAX_Y * 0.9, MAX_Y * 0.95, MAX_Y, MAX_Y, MAX_Y * 0.97, MAX_Y]).to_csv(src, index=False)
    assert main(["predict", str(src), "--horizon", "3", "--scheduler", "serial", "--out", str(out)]) == 0
    written = pd.read_csv(out).select_dtypes("number")
    assert not np.isinf(written.to_numpy(float)).any()


def test_library_refuses_the_same_and_a_non_finite_forecast_is_an_error(monkeypatch):
    with pytest.raises(ForecastError, match=r"series 'api', ds 2026-02-01: y 1e\+300: above 1e\+15"):
        forecast_series(_frame([100.0, 1e300, 120.0, 130.0]), h=2, scheduler="serial", source="big.csv")
    # a model that overflows anyway: its inf band is refused, not handed on
    from forecast.timeseries import auto

    real = auto.fan_out

    def overflowing(*args, **kwargs):
        results = real(*args, **kwargs)
        for one in results:
            for hi in one.forecast.hi.values():
                hi[-1] = np.inf
        return results

    monkeypatch.setattr(auto, "fan_out", overflowing)
    with pytest.raises(ForecastError) as err:
        forecast_series(_frame([100.0, 110.0, 120.0, 130.0]), h=2, level=(80,), scheduler="serial", source="s.csv")
    (line,) = err.value.problems
    assert line.startswith("s.csv: series 'api', ds 2026-06-01: forecast-hi-80 inf (model ")
    assert "not a finite number" in line


def test_predict_exits_2_on_a_non_finite_forecast(tmp_path, capsys, monkeypatch):
    from forecast.timeseries import auto

    real = auto.fan_out

    def overflowing(*args, **kwargs):
        results = real(*args, **kwargs)
        for one in results:
            one.forecast.mean[:] = np.inf
        return results

    monkeypatch.setattr(auto, "fan_out", overflowing)
    src, out = tmp_path / "s.csv", tmp_path / "fc.csv"
    _frame([100.0, 110.0, 120.0, 130.0]).to_csv(src, index=False)
    assert main(["predict", str(src), "--horizon", "2", "--scheduler", "serial", "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "series 'api', ds 2026-05-01: forecast inf" in err[0] and not out.exists()
