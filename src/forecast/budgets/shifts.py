"""Step changes in per-task metrics (with the day they started) and actual spend outside the forecast interval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu, norm

from ..usage.series import UNTAGGED
from ..usage.warehouse import Warehouse
from .burn import daily_usd
from .envelopes import MATCH_KEYS
from .projection import Projector, auto_projection

METRICS = {  # per-task metrics per UTC day; a task is dated by each of its calls' days
    "tokens_per_task": "sum(input_tokens + output_tokens)",
    "usd_per_task": "CAST(sum(cost_usd) AS DOUBLE)",
    "steps_per_task": "sum(request_count)",
}


@dataclass(frozen=True)
class StepChange:
    entity: str
    metric: str
    start: date
    before: float  # median daily value in the window before
    after: float  # median daily value from the start on
    p_value: float  # two-sided Mann-Whitney U, before vs after days

    @property
    def ratio(self) -> float:
        return self.after / self.before if self.before else float("inf")

    def line(self) -> str:
        return (f"{self.entity}: {self.metric} {self.before:,.4g} -> {self.after:,.4g} ({self.ratio:.2f}x) "
                f"from {self.start} (p={self.p_value:.1g})")


def daily_metric(wh: Warehouse, by: str, metric: str, first: date, last: date) -> pd.DataFrame:
    """Per-task metric per UTC day (rows) and value of `by` (columns); NaN on days without tasks."""
    if by not in MATCH_KEYS:
        raise ValueError(f"by: {by!r}: use one of {', '.join(MATCH_KEYS)}")
    if metric not in METRICS:
        raise ValueError(f"metric: {metric!r}: use one of {', '.join(METRICS)}")
    frame = wh.sql(f"""
        SELECT coalesce("{by}", '{UNTAGGED}') AS entity, CAST("timestamp" AS DATE) AS day,
               CAST({METRICS[metric]} AS DOUBLE) / count(DISTINCT task_id) AS value
        FROM requests WHERE task_id IS NOT NULL
          AND "timestamp" >= CAST(? AS TIMESTAMPTZ) AND "timestamp" < CAST(? AS TIMESTAMPTZ)
        GROUP BY ALL""", [first.isoformat(), (last + timedelta(days=1)).isoformat()]).df()
    wide = frame.pivot_table(index="day", columns="entity", values="value")
    wide.index = pd.to_datetime(wide.index)
    return wide.reindex(pd.date_range(first, last, freq="D"))


def change_points(values: np.ndarray, window_days: int = 14, min_ratio: float = 1.5, max_p: float = 1e-4,
                  min_after_days: int = 7) -> list[tuple[int, float, float, float]]:
    """(index, median before, median after, p) of level shifts in a daily series (NaN = no data).

    A candidate day t compares the window_days before it with up to window_days from it on (at least
    min_after_days); it qualifies when the medians differ by min_ratio either way and the Mann-Whitney
    p-value is below max_p. Among qualifying days within window_days of each other the most separated
    (smallest p, then largest ratio) is kept.
    """
    found = []
    for t in range(window_days, len(values) - min_after_days + 1):
        before, after = values[t - window_days:t], values[t:t + window_days]
        before, after = before[~np.isnan(before)], after[~np.isnan(after)]
        if len(before) < window_days // 2 or len(after) < min_after_days // 2 + 1:
            continue
        b, a = float(np.median(before)), float(np.median(after))
        if b <= 0 or a <= 0 or max(a / b, b / a) < min_ratio:
            continue
        p = float(mannwhitneyu(before, after, alternative="two-sided").pvalue)
        if p < max_p:
            found.append((t, b, a, p))
    kept: list[tuple[int, float, float, float]] = []
    for cand in sorted(found, key=lambda c: (c[3], -abs(np.log(c[2] / c[1])), c[0])):
        if all(abs(cand[0] - k[0]) >= window_days for k in kept):
            kept.append(cand)
    return sorted(kept)


def step_changes(wh: Warehouse, first: date, last: date, by: str = "workflow_name",
                 metric: str = "tokens_per_task", window_days: int = 14, min_ratio: float = 1.5,
                 max_p: float = 1e-4) -> list[StepChange]:
    """Level shifts of a per-task metric per workflow (or other tag) that started between first and last."""
    wide = daily_metric(wh, by, metric, first - timedelta(days=window_days), last + timedelta(days=window_days))
    out = []
    for entity in wide.columns:
        for t, b, a, p in change_points(wide[entity].to_numpy(float), window_days, min_ratio, max_p):
            start = wide.index[t].date()
            if first <= start <= last:
                out.append(StepChange(str(entity), metric, start, b, a, p))
    return sorted(out, key=lambda c: (c.start, c.entity))


@dataclass(frozen=True)
class Outlier:
    entity: str
    day: date
    actual_usd: float
    expected_usd: float
    lo_usd: float
    hi_usd: float
    method: str

    def line(self) -> str:
        side = "above" if self.actual_usd > self.hi_usd else "below"
        return (f"{self.day} {self.entity}: ${self.actual_usd:,.2f} {side} the interval "
                f"${self.lo_usd:,.2f}..${self.hi_usd:,.2f} (expected ${self.expected_usd:,.2f}; {self.method})")


def forecast_outliers(wh: Warehouse, first: date, last: date, by: str = "workflow_name", level: float = 0.99,
                      min_excess_usd: float = 5.0, min_excess_share: float = 0.5,
                      projector: Projector = auto_projection, history_days: int = 182) -> list[Outlier]:
    """Days first..last whose actual spend falls outside the `level` interval of a projection made from the
    history before `first`, and differs from the expectation by at least min_excess_usd and min_excess_share of
    it. A two-sided 95% band alone flags one day in twenty by chance, and at a company's scale a workflow's day
    moves by 10-30% for no reason worth a page: an outlier must also be at least half again (or half) the
    expectation by default."""
    if by not in MATCH_KEYS:
        raise ValueError(f"by: {by!r}: use one of {', '.join(MATCH_KEYS)}")
    z = float(norm.ppf(0.5 + level / 2))
    entities = [r[0] for r in wh.sql(f"""SELECT DISTINCT coalesce("{by}", '{UNTAGGED}') FROM requests
        WHERE "timestamp" >= CAST(? AS TIMESTAMPTZ) AND "timestamp" < CAST(? AS TIMESTAMPTZ) ORDER BY 1""",
                                     [first.isoformat(), (last + timedelta(days=1)).isoformat()]).fetchall()]
    before = first - timedelta(days=1)
    out = []
    for entity in entities:
        full = daily_usd(wh, {by: entity}, first - timedelta(days=history_days), last)
        history = full[full.index <= pd.Timestamp(before)]
        nonzero = np.flatnonzero(history.to_numpy() > 0)
        if nonzero.size == 0:
            continue  # nothing to forecast from: a new entity (the spike rule covers it from day 8)
        proj = projector(history.iloc[nonzero[0]:], before, last)
        actual = full[full.index >= pd.Timestamp(first)].to_numpy(float)
        lo = np.clip(proj.expected_usd - z * proj.sd_usd, 0, None)
        hi = proj.expected_usd + z * proj.sd_usd
        for i, day in enumerate(proj.days):
            a = actual[i]
            off = abs(a - proj.expected_usd[i])
            if (a < lo[i] or a > hi[i]) and off >= min_excess_usd and off >= min_excess_share * proj.expected_usd[i]:
                out.append(Outlier(str(entity), day, a, float(proj.expected_usd[i]), float(lo[i]), float(hi[i]),
                                   proj.method))
    return sorted(out, key=lambda o: (o.day, o.entity))
