"""Checks on a long frame (unique_id, ds, y) before anything is fitted.

Errors (ForecastError, one line per problem, naming source, series, field, value and rule):
missing columns, unparseable dates, non-numeric / NaN / infinite / negative y, y above MAX_Y, duplicate
(unique_id, ds) rows, dates off the frequency grid (a frequency that does not match the dates),
gaps (missing periods), fewer than MIN_POINTS observations, a horizon past MAX_HORIZON_RATIO x history.
Flagged, not an error: rows out of date order are sorted (flag `unsorted_input`), and a horizon
longer than the history (flag `horizon_exceeds_history`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.errors import ForecastError
from ..core.frequencies import check_freq
from .base import STEPS

MIN_POINTS = 3  # fewer gives no spread estimate at all
MAX_HORIZON_RATIO = 4  # forecasting more than 4x the observed history is refused
MAX_PROBLEMS = 10
# The largest y forecast: 1e15 is ten times the world's yearly GDP in USD (about 1.1e14 in 2024), so no spend
# series comes near it, while float64 still holds such values to 1/8 of a unit and the models' sums of squares
# (y^2 x periods, about 1e32) stay far below float64's overflow at 1.8e308, where a y of 1e300 turns into inf
# forecasts and bands. Usage counts that large (tokens) are forecast in thousands or millions instead.
MAX_Y = 1e15


@dataclass(frozen=True)
class Validated:
    """A clean long frame sorted by unique_id, ds; flags: unique_id -> tuple of flag names."""

    frame: pd.DataFrame
    flags: dict[str, tuple[str, ...]]


def _period(ds: pd.Series, i: int) -> str:
    """Where row i is: its period, or its 1-based place among the data rows when ds is not a date."""
    return f"ds {ds.iloc[i]:%Y-%m-%d}" if pd.notna(ds.iloc[i]) else f"data row {i + 1}"


def _show(value) -> str:
    """A cell value as an error message shows it: strings quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _on_grid(ds: pd.Series, freq: str) -> pd.Series:
    """True where a date is a valid period start for the frequency."""
    midnight = ds == ds.dt.normalize()
    if freq == "MS":
        return midnight & (ds.dt.day == 1)
    return midnight


def _expected_next(ds: pd.Series, freq: str) -> pd.Series:
    if freq == "MS":
        return ds + pd.offsets.MonthBegin(1)
    return ds + STEPS[freq]


def validate_long_frame(df: pd.DataFrame, freq: str, h: int | None = None, source: str = "series") -> Validated:
    """Check and sort a long frame; raise ForecastError listing every problem found (up to 10)."""
    check_freq(freq)
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise ForecastError(f"{source}: missing column(s) {', '.join(missing)}: a long frame needs unique_id, ds, y")
    if len(df) == 0:
        raise ForecastError(f"{source}: no rows: nothing to forecast")
    frame = df[["unique_id", "ds", "y"]].copy()
    frame["unique_id"] = frame["unique_id"].astype(str)
    problems: list[str] = []
    ds = pd.to_datetime(frame["ds"], errors="coerce")
    for i in np.flatnonzero(ds.isna().to_numpy())[:3]:
        problems.append(f"{source}: data row {i + 1}: ds {_show(frame['ds'].iloc[i])}: not a date (use YYYY-MM-DD)")
    if getattr(ds.dt, "tz", None) is not None:
        ds = ds.dt.tz_convert("UTC").dt.tz_localize(None)
    frame["ds"] = ds
    y = pd.to_numeric(frame["y"], errors="coerce")
    for rule, mask in (("not a finite number (NaN or missing values are not imputed: fill or drop them first)",
                        ~np.isfinite(y.to_numpy(float))),
                       ("negative: spend and usage cannot be below 0 (net credits out before forecasting)",
                        y.to_numpy(float) < 0)):
        for i in np.flatnonzero(mask)[:3]:
            problems.append(f"{source}: series {frame['unique_id'].iloc[i]!r}, {_period(ds, i)}: "
                            f"y {_show(frame['y'].iloc[i])}: {rule}")
    for i in np.flatnonzero(np.isfinite(y.to_numpy(float)) & (y.to_numpy(float) > MAX_Y))[:3]:
        problems.append(f"{source}: series {frame['unique_id'].iloc[i]!r}, {_period(ds, i)}: "
                        f"y {_show(frame['y'].iloc[i])}: above {MAX_Y:.0e}, the largest value forecast (10 x world "
                        "GDP in USD): check the units (cents instead of dollars?) or scale the series down")
    frame["y"] = y.astype(float)
    if problems:
        raise ForecastError(problems)

    dup = frame.duplicated(["unique_id", "ds"], keep=False)
    for uid, d in frame.loc[dup, ["unique_id", "ds"]].drop_duplicates().head(3).itertuples(index=False):
        problems.append(f"{source}: series {uid!r}: ds {d:%Y-%m-%d}: duplicate (unique_id, ds) rows: "
                        "aggregate them to one row per period first")
    off = ~_on_grid(frame["ds"], freq)
    for uid, d in frame.loc[off, ["unique_id", "ds"]].head(3).itertuples(index=False):
        rule = "the first day of a month" if freq == "MS" else "a date at midnight"
        problems.append(f"{source}: series {uid!r}: ds {d}: freq {freq!r} needs {rule}: the dates do not match "
                        "the frequency")
    if problems:
        raise ForecastError(problems)

    order = frame.groupby("unique_id", sort=False)["ds"].diff()
    unsorted_ids = set(frame.loc[order < pd.Timedelta(0), "unique_id"])
    frame = frame.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    same = frame["unique_id"].eq(frame["unique_id"].shift())
    expected = _expected_next(frame["ds"].shift(), freq)
    gap = same & (frame["ds"] != expected)
    for i in np.flatnonzero(gap.to_numpy())[:3]:
        problems.append(f"{source}: series {frame['unique_id'].iloc[i]!r}: ds jumps from "
                        f"{frame['ds'].iloc[i - 1]:%Y-%m-%d} to {frame['ds'].iloc[i]:%Y-%m-%d}: a gap or a step "
                        f"that is not one {freq!r} period: fill missing periods (0 if nothing was spent) or fix freq")
    counts = frame.groupby("unique_id", sort=False).size()
    for uid, n in counts[counts < MIN_POINTS].head(3).items():
        problems.append(f"{source}: series {uid!r}: {n} observation(s): at least {MIN_POINTS} are needed")
    if h is not None:
        if not isinstance(h, int | np.integer) or h < 1:
            problems.append(f"horizon: {h!r}: must be a whole number of periods >= 1")
        else:
            too_long = counts[counts * MAX_HORIZON_RATIO < h]
            for uid, n in too_long.head(3).items():
                problems.append(f"{source}: series {uid!r}: horizon {h} > {MAX_HORIZON_RATIO} x its {n} observations: "
                                "shorten the horizon or forecast a longer aggregate")
    if problems:
        raise ForecastError(problems[:MAX_PROBLEMS])
    flags: dict[str, tuple[str, ...]] = {}
    for uid, n in counts.items():
        f = []
        if uid in unsorted_ids:
            f.append("unsorted_input")
        if h is not None and h > n:
            f.append("horizon_exceeds_history")
        flags[str(uid)] = tuple(f)
    return Validated(frame, flags)
