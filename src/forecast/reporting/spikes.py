"""Runaway days taken out of the monthly history the report forecasts on.

A runaway agent loop spends in a day or two what a series spends in weeks, and the monthly filter of
timeseries.outliers cannot call the newest month a one-off until a later month has come back down. The daily
spend can: within each series, a day above 10x the 90th-percentile day of the 28 days around it is a spike
(budgets.projection.spike_days, the rule the month-end projection reads its robust rate with) and counts at the
mean of its window's other days of the same weekday (robust_usd). The month's adjusted value is its actual spend
less what its spike days spent above that rate. Actual spend is never changed: only the history the forecasters
fit on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from ..budgets.projection import robust_usd, spike_days
from ..core.formatting import usd
from ..usage.series import series
from ..usage.warehouse import Warehouse

COLUMNS = ("unique_id", "ds", "actual", "adjusted", "reason")


def runaway_days_adjusted(wh: Warehouse, by: Sequence[str], end: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(monthly USD per `by` series before `end`, as series(wh, by, "MS") gives it but with each spike day at its
    robust rate; adjustments: unique_id, ds (month), actual, adjusted (USD), reason), one row per adjusted month.

    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> days = pd.date_range("2026-09-01", "2026-10-31", freq="D")
    >>> spend = [500.0 if d == pd.Timestamp("2026-10-20") else 10.0 for d in days]  # one runaway day
    >>> rows = [f"{d:%Y-%m-%d}T12:00:00Z,r{i},openai,gpt-4o-mini,1000,500,{c},research"
    ...         for i, (d, c) in enumerate(zip(days, spend))]
    >>> _ = (folder / "calls.csv").write_text(
    ...     "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd,team_id\\n" + "\\n".join(rows))
    >>> with Warehouse(folder / "w.duckdb") as wh:
    ...     _ = wh.load(folder / "calls.csv")
    ...     monthly, adjustments = runaway_days_adjusted(wh, ["team_id"], date(2026, 11, 1))
    >>> monthly["y"].tolist()  # October: 30 days at $10 and the runaway day at its weekdays' $10
    [300.0, 310.0]
    >>> adjustments[["actual", "adjusted"]].values.tolist(), adjustments["reason"].iloc[0]
    ([[800.0, 310.0]], '1 runaway day (2026-10-20: 500 USD) at the usual daily rate of 10.00 USD')
    >>> shutil.rmtree(folder)
    """
    monthly = series(wh, by=by, freq="MS", end=end)
    daily = series(wh, by=by, freq="D", end=end)
    rows = []
    for uid, g in daily.groupby("unique_id", sort=False):
        values = g["y"].to_numpy(float)
        spikes = spike_days(values)
        if not spikes.any():
            continue
        robust = robust_usd(values, g["ds"].dt.day_of_week.to_numpy(), spikes)
        hit = g.assign(spent=values, usual=robust)[spikes]
        for month, days in hit.groupby(hit["ds"].dt.to_period("M").dt.to_timestamp()):
            listed = ", ".join(f"{d:%Y-%m-%d}: {usd(s)} USD" for d, s in zip(days["ds"], days["spent"], strict=True))
            n = len(days)
            rows.append({"unique_id": uid, "ds": month, "excess": float((days["spent"] - days["usual"]).sum()),
                         "reason": f"{n} runaway day{'s' * (n > 1)} ({listed}) at the usual daily rate of "
                                   f"{usd(days['usual'].mean())} USD"})
    adjustments = pd.DataFrame(rows, columns=["unique_id", "ds", "excess", "reason"])
    merged = monthly.merge(adjustments, on=["unique_id", "ds"], how="left")
    excess = merged["excess"].fillna(0.0).to_numpy()
    adjusted = monthly.assign(y=monthly["y"].to_numpy() - excess)
    found = merged[excess > 0]
    out = pd.DataFrame({"unique_id": found["unique_id"], "ds": found["ds"], "actual": found["y"],
                        "adjusted": found["y"] - found["excess"], "reason": found["reason"]}, columns=list(COLUMNS))
    return adjusted, out.reset_index(drop=True)
