"""Uncertain numbers: fixed, triangular, PERT and lognormal(p50, p90), with vectorized sampling.

Every distribution is a frozen dataclass with `mean()`, `cdf(x)`, `ppf(q)` and `sample(rng, n)`;
the unit is whatever the field holding it says (tokens, usd, a probability). CDFs and quantiles are the
closed forms (triangular) or scipy.special's incomplete beta and normal functions, loaded when first used.

    >>> float(Triangular(0, 2, 4).cdf(1.0))  # 1^2 / (4 x 2)
    0.125
    >>> float(PERT(0, 5, 10).ppf(0.5))  # symmetric: the median is the mode
    5.0
    >>> round(float(LogNormal(100, 300).ppf(0.9)), 6)
    300.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# z-score of the 90th percentile of the standard normal: lognormal sigma = ln(p90/p50) / Z90.
Z90 = 1.2815515655446004


@dataclass(frozen=True)
class Fixed:
    """A number known exactly."""

    value: float

    def mean(self) -> float:
        return self.value

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def cdf(self, x):
        return np.where(np.asarray(x, dtype=float) >= self.value, 1.0, 0.0)

    def ppf(self, q):
        return np.full_like(np.asarray(q, dtype=float), self.value)

    def sample(self, rng: np.random.Generator, n: int) -> float:
        """A fixed value is returned as a scalar; numpy broadcasting does the rest."""
        return self.value


@dataclass(frozen=True)
class Triangular:
    """Triangular(low, mode, high): the usual three-point estimate."""

    low: float
    mode: float
    high: float

    def cdf(self, x):
        width = self.high - self.low
        u = np.clip((np.asarray(x, dtype=float) - self.low) / width, 0.0, 1.0)
        c = (self.mode - self.low) / width
        with np.errstate(divide="ignore", invalid="ignore"):  # a mode at an end leaves one branch unused
            return np.select([np.isnan(u), u < c, u > c], [np.nan, u * u / c, 1.0 - (1.0 - u) ** 2 / (1.0 - c)], c)

    def ppf(self, q):
        width = self.high - self.low
        q = np.asarray(q, dtype=float)
        c = (self.mode - self.low) / width
        p = np.clip(q, 0.0, 1.0)
        u = np.where(p <= c, np.sqrt(p * c), 1.0 - np.sqrt((1.0 - p) * (1.0 - c)))
        return np.where((q >= 0) & (q <= 1), self.low + width * u, np.nan)  # NaN outside [0, 1], as scipy

    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3.0

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.triangular(self.low, self.mode, self.high, n)


@dataclass(frozen=True)
class PERT:
    """Beta-PERT(low, mode, high) with shape 4: smoother tails than triangular, same three points."""

    low: float
    mode: float
    high: float

    def _alpha_beta(self) -> tuple[float, float]:
        width = self.high - self.low
        alpha = 1.0 + 4.0 * (self.mode - self.low) / width
        beta = 1.0 + 4.0 * (self.high - self.mode) / width
        return alpha, beta

    def cdf(self, x):
        from scipy.special import betainc  # the regularised incomplete beta function: the beta CDF

        u = np.clip((np.asarray(x, dtype=float) - self.low) / (self.high - self.low), 0.0, 1.0)
        return betainc(*self._alpha_beta(), u)

    def ppf(self, q):
        from scipy.special import betaincinv

        return self.low + (self.high - self.low) * betaincinv(*self._alpha_beta(), np.asarray(q, dtype=float))

    def mean(self) -> float:
        return (self.low + 4.0 * self.mode + self.high) / 6.0

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a, b = self._alpha_beta()
        return self.low + (self.high - self.low) * rng.beta(a, b, n)


@dataclass(frozen=True)
class LogNormal:
    """Lognormal given its median (p50 > 0) and 90th percentile (p90 > p50); unbounded above."""

    p50: float
    p90: float

    def sigma(self) -> float:
        return math.log(self.p90 / self.p50) / Z90

    def mean(self) -> float:
        return self.p50 * math.exp(self.sigma() ** 2 / 2.0)

    def support(self) -> tuple[float, float]:
        return (0.0, math.inf)

    def cdf(self, x):
        from scipy.special import ndtr  # the standard normal CDF

        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.isnan(x), np.nan,
                            np.where(x > 0, ndtr(np.log(np.where(x > 0, x, 1.0) / self.p50) / self.sigma()), 0.0))

    def ppf(self, q):
        from scipy.special import ndtri

        return self.p50 * np.exp(self.sigma() * ndtri(np.asarray(q, dtype=float)))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(math.log(self.p50), self.sigma(), n)


Distribution = Fixed | Triangular | PERT | LogNormal


MAX_SUPPORT = 100_000  # iterations an uncapped distribution is followed to (more pile onto the last one)


def rounded_pmf(dist: Distribution, cap: int | None = None, tail: float = 1e-9,
                max_support: int = MAX_SUPPORT) -> np.ndarray:
    """P(K = k) for k = 0..kmax where K = max(0, round(X)), X ~ dist; mass above `cap` piles onto `cap`.

    Without a cap the support is cut where the upper tail is below `tail`, and at `max_support` at
    most: the mass beyond piles onto `max_support` (see `mass_beyond`).
    """
    top = cap if cap is not None else max_support
    if isinstance(dist, Fixed):
        k = min(max(0, round(dist.value)), top)
        pmf = np.zeros(k + 1)
        pmf[k] = 1.0
        return pmf
    if cap is None:
        with np.errstate(over="ignore", invalid="ignore"):  # a huge distribution: q is inf, handled below
            q = float(dist.ppf(1.0 - tail))
        top = math.ceil(q) + 1 if q < max_support else max_support  # also when q is inf or nan
    edges = np.arange(top + 1) + 0.5  # k rounds to k when X < k + 0.5
    cdf = np.asarray(dist.cdf(edges), dtype=float)
    pmf = np.diff(np.concatenate(([0.0], cdf)))
    pmf[-1] += 1.0 - cdf[-1]  # the tail beyond the last edge (all of it, when capped)
    return pmf


def mass_beyond(dist: Distribution, k: int = MAX_SUPPORT) -> float:
    """P(round(X) > k): the share of tasks an uncapped pmf counts at `k` iterations instead of more."""
    if isinstance(dist, Fixed):
        return 1.0 if round(dist.value) > k else 0.0
    return float(1.0 - dist.cdf(k + 0.5))
