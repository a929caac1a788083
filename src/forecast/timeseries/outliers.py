"""One-off spikes in a history (a runaway agent loop, a backfill billed in one month), adjusted to a robust level.

A Hampel-type filter (Hampel 1974; Pearson et al. 2016) with three extra rules, so that only a one-off
is adjusted. Period t of a history y (any units, >= 0) is a spike when all of these hold:

- it is high against its neighbours: the up to HALF_WINDOW_PERIODS points on each side (not t itself)
  have median L (the local level); y_t - L > THRESHOLD_SDS x s, and the same above the median of the
  points before it (the previous level). The robust sd s is the largest of 1.4826 x the neighbours'
  median absolute deviation (MAD), L x 1.4826 x the series' median of |y / L - 1| (how far its points
  usually sit from their own local level: a noisy series needs a bigger spike) and L x NOISE_FLOOR_SHARE
  (so a flat series does not flag its noise);
- it is confirmed by what follows: a later point within the window is closer to the previous level than
  to y_t. A level shift stays up, so it is never adjusted, and nor is the last observation;
- it is high against the same period a season ago and a season later, where the history has them: with
  L_j the local level of that period j, y_t - L x y_j / L_j > THRESHOLD_SDS x s. A December peak that
  repeats every year is a season, not a spike.

Only upward spikes are looked for (spend runs away; a dip is usually an outage that the forecast should
not undo, and none was measured to help). Histories under MIN_POINTS periods, points whose local level
is 0 (intermittent demand) and the first and last points are never adjusted. A spike is set to the larger
of its local level L and the lower of its seasonal levels L x y_j / L_j, so a one-off on top of a December
peak goes back to the December level.

The constants were chosen with benchmarks/bench_outliers.py: a grid of thresholds 3-6, floors 5% / 10%,
half windows 2-4 and the series-wide term on / off, scored on two or three seeds of its 240 synthetic monthly
series with and without injected spikes, M1 monthly (617 series) and the 35 bundled public monthly series.
The series-wide term cut the periods adjusted on the clean series from ~50 to 1-3 and on M1 from 108 to 20 at
the same gain on the spiked ones; the rest moved mean MASE by under 1%. docs/forecasting.md has the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..core.errors import ParameterError

HALF_WINDOW_PERIODS = 3  # neighbours on each side: a runaway lasting up to 3 periods is still outvoted (2 and 4
#                          found fewer injected spikes, or more false ones, on the synthetic series)
THRESHOLD_SDS = 4.0  # robust sds above the local level. 3 and 3.5 gained 0.3% more on the spiked synthetic
#                      series but adjusted more periods of the clean ones and of M1 (M1 mean MASE x1.0009 at 3);
#                      4.5-6 found fewer injected spikes (93% at 4, 91% at 5, 89% at 6) for no gain elsewhere
NOISE_FLOOR_SHARE = 0.05  # s is never below 5% of the level, so a spike is >= 20% above it (10% measured the same)
MIN_POINTS = 8  # shorter histories are left alone: too few neighbours to call a level
MAD_TO_SD = 1.4826  # the median absolute deviation of a normal sample, in sds


@dataclass(frozen=True)
class Adjustment:
    """One adjusted period: its position in the history, the actual and adjusted values (y units), why."""

    index: int
    actual: float
    adjusted: float
    reason: str


@dataclass(frozen=True)
class Adjusted:
    """The history with its spikes adjusted (y units, same length) and what was changed, in time order."""

    y: np.ndarray
    adjustments: tuple[Adjustment, ...]


def _nanmedian(a: np.ndarray) -> np.ndarray:
    """The median of each row's numbers; NaN for an all-NaN row (no point before the first), on purpose. The
    all-NaN rows are left out rather than their warning silenced: warnings.catch_warnings is not thread-safe, and
    Dask runs series in threads."""
    out = np.full(a.shape[0], np.nan)
    some = ~np.isnan(a).all(axis=1)
    out[some] = np.nanmedian(a[some], axis=1)
    return out


def spike_adjusted(y, season_length: int = 1) -> Adjusted:
    """The history with one-off upward spikes replaced by their robust local (or seasonal) level.

    y: the history in time order (any units, >= 0); season_length: periods per season (12 for months, 1 for
    none). The module constants set the rest. Pure: y is never modified. Flat spend with a one-off $80 month
    at position 6:

    >>> res = spike_adjusted([10.0] * 6 + [80.0] + [10.0] * 5, season_length=12)
    >>> res.y.tolist()
    [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    >>> [(a.index, a.actual, a.adjusted) for a in res.adjustments]
    [(6, 80.0, 10.0)]
    >>> res.adjustments[0].reason
    'one-off spike: 8.0x the local level, back down 1 period later'
    >>> spike_adjusted([10.0] * 6 + [80.0] * 6).adjustments  # a level shift stays up: not a spike
    ()
    """
    if not isinstance(season_length, int | np.integer) or isinstance(season_length, bool) or season_length < 1:
        raise ParameterError("season_length", repr(season_length), "must be a whole number of periods >= 1")
    y = np.array(y, dtype=float, copy=True).ravel()
    n, k = len(y), HALF_WINDOW_PERIODS
    if n < MIN_POINTS or not np.all(np.isfinite(y)):
        return Adjusted(y, ())
    padded = np.concatenate([np.full(k, np.nan), y, np.full(k, np.nan)])
    window = sliding_window_view(padded, 2 * k + 1)  # row t: y[t-k .. t+k], NaN past the ends
    neighbours = np.delete(window, k, axis=1)
    level = _nanmedian(neighbours)
    if not np.any(level > 0):
        return Adjusted(y, ())
    with np.errstate(over="ignore", invalid="ignore"):  # levels near 0 give inf ratios: they flag nothing
        usual_share = MAD_TO_SD * float(np.median(np.abs(y[level > 0] / level[level > 0] - 1)))
        sd = np.maximum(MAD_TO_SD * _nanmedian(np.abs(neighbours - level[:, None])),
                        max(usual_share, NOISE_FLOOR_SHARE) * level)
        previous = _nanmedian(window[:, :k])
        after = window[:, k + 1:]
        limit = THRESHOLD_SDS * sd
        high = (y - level > limit) & (y - previous > limit) & (level > 0)
        back = (after - previous[:, None] < y[:, None] - after).any(axis=1)
        seasonal = np.full(n, np.inf)  # lowest seasonal level of the same period a season ago / later
        t = np.arange(n)
        if 1 < season_length < n:
            for j in (t - season_length, t + season_length):
                ok = (j >= 0) & (j < n)
                ok[ok] = level[j[ok]] > 0  # a period with no level (zeros around it) says nothing about the season
                ref = np.full(n, np.inf)
                ref[ok] = level[ok] * y[j[ok]] / level[j[ok]]
                high &= ~ok | (y - ref > limit)
                seasonal = np.minimum(seasonal, ref)
    spike = high & back  # never the first point (nothing before it) nor the last (nothing after it)
    out, adjustments = y.copy(), []
    for i in np.flatnonzero(spike):
        by_season = np.isfinite(seasonal[i]) and seasonal[i] > level[i]
        value = float(seasonal[i] if by_season else level[i])
        later = int(np.flatnonzero(after[i] - previous[i] < y[i] - after[i])[0]) + 1
        with np.errstate(over="ignore"):
            times = y[i] / value
        reason = (f"one-off spike: {times:.1f}x the {'seasonal' if by_season else 'local'} level, "
                  f"back down {later} period{'s' if later > 1 else ''} later")
        adjustments.append(Adjustment(int(i), float(y[i]), value, reason))
        out[i] = value
    return Adjusted(out, tuple(adjustments))
