"""Per-series auto mode: adjust one-off spikes, profile the series, backtest the candidates, pick (or
combine), calibrate, forecast.

Pure and picklable, so the fan-out can ship one call per series (or chunk) to any worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

import numpy as np
import pandas as pd

from .backtest import Window, backtest_model, cutoffs, scores
from .base import PointAndBands, level_name
from .baselines import naive
from .conformal import apply_calibration, calibration
from .fast_backtest import FAST_WINDOWS
from .models import COMBINABLE, INTERMITTENT, SHORT, array_model, is_prophet
from .outliers import Adjustment, spike_adjusted
from .stats_models import has_season_state

INTERMITTENT_ADI = 1.32  # Syntetos & Boylan (2005): average demand interval above which demand is intermittent
# The combination is the equal-weight mean of ETS (ETS_BY_AICC where it ran), the optimised Theta and the classic
# Theta when all three ran on 3+ seasons of history (STATS_MARGIN), else of the 2 best combinable members by backtest
# (COMBO_MARGIN: shorter, intermittent). It is chosen unless a single model beats it on backtest by more than the
# margin: combinations won M4, and 3 windows rank single models noisily. Set on M1 monthly (docs/forecasting.md): a
# 20% margin gave sMAPE 15.60 / MASE 1.120, 50% 15.01 / 1.083, 65% 14.90 / 1.082, 80% 15.20 / 1.089, always combining
# 15.07 / 1.103; from 3 seasons on (14.88 / 1.079), the sample company's 24-month nodes keep the backtest choice
# (their mean backtest MASE 1.710 before, 2.120 with the three on every series, 1.697 now). A seasonal series adds
# Holt-Winters (the season in its states) as a fourth member: M1 14.88 / 1.079 to 14.86 / 1.075, the 35 bundled
# series' MASE 0.657 to 0.646 (the median of the four: 1.071 on M1, 0.654 on the bundled series; the median of the
# three alone: 1.076, 0.663).
STATS_MEMBERS = ("ets", "dotm", "theta")
# ETS with its form chosen by AICc (autoets) takes the damped ETS's place in the mean when it is among the
# candidates; with both, it runs only from STATS_SEASONS on (below that there is no mean for it to join, and the
# sample company's 24-month nodes keep their backtest MASE of 1.697; 1.712 with autoets among their candidates).
# In the mean: M1 14.86 / 1.075 to 14.50 / 1.060, the bundled series' MASE 0.646 to 0.608 (its time against
# AutoETS's: docs/forecasting.md).
ETS_BY_AICC = "autoets"
SEASONAL_MEMBER = "hw"  # joins the three where it ran: where it keeps a seasonal state (has_season_state)
STATS_MARGIN = 0.65
STATS_SEASONS = 3  # the combination of the three needs this many seasons of history (as is_seasonal does)
COMBO_SIZE = 2
COMBO_MARGIN = 0.2
# What a fit can raise on odd data (statsmodels: ValueError/LinAlgError/IndexError; cmdstanpy: RuntimeError;
# overflow in a recursion: ArithmeticError). A candidate that raises one is dropped and named in failed_models;
# anything else (TypeError, AttributeError, KeyError, ...) is a bug in this package and propagates.
FIT_ERRORS = (ValueError, ArithmeticError, IndexError, RuntimeError)
FLAGS = ("short_history", "constant", "all_zero", "intermittent", "no_backtest", "unsorted_input",
         "horizon_exceeds_history")


def profile(y: np.ndarray, m: int) -> dict[str, bool]:
    """Flags describing a history: constant, all_zero, intermittent (ADI >= 1.32 with zeros), short_history."""
    nonzero = int(np.count_nonzero(y))
    return {"constant": bool(np.all(y == y[0])), "all_zero": nonzero == 0,
            "intermittent": 0 < nonzero < len(y) and len(y) / nonzero >= INTERMITTENT_ADI,
            "short_history": len(y) < min(2 * m, 24)}


def _windows(y, model, name, h, levels, m, cuts, failed: list[str]) -> list[Window] | None:
    try:
        if name in FAST_WINDOWS:
            return FAST_WINDOWS[name](y, h, levels, m, cuts)
        return backtest_model(y, model, h, levels, m, cuts)
    except FIT_ERRORS as exc:  # recorded in failed_models, never silent
        failed.append(f"{name} ({type(exc).__name__})")
        return None


def _combine(fcs: Sequence[PointAndBands], levels) -> PointAndBands:
    """Equal-weight mean of member forecasts; bands are the means of member bounds (quantile averaging)."""
    return PointAndBands(np.mean([f.mean for f in fcs], axis=0),
                         {lv: np.mean([f.lo[lv] for f in fcs], axis=0) for lv in levels},
                         {lv: np.mean([f.hi[lv] for f in fcs], axis=0) for lv in levels})


def _rank_key(s: dict[str, float], by_rmse: bool = False) -> tuple[float, float]:
    """Rank by MASE (RMSE breaks ties); by RMSE for intermittent series, where absolute-error metrics reward
    forecasting 0 (Kolassa 2016) and a budget needs the mean."""
    if by_rmse:
        return (s.get("rmse", float("inf")), 0.0)
    mase = s.get("mase", float("nan"))
    return (mase if np.isfinite(mase) else float("inf"), s.get("rmse", float("inf")))


def _prefer_combo(ranked: list[str], table: dict[str, dict], by_rmse: bool, margin: float) -> list[str]:
    """Put the combination first unless the best single model beats it by more than `margin` on backtest."""
    if ranked[0] == "combo" or margin <= 0:
        return ranked
    best, combo = _rank_key(table[ranked[0]], by_rmse)[0], _rank_key(table["combo"], by_rmse)[0]
    if best < (1 - margin) * combo:
        return ranked
    return ["combo", *[c for c in ranked if c != "combo"]]


def _tidy(fc: PointAndBands, levels: Sequence[float]) -> PointAndBands:
    """Bands nested (a wider level never inside a narrower one) and floored at 0 (spend is never negative)."""
    lo, hi = dict(fc.lo), dict(fc.hi)
    for a, b in pairwise(levels):
        lo[b], hi[b] = np.minimum(lo[b], lo[a]), np.maximum(hi[b], hi[a])
    mean = np.maximum(fc.mean, 0)
    for lv in levels:
        lo[lv], hi[lv] = np.clip(np.minimum(lo[lv], mean), 0, None), np.maximum(np.maximum(hi[lv], mean), 0)
    return PointAndBands(mean, lo, hi)


def forecast_one(y: np.ndarray, h: int, levels: Sequence[float], m: int, candidates: Sequence[str],
                 n_windows: int, step: int, first_ds: pd.Timestamp | None = None, freq: str = "MS",
                 ) -> tuple[PointAndBands, dict]:
    """Forecast one series: returns the forecast and its selection record (model, scores, flags)."""
    y = np.asarray(y, dtype=float)
    model = partial(array_model, first_ds=first_ds, freq=freq)
    n = len(y)
    flags = profile(y, m)
    record: dict = {"n_obs": n, "windows": 0}
    if flags["constant"]:
        mean = np.full(h, y[0])
        record.update(model="naive", **flags)
        return PointAndBands(mean, {lv: mean for lv in levels}, {lv: mean for lv in levels}), record
    if flags["short_history"]:
        candidates = list(SHORT)
    elif flags["intermittent"]:
        candidates = list(INTERMITTENT)
    if SEASONAL_MEMBER in candidates and "ets" in candidates and not has_season_state(y, m):  # it would copy ets
        candidates = [c for c in candidates if c != SEASONAL_MEMBER]
    if ETS_BY_AICC in candidates and "ets" in candidates and n < STATS_SEASONS * m:  # no mean for it to join
        candidates = [c for c in candidates if c != ETS_BY_AICC]
    cuts = cutoffs(n, h, n_windows, step, max(3, min(2 * m, n // 2))) or cutoffs(n, h, n_windows, step, 3)[-1:]
    failed: list[str] = []
    runs = {}
    for c in candidates if cuts else ():
        if (w := _windows(y, model(c), c, h, levels, m, cuts, failed)) is not None:
            runs[c] = w
    table = {c: scores(y, w, levels, m) for c, w in runs.items()}
    ranked = sorted(table, key=lambda c: _rank_key(table[c], flags["intermittent"]))
    three = [ETS_BY_AICC if c == "ets" and ETS_BY_AICC in runs else c for c in STATS_MEMBERS]
    stats = set(three) <= set(runs) and n >= STATS_SEASONS * m
    if stats:
        members = [*three, *([SEASONAL_MEMBER] if SEASONAL_MEMBER in runs else [])]
    else:
        members = [c for c in ranked if c in COMBINABLE or is_prophet(c)][:COMBO_SIZE]
    if len(members) >= 2:
        runs["combo"] = [Window(ws[0].cutoff, ws[0].actual, _combine([w.forecast for w in ws], levels))
                         for ws in zip(*(runs[c] for c in members), strict=True)]
        table["combo"] = scores(y, runs["combo"], levels, m)
        ranked = sorted(table, key=lambda c: _rank_key(table[c], flags["intermittent"]))
        ranked = _prefer_combo(ranked, table, flags["intermittent"], STATS_MARGIN if stats else COMBO_MARGIN)
    flags["no_backtest"] = not ranked
    order = ranked or ["naive"]
    fc, chosen = None, "naive"
    for chosen in order:
        try:
            names = members if chosen == "combo" else [chosen]
            fc = _combine([model(c)(y, h, levels, m) for c in names], levels)
            break
        except FIT_ERRORS as exc:  # fall to the next-best candidate; recorded
            failed.append(f"{chosen} ({type(exc).__name__})")
    if fc is None:
        chosen, fc = "naive", naive(y, h, levels, m)
    cal = {}
    if chosen in runs:
        ws = runs[chosen]
        cal = calibration([w.actual for w in ws], [w.forecast for w in ws], levels)
        fc = apply_calibration(fc, cal)
    if flags["short_history"]:  # never narrower than the naive random walk with Student-t spread
        nv = naive(y, h, levels, m)
        fc = PointAndBands(fc.mean, {lv: np.minimum(fc.lo[lv], nv.lo[lv]) for lv in levels},
                           {lv: np.maximum(fc.hi[lv], nv.hi[lv]) for lv in levels})
    record.update(model="combo(" + "+".join(members) + ")" if chosen == "combo" else chosen, windows=len(cuts),
                  **{k: v for k, v in table.get(chosen, {}).items()}, **flags)
    for lv, (mode, value, _) in cal.items():
        record[f"calibration-{level_name(lv)}"] = mode if mode == "model" else f"{mode} {value:.3g}"
    for c, s in table.items():
        record[f"mase_{c}"] = s.get("mase", float("nan"))
        record[f"smape_{c}"] = s.get("smape", float("nan"))
    record["failed_models"] = "; ".join(failed)
    return _tidy(fc, levels), record


@dataclass(frozen=True)
class SeriesForecast:
    """One series' forecast (y units), its selection record (model, scores, flags, adjusted_periods) and the
    spikes adjusted in the history the candidates were backtested and fitted on (positions in that history)."""

    forecast: PointAndBands
    record: dict
    adjustments: tuple[Adjustment, ...]


def forecast_history(y: np.ndarray, h: int, levels: Sequence[float], m: int, candidates: Sequence[str],
                     n_windows: int, step: int, first_ds: pd.Timestamp | None = None, freq: str = "MS",
                     adjust_spikes: bool = True) -> SeriesForecast:
    """forecast_one on the history with its one-off spikes adjusted (outliers.spike_adjusted), unless
    adjust_spikes is False or the series is constant or intermittent (its nonzero periods are its demand)."""
    y = np.asarray(y, dtype=float)
    flags = profile(y, m)
    changes: tuple[Adjustment, ...] = ()
    if adjust_spikes and not (flags["constant"] or flags["intermittent"]):
        adjusted = spike_adjusted(y, m)
        y, changes = adjusted.y, adjusted.adjustments
    fc, record = forecast_one(y, h, levels, m, candidates, n_windows, step, first_ds, freq)
    return SeriesForecast(fc, {**record, "adjusted_periods": len(changes)}, changes)
