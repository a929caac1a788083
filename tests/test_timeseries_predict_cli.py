"""`forecast predict`: files in and out, the summary, and one-line errors with exit status 2."""

import io

import numpy as np
import pandas as pd
import pytest

from forecast.cli.main import main


def _write(tmp_path, df, name="series.csv"):
    path = tmp_path / name
    if name.endswith(".parquet"):
        df.to_parquet(path)
    else:
        df.to_csv(path, index=False)
    return str(path)


def _series():
    t = np.arange(30)
    return pd.concat([pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2023-01-01", periods=30, freq="MS"),
                                    "y": base + 2.0 * t}) for uid, base in (("team-a", 10.0), ("team-b", 50.0))])


def test_predict_writes_forecasts_with_model_and_backtest_scores(tmp_path, capsys):
    src, out = _write(tmp_path, _series(), "s.parquet"), tmp_path / "fc.csv"
    assert main(["predict", src, "--horizon", "4", "--models", "naive,drift", "--level", "90",
                 "--out", str(out), "--scheduler", "serial"]) == 0
    text = capsys.readouterr().out
    assert "2 series, horizon 4 (MS), 8 rows written to" in text and "team-b" in text
    fc = pd.read_csv(out)
    assert fc.columns[:6].tolist() == ["unique_id", "ds", "forecast", "forecast-lo-90", "forecast-hi-90", "model"]
    assert {"backtest_mase", "backtest_smape", "backtest_coverage-90"} <= set(fc.columns)
    # a straight line: drift wins with zero error; the first forecast is the last value + slope 2
    a = fc[fc.unique_id == "team-a"]
    assert a["model"].unique().tolist() == ["drift"] and a["backtest_mase"].iloc[0] == 0.0
    assert a["forecast"].tolist() == [10 + 2.0 * 29 + 2 * k for k in range(1, 5)]
    assert a["ds"].tolist() == ["2025-07-01", "2025-08-01", "2025-09-01", "2025-10-01"]
    assert main(["predict", src, "--horizon", "4", "--out", str(out)]) == 2
    assert "exists: forecasts are never overwritten" in capsys.readouterr().err


def test_predict_without_out_prints_csv(tmp_path, capsys):
    src = _write(tmp_path, _series())
    assert main(["predict", src, "--horizon", "2", "--models", "naive", "--scheduler", "serial"]) == 0
    fc = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert len(fc) == 4 and fc["forecast"].tolist() == [68.0, 68.0, 108.0, 108.0]


def test_predict_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    df = pd.concat([_series(), _series().head(1)])
    src = _write(tmp_path, df)
    assert main(["predict", src, "--horizon", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {src}: series 'team-a': ds 2023-01-01: duplicate (unique_id, ds) rows: aggregate them "
                   "to one row per period first"]
    assert main(["predict", str(tmp_path / "none.csv"), "--horizon", "3"]) == 2
    assert "none.csv: no such file" in capsys.readouterr().err
    assert main(["predict", src, "--horizon", "3", "--models", "lstm"]) == 2
    assert "lstm: unknown model" in capsys.readouterr().err


def test_an_unreadable_pq_file_is_named_as_parquet(tmp_path):
    from forecast.cli.predict import read_series
    from forecast.core.errors import ForecastError

    bad = tmp_path / "series.PQ"
    bad.write_text("unique_id,ds,y\n")  # CSV text under a Parquet name
    with pytest.raises(ForecastError, match=r"series\.PQ: cannot be read as Parquet"):
        read_series(str(bad))


def _spiked():
    # team-a: the line 10 + 2t with a one-off 500 at month 10 (2023-11-01); neighbours 24 26 28 | 32 34 36 -> 30
    df = _series()
    df.loc[(df.unique_id == "team-a") & (df.ds == "2023-11-01"), "y"] = 500.0
    return df


def test_predict_adjusts_one_off_spikes_and_lists_them(tmp_path, capsys):
    src, out = _write(tmp_path, _spiked()), tmp_path / "fc.csv"
    assert main(["predict", src, "--horizon", "4", "--models", "naive,drift", "--out", str(out),
                 "--scheduler", "serial"]) == 0
    text = capsys.readouterr().out
    assert "1 one-off spike(s) adjusted before fitting (--no-adjust keeps them):" in text
    assert ("  team-a 2023-11-01: 500.00 -> 30.00 (one-off spike: 16.7x the local level, back down 1 period later)"
            in text)
    fc = pd.read_csv(out)
    assert fc.groupby("unique_id")["adjusted_periods"].first().to_dict() == {"team-a": 1, "team-b": 0}
    # the models saw the straight line again: drift with zero backtest error, as without the spike
    a = fc[fc.unique_id == "team-a"]
    assert a["model"].unique().tolist() == ["drift"] and a["forecast"].tolist() == [68.0 + 2 * k for k in range(1, 5)]


def test_predict_to_stdout_says_on_stderr_what_it_adjusted(tmp_path, capsys):
    src = _write(tmp_path, _spiked())
    assert main(["predict", src, "--horizon", "4", "--models", "naive,drift", "--scheduler", "serial"]) == 0
    got = capsys.readouterr()
    assert len(pd.read_csv(io.StringIO(got.out))) == 8  # stdout stays the CSV
    assert got.err == ("note: 1 one-off spike(s) adjusted before fitting (--no-adjust keeps them): team-a "
                       "2023-11-01: 500.00 -> 30.00 (one-off spike: 16.7x the local level, back down 1 period later)\n")


def test_predict_no_adjust_forecasts_the_raw_history(tmp_path, capsys):
    df = _series()  # team-a's line 10 + 2t with a one-off 500 at month 20, inside the backtest's windows
    df.loc[(df.unique_id == "team-a") & (df.ds == "2024-09-01"), "y"] = 500.0
    src, out, adjusted = _write(tmp_path, df), tmp_path / "raw.csv", tmp_path / "adjusted.csv"
    assert main(["predict", src, "--horizon", "4", "--models", "naive,drift", "--out", str(out),
                 "--scheduler", "serial", "--no-adjust"]) == 0
    text = capsys.readouterr().out
    assert "adjusted before fitting" not in text and "500.00" not in text
    assert main(["predict", src, "--horizon", "4", "--models", "naive,drift", "--out", str(adjusted),
                 "--scheduler", "serial"]) == 0
    raw, adj = pd.read_csv(out), pd.read_csv(adjusted)
    assert raw["adjusted_periods"].tolist() == [0] * 8
    # drift's point forecast uses the end points only; its band is calibrated on the backtest, whose window
    # with the spike missed by ~450
    width = {name: (f["forecast-hi-80"] - f["forecast-lo-80"])[f.unique_id == "team-a"].iloc[0]
             for name, f in (("raw", raw), ("adjusted", adj))}
    assert width["adjusted"] == 0.0 and width["raw"] > 200  # a straight line has no spread; the $500 month has
    pd.testing.assert_frame_equal(raw[raw.unique_id == "team-b"].drop(columns="adjusted_periods"),
                                  adj[adj.unique_id == "team-b"].drop(columns="adjusted_periods"))
