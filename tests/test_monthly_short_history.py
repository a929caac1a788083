"""The monthly report on a short history: 3 months (too few one-step errors for MinT) reconcile bottom-up and say
so in the notes; fewer months than a forecast needs is a one-line error that says how many are needed."""

import html
import re

import pytest

from forecast.cli.main import main
from forecast.core.errors import ForecastError
from forecast.reporting.monthly import monthly_report


def _company(tmp_path, months: int):
    import pyarrow.parquet as pq

    from forecast.usage.sample import generate_requests

    table, _ = generate_requests(3_000, months, seed=5, corrupt_share=0.0)  # ending October 2026
    pq.write_table(table, tmp_path / "requests.parquet")
    warehouse = tmp_path / "w.duckdb"
    assert main(["ingest", str(tmp_path / "requests.parquet"), "--warehouse", str(warehouse), "--prices", "none"]) == 0
    return warehouse


def test_three_months_reconcile_bottom_up_and_the_notes_say_so(tmp_path):
    report = monthly_report(_company(tmp_path, 3), budgets="none", horizon=12)
    fc = report.forecast
    assert set(fc["method"]) == {"bottom_up"} and len(fc[fc["unique_id"] == "total"]) == 12
    (note,) = [n for n in report.notes if n.startswith("forecast reconciliation")]
    assert "bottom-up" in note and "instead of MinT" in note and "3 month(s) through 2026-10" in note
    # coherent: the total is the sum of the teams, which is the sum of the workflows, every month
    by_level = fc.groupby(["level", "ds"])["forecast"].sum().unstack("level")
    assert by_level["total"].to_numpy() == pytest.approx(by_level["team_id"].to_numpy(), rel=1e-9)
    assert by_level["total"].to_numpy() == pytest.approx(by_level["team_id/workflow_name"].to_numpy(), rel=1e-9)
    # intervals: finite, around the forecast, and the total's as wide as its workflows' added up (correlation 1)
    bands = fc[[c for c in fc if c.startswith("forecast-")]].to_numpy(float)
    assert (bands == bands).all() and (fc["forecast-hi-80"] >= fc["forecast"] - 1e-9).all()
    bottom = fc[fc["level"] == "team_id/workflow_name"]
    width = (bottom["forecast-hi-80"] - bottom["forecast"]).groupby(bottom["ds"]).sum()
    total = fc[fc["unique_id"] == "total"].set_index("ds")
    assert (total["forecast-hi-80"] - total["forecast"]).to_numpy() == pytest.approx(width.to_numpy(), rel=1e-6)


def test_three_months_cli_report_is_written_with_the_note(tmp_path):
    warehouse = _company(tmp_path, 3)
    argv = ["report", "monthly", "--warehouse", str(warehouse), "--budgets", "none", "--reports-dir",
            str(tmp_path / "reports")]
    assert main(argv) == 0
    (page,) = (tmp_path / "reports" / "monthly").glob("*/*.html")
    text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text()))
    assert "forecast reconciliation: bottom-up" in text and "KeyError" not in text


def test_two_months_is_a_one_line_error_saying_how_many_are_needed(tmp_path):
    warehouse = _company(tmp_path, 2)
    with pytest.raises(ForecastError) as err:
        monthly_report(warehouse, budgets="none", horizon=12)
    assert err.value.problems == ["month 2026-10: the warehouse has 2 month(s) of spend through it: the report "
                                  "needs at least 3 months of a team/workflow's spend to forecast 12 months on"]
