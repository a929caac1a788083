"""Budgets that mean what they say (issue 14): the projected-breach alert at the budget file's probability, the
action shown only where an alert fired, an envelope matching nothing is a warning, a month outside the data is
an error, shares with one decimal, and a month-end projection that a runaway day already spent does not multiply.

Every expected figure is worked out by hand from the daily spend written into the log below.
October 2026: the 1st is a Thursday, the 13th a Tuesday, the 14th (as_of) a Wednesday, the 31st a Saturday.
"""

import json
import math
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from forecast.budgets.burn import envelope_burn, share_pct
from forecast.budgets.envelopes import parse_budgets_data
from forecast.budgets.projection import forecast_projection, run_rate_projection, spike_days
from forecast.budgets.status import budget_status, check_month_in_data
from forecast.cli.main import main
from forecast.core.errors import ParameterError
from forecast.core.validation import parse_yaml
from forecast.usage.warehouse import Warehouse
from tests.budgets_data import days, row, write_log

MONTH, AS_OF, LAST = date(2026, 10, 1), date(2026, 10, 14), date(2026, 10, 31)
REMAINING = 17  # Oct 15..31: Thu, Fri, Sat 3 each; Sun, Mon, Tue, Wed 2 each
RUNAWAY_DAY = date(2026, 10, 13)
TUESDAYS = {date(2026, 9, 22): 9.0, date(2026, 9, 29): 11.0, date(2026, 10, 6): 13.0, RUNAWAY_DAY: 500.0}


def _research_usd(d: date) -> float:
    """$10 a weekday, $2 a weekend day; the last four Tuesdays $9, $11, $13 and a $500 runaway loop."""
    return TUESDAYS.get(d, 10.0 if d.weekday() < 5 else 2.0)


def _log_rows() -> list[str]:
    rows, n = [], 0
    for d in days(date(2026, 9, 1), AS_OF):
        week = (d - date(2026, 9, 16)).days // 7
        for team, usd in (("C", 5.0 + (1 if week % 2 == 0 else -1)),  # $5 +/- $1, the sign flipping weekly
                          ("A", 10.0), ("research", _research_usd(d))):
            n += 1
            rows.append(row(n, d, usd, team=team))
    rows.append(row(n + 1, MONTH, 79.75, team="P"))  # one $79.75 day: 79.75% of a $100 cap
    return rows


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("semantics")
    with Warehouse(tmp / "w.duckdb") as w:
        w.load(write_log(tmp / "log.csv", _log_rows()))
    with Warehouse(tmp / "w.duckdb", read_only=True) as w:
        yield w


def _doc(*envelopes: dict, **top):
    base = {"owner": "o", "match": {"team_id": "A"}, "monthly_cap_usd": 1000}
    data = {**top, "budgets": [{**base, **e} for e in envelopes]}
    return parse_budgets_data(parse_yaml(json.dumps(data), "t.yaml"), "t.yaml")


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


# --- the projected-breach alert -------------------------------------------------------------------------------


def test_projected_breach_alert_by_hand(wh):
    sd = math.sqrt(37)
    p = _normal_sf(3 / sd)  # as above: 31.1%
    doc = _doc({"name": "c", "match": {"team_id": "C"}, "monthly_cap_usd": 158, "thresholds": [1.0],
                "action": "hard_stop"}, alert_breach_probability=0.3)
    status = budget_status(wh, doc, MONTH, AS_OF, method="run-rate")
    [burn] = status.burns
    assert burn.projected_usd == pytest.approx(70 + 85) and burn.projection.total_sd_usd == pytest.approx(sd)
    [alert] = burn.alerts  # P50 $155 < $158: no threshold alert, but P(breach) 31.1% >= 30%
    assert (alert.kind, alert.probability, alert.probability_level, alert.pages) == (
        "projected_breach", pytest.approx(p), 0.3, True)
    # the date: spend to date + the rest at its 70th percentile, the sd through day j being j/17 of the rest's:
    # 70 + j (5 + 0.5244005 x sqrt(37) / 17) = 70 + 5.18764 j reaches 158 at j = 16.96, the 17th day: Oct 31
    assert alert.day == LAST
    assert alert.line() == "c: projected breach of $158.00: P(breach) 31.1% >= 30.0%, ~2026-10-31 -> hard_stop"
    assert status.pages and alert in status.alerts
    doc = status.to_dict()["envelopes"][0]
    assert doc["alert_breach_probability"] == 0.3 and doc["action_fired"] == "hard_stop"
    assert doc["alerts"][0]["kind"] == "projected_breach" and doc["alerts"][0]["probability"] == pytest.approx(p)
    # the envelope's own level overrides the file's: 35% is not reached, nothing fires
    doc = _doc({"name": "c", "match": {"team_id": "C"}, "monthly_cap_usd": 158, "thresholds": [1.0],
                "action": "hard_stop", "alert_breach_probability": 0.35}, alert_breach_probability=0.3)
    [burn] = budget_status(wh, doc, MONTH, AS_OF, method="run-rate").burns
    assert burn.alerts == () and burn.breach_probability == pytest.approx(p)


def test_no_projected_breach_once_the_cap_is_breached(wh):
    # team A: $140 spent of a $100 cap; P(breach) is 1 and the actual alert already says so
    [burn] = budget_status(wh, _doc({"name": "a", "monthly_cap_usd": 100}), MONTH, AS_OF, method="run-rate").burns
    assert burn.breach_probability == 1.0 and [a.kind for a in burn.alerts] == ["actual"]


def test_projected_breach_pages_in_the_cli_and_shows_in_table_and_json(wh, tmp_path, capsys):
    f = tmp_path / "b.yaml"
    f.write_text("alert_breach_probability: 0.3\nbudgets:\n"
                 "  - {name: c, owner: o, match: {team_id: C}, monthly_cap_usd: 158, thresholds: [1.0], "
                 "action: hard_stop}\n")
    args = ["budgets", "--month", "2026-10", "--as-of", "2026-10-14", "--budgets", str(f), "--warehouse",
            str(wh.path), "--method", "run-rate"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "  PAGE c: projected breach of $158.00: P(breach) 31.1% >= 30.0%, ~2026-10-31 -> hard_stop" in out
    assert main([*args, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["pages"] is True and doc["envelopes"][0]["alerts"][0]["probability_level"] == 0.3


# --- the action only where an alert fired ----------------------------------------------------------------------


def test_action_column_is_blank_for_an_envelope_without_alerts(wh, tmp_path, capsys):
    # team A: $140 spent, projected $310: quiet under a $1,000 cap, both alerts under $300
    f = tmp_path / "b.yaml"
    f.write_text("budgets:\n"
                 "  - {name: quiet, owner: o, match: {team_id: A}, monthly_cap_usd: 1000, action: hard_stop}\n"
                 "  - {name: loud, owner: o, match: {team_id: A}, monthly_cap_usd: 300, action: downgrade_model}\n")
    status = budget_status(wh, f, MONTH, AS_OF, method="run-rate")
    assert [r["action"] for r in status.rows()] == ["", "downgrade_model"]
    assert status.to_frame()["action"].tolist() == ["", "downgrade_model"]
    assert [a.action for a in status.alerts] == ["downgrade_model", "downgrade_model"]  # alerts keep theirs
    assert main(["budgets", "--month", "2026-10", "--budgets", str(f), "--warehouse", str(wh.path),
                 "--method", "run-rate"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert "hard_stop" not in lines["quiet"] and lines["quiet"].endswith("0.0%")  # P(breach), then blanks
    assert lines["loud"].endswith("~2026-10-30  downgrade_model")


def test_an_early_threshold_warns_and_names_the_action_a_breach_would_take(wh):
    # team A: $10 a day, $140 to Oct 14 and $310 projected for the month (140 + 17 x 10), with no spread
    early, breach = (budget_status(wh, _doc({"name": "a", "monthly_cap_usd": cap, "thresholds": [0.8, 1.0],
                                             "action": "require_approval"}), MONTH, AS_OF, method="run-rate").burns[0]
                     for cap in (350, 300))
    # $310 is 88.6% of $350: past 80%, short of the cap, so nothing to approve yet
    assert [a.line() for a in early.alerts] == [
        "a: projected month-end $310.00 >= 80.0% of $350.00 -> warn (require_approval at 100%)"]
    assert early.action_fired == "warn"
    # $310 is past the $300 cap: the breach takes the configured action
    lines = [a.line() for a in breach.alerts]
    assert "a: projected month-end $310.00 >= 100.0% of $300.00 -> require_approval" in lines
    assert breach.action_fired == "require_approval"
    # a file whose thresholds stop short of 100%: $140 spent of $100 is still a breach, and a hard stop pages
    status = budget_status(wh, _doc({"name": "a", "monthly_cap_usd": 100, "thresholds": [0.5, 0.8],
                                     "action": "hard_stop"}), MONTH, AS_OF, method="run-rate")
    [over] = status.burns[0].alerts
    assert over.line() == "a: spent $140.00 >= 80.0% of $100.00 -> hard_stop" and over.pages and status.pages
    [doc] = status.to_dict()["envelopes"][0]["alerts"]
    assert (doc["action"], doc["outcome"], doc["breach"]) == ("hard_stop", "hard_stop", True)
    early_doc = budget_status(wh, _doc({"name": "a", "monthly_cap_usd": 350, "thresholds": [0.8, 1.0],
                                        "action": "require_approval"}), MONTH, AS_OF, method="run-rate").to_dict()
    [doc] = early_doc["envelopes"][0]["alerts"]
    assert (doc["action"], doc["outcome"], doc["breach"]) == ("require_approval", "warn (require_approval at 100%)",
                                                              False)


# --- an envelope that matches nothing ---------------------------------------------------------------------------


def test_an_envelope_matching_no_request_is_a_warning_naming_the_nearest_values(wh, tmp_path, capsys):
    f = tmp_path / "b.yaml"
    f.write_text("budgets:\n"
                 "  - {name: typo, owner: o, match: {team_id: reserch}, monthly_cap_usd: 100}\n"
                 "  - {name: apart, owner: o, match: {team_id: A, environment: development}, monthly_cap_usd: 9}\n"
                 "  - {name: fine, owner: o, match: {team_id: research}, monthly_cap_usd: 1000}\n")
    status = budget_status(wh, f, MONTH, AS_OF, method="run-rate")
    since = AS_OF - timedelta(days=181)  # the 182 days the projection reads
    assert status.warnings == (
        f"typo: match team_id=reserch finds no requests in {since}..2026-10-14: no request has team_id=reserch "
        "(nearest: research)",
        f"apart: match team_id=A, environment=development finds no requests in {since}..2026-10-14: no request "
        "has environment=development (it holds production)")
    assert status.to_dict()["warnings"] == list(status.warnings)
    assert main(["budgets", "--month", "2026-10", "--budgets", str(f), "--warehouse", str(wh.path),
                 "--method", "run-rate"]) == 0
    captured = capsys.readouterr()
    assert captured.out.endswith(f"warning: {status.warnings[0]}\nwarning: {status.warnings[1]}\n")
    assert "warning" not in captured.err


# --- a month outside the data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["2026-08", "2026-12", "2026-11"])
def test_a_month_outside_the_data_is_an_error_naming_its_first_and_last_month(wh, tmp_path, capsys, month):
    # the data: 2026-09-01 .. 2026-10-14. November starts after the day after the newest (its eve, Oct 31)
    rule = ("outside the data: the warehouse holds 2026-09 to 2026-10 (requests from 2026-09-01 to 2026-10-14); "
            "give a month in that range or load that month's usage first")
    doc = _doc({"name": "a"})
    with pytest.raises(ParameterError) as err:
        budget_status(wh, doc, date.fromisoformat(month + "-01"))
    assert (err.value.parameter, str(err.value)) == ("month", f"month {month}: {rule}")
    f = tmp_path / "b.yaml"
    f.write_text("budgets:\n  - {name: a, owner: o, match: {team_id: A}, monthly_cap_usd: 5}\n")
    assert main(["budgets", "--month", month, "--budgets", str(f), "--warehouse", str(wh.path)]) == 2
    assert capsys.readouterr().err == f"error: --month {month}: {rule}\n"


def test_the_month_after_the_data_is_projected_from_its_eve():
    span = (date(2024, 11, 1), date(2026, 10, 31))
    assert check_month_in_data(date(2026, 11, 1), date(2026, 11, 30), span) == date(2026, 10, 31)
    assert check_month_in_data(date(2024, 11, 1), date(2024, 11, 30), span) == date(2026, 10, 31)
    with pytest.raises(ParameterError, match=r"^month 2026-12: outside the data: the warehouse holds 2024-11 to "
                                             r"2026-10 \(requests from 2024-11-01 to 2026-10-31\)"):
        check_month_in_data(date(2026, 12, 1), date(2026, 12, 31), span)
    with pytest.raises(ParameterError, match=r"^month 2024-10: outside the data: the warehouse holds no requests"):
        check_month_in_data(date(2024, 10, 1), date(2024, 10, 31), None)


# --- shares with one decimal -----------------------------------------------------------------------------------


def test_shares_show_one_decimal_and_never_round_onto_a_threshold(wh, tmp_path, capsys):
    assert share_pct(0.7975, (0.8, 1.0)) == "79.8%"
    assert share_pct(0.79951, (0.8, 1.0)) == "79.9%"  # 80.0% would read as the 80% threshold reached
    assert share_pct(0.79951) == "80.0%" and share_pct(0.8, (0.8,)) == "80.0%" and share_pct(1.0) == "100.0%"
    assert share_pct(0.99996, (1.0,)) == "99.9%"
    f = tmp_path / "b.yaml"
    f.write_text("budgets:\n  - {name: p, owner: o, match: {team_id: P}, monthly_cap_usd: 100, thresholds: [0.8]}\n")
    assert main(["budgets", "--month", "2026-10", "--as-of", "2026-10-14", "--budgets", str(f), "--warehouse",
                 str(wh.path), "--method", "run-rate"]) == 0
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith("p ")]
    assert "79.75  79.8%" in line and "80%" not in out  # spent USD, spent share; no threshold reached
    assert "projected month-end $" in out and ">= 80.0% of $100.00" in out  # the projection's alert: 80.0%


# --- a robust daily rate for the rest of the month -------------------------------------------------------------


def test_a_runaway_day_already_spent_does_not_multiply_the_rest_of_the_month(wh):
    b = envelope_burn(wh, _doc({"name": "r", "match": {"team_id": "research"}}).budgets[0], MONTH, AS_OF,
                      run_rate_projection)
    # spend to date counts in full: Oct 1-14 = 10 weekdays ($10, but Tue 6th $13, Tue 13th $500) + 4 weekend x $2
    assert b.burn_usd == pytest.approx(8 * 10 + 13 + 500 + 4 * 2)
    # the rate without the runaway day: over Sep 17 - Oct 14 each weekday has 4 days, Tuesday 3 once Oct 13 is
    # left out: Tue (9 + 11 + 13) / 3 = $11, other weekdays $10, weekends $2. Oct 15-31: 2 Tuesdays, 10 other
    # weekdays, 5 weekend days
    assert b.projection.spike_days == (RUNAWAY_DAY,)
    assert b.projection.total_usd == pytest.approx(2 * 11 + 10 * 10 + 5 * 2)
    assert b.projection.method == "run-rate by weekday (28 days, 1 spike day left out)"
    # with it, Tuesday's mean is (9 + 11 + 13 + 500) / 4 = $133.25 and the two Tuesdays to come carry it
    raw = run_rate_projection(_history(wh), AS_OF, LAST, adjust_spikes=False)
    assert raw.total_usd == pytest.approx(2 * 133.25 + 10 * 10 + 5 * 2)
    # the same arithmetic on the 27 days kept: residuals only on Tuesdays (-2, 0, +2), s^2 = 8 / (27 - 7); a
    # future Tuesday's sd s sqrt(1 + 1/3), another day's s sqrt(1 + 1/4)
    s = math.sqrt(8 / 20)
    tuesdays = np.array([d.weekday() == 1 for d in b.projection.days])
    np.testing.assert_allclose(b.projection.sd_usd[tuesdays], s * math.sqrt(4 / 3))
    np.testing.assert_allclose(b.projection.sd_usd[~tuesdays], s * math.sqrt(5 / 4))
    # Var(rest) = s^2 (17 + sum k_d^2 / n_d) = s^2 (17 + 3 x 9/4 + 3 x 4/4 + 4/3), floored by the backtest
    assert b.projection.total_sd_usd >= s * math.sqrt(17 + 27 / 4 + 3 + 4 / 3) - 1e-9


def _history(wh) -> pd.Series:
    from forecast.budgets.burn import daily_usd

    return daily_usd(wh, {"team_id": "research"}, date(2026, 9, 1), AS_OF)


def test_the_forecaster_fits_the_runaway_day_at_its_weekday_rate():
    seen = []

    def stub(df, h, freq, level, models, n_windows):
        seen.append(df.set_index("ds")["y"])
        ds = pd.date_range(df["ds"].max() + pd.Timedelta(days=1), periods=h, freq="D")
        frame = pd.DataFrame({"unique_id": "spend", "ds": ds, "forecast": 1.0, "forecast-hi-95": 1.0,
                              "model": "stub"})
        return SimpleNamespace(forecast=frame)

    index = pd.date_range("2026-09-01", AS_OF)
    history = pd.Series([_research_usd(d.date()) for d in index], index=index)
    p = forecast_projection(history, AS_OF, LAST, stub)
    [y] = seen
    assert y[pd.Timestamp(RUNAWAY_DAY)] == pytest.approx(11.0)  # the other Tuesdays of its 28 days: (9+11+13)/3
    assert (y.drop(pd.Timestamp(RUNAWAY_DAY)) == history.drop(pd.Timestamp(RUNAWAY_DAY))).all()
    assert p.spike_days == (RUNAWAY_DAY,) and p.method == "forecast (stub, 1 spike day at the weekday rate)"
    forecast_projection(history, AS_OF, LAST, stub, adjust_spikes=False)
    assert seen[1][pd.Timestamp(RUNAWAY_DAY)] == 500.0  # the switch turns it off


def test_spike_days_are_one_offs_not_a_new_level_nor_sparse_spend():
    flat = np.full(28, 10.0)
    assert spike_days(np.r_[flat[:-1], 150.0]).nonzero()[0].tolist() == [27]  # > 10 x the 90th percentile ($10)
    assert not spike_days(np.r_[flat[:-1], 95.0]).any()  # 9.5x: ordinary enough
    assert not spike_days(np.r_[flat[:-3], 150.0, 150.0, 150.0]).any()  # a third lifts the fence: a new level
    two = spike_days(np.r_[flat[:-2], 150.0, 160.0])
    assert two.nonzero()[0].tolist() == [26, 27]  # two runaway days: both one-offs
    sparse = np.zeros(28)
    sparse[[3, 17]] = 0.4
    sparse[27] = 30.0
    assert not spike_days(sparse).any()  # the median day spends nothing: no level to call a spike against
    assert not spike_days(np.r_[np.full(12, 1.0), 500.0]).any()  # under 14 days: too short to judge
