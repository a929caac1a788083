import math

import numpy as np
import pytest
from scipy import stats

from forecast.design.distributions import PERT, Fixed, LogNormal, Triangular, mass_beyond, rounded_pmf


def test_means_by_hand():
    assert Triangular(1, 2, 6).mean() == pytest.approx(3.0)  # (1 + 2 + 6) / 3
    assert PERT(0, 3, 12).mean() == pytest.approx(4.0)  # (0 + 4*3 + 12) / 6
    # lognormal: sigma = ln(3) / z(0.9); mean from scipy as an independent source
    sigma = math.log(3) / stats.norm.ppf(0.9)
    assert LogNormal(100, 300).mean() == pytest.approx(stats.lognorm(s=sigma, scale=100).mean())


@pytest.mark.parametrize("dist", [Triangular(1, 2, 6), PERT(0, 3, 12), LogNormal(100, 300)])
def test_samples_match_mean_and_quantiles(dist):
    x = dist.sample(np.random.default_rng(1), 400_000)
    assert x.mean() == pytest.approx(dist.mean(), rel=0.01)
    assert np.percentile(x, 90) == pytest.approx(float(dist.ppf(0.9)), rel=0.01)


def test_lognormal_p50_p90_are_what_was_given():
    d = LogNormal(350, 1200)
    assert float(d.ppf(0.5)) == pytest.approx(350)
    assert float(d.ppf(0.9)) == pytest.approx(1200)


def test_rounded_pmf_triangular_by_hand():
    # X ~ Triangular(0, 2, 4): F(x) = x^2/8 below 2, 1 - (4-x)^2/8 above. K = round(X), capped at 3.
    pmf = rounded_pmf(Triangular(0, 2, 4), cap=3)
    assert pmf == pytest.approx([0.03125, 0.25, 0.4375, 0.28125])
    uncapped = rounded_pmf(Triangular(0, 2, 4))
    assert uncapped[:4] == pytest.approx([0.03125, 0.25, 0.4375, 0.25])
    assert uncapped.sum() == pytest.approx(1.0)


def test_rounded_pmf_fixed_and_cap():
    assert list(rounded_pmf(Fixed(2.4))) == [0, 0, 1]
    assert list(rounded_pmf(Fixed(7), cap=3)) == [0, 0, 0, 1]


def test_rounded_pmf_matches_rounded_samples():
    d = PERT(1, 3, 12)
    k = np.clip(np.rint(d.sample(np.random.default_rng(0), 500_000)), 0, 8)
    empirical = np.bincount(k.astype(int), minlength=9) / k.size
    assert empirical == pytest.approx(rounded_pmf(d, cap=8), abs=0.003)


def test_uncapped_pmf_stops_at_max_support_and_says_how_much_it_cut():
    # 1e12 fixed iterations: no 8 TB array; every task is beyond 100,000 iterations
    pmf = rounded_pmf(Fixed(1e12))
    assert pmf.size == 100_001 and pmf[-1] == 1.0
    assert mass_beyond(Fixed(1e12)) == 1.0 and mass_beyond(Fixed(7)) == 0.0
    assert list(rounded_pmf(Fixed(1e12), cap=3)) == [0, 0, 0, 1]
    # a lognormal whose 1 - 1e-9 quantile overflows to infinity is cut at max_support as well
    wide = LogNormal(1e300, 1e302)
    assert rounded_pmf(wide, max_support=50).size == 51
    # Triangular(0, 0, 10): P(X >= 8.5) = (1.5 / 10)^2 = 0.0225, the mass beyond k = 8
    assert mass_beyond(Triangular(0, 0, 10), k=8) == pytest.approx(0.0225)


@pytest.mark.parametrize(("dist", "reference"), [
    (Triangular(1, 3, 9), stats.triang(c=0.25, loc=1, scale=8)),
    (Triangular(0, 0, 10), stats.triang(c=0.0, loc=0, scale=10)),  # the mode at either end
    (Triangular(0, 10, 10), stats.triang(c=1.0, loc=0, scale=10)),
    (PERT(1, 3, 9), stats.beta(1 + 4 * 2 / 8, 1 + 4 * 6 / 8, loc=1, scale=8)),
    (PERT(0, 0, 4), stats.beta(1, 5, loc=0, scale=4)),
    (LogNormal(3, 9), stats.lognorm(s=math.log(3) / stats.norm.ppf(0.9), scale=3)),
])
def test_cdf_and_ppf_match_scipy_stats(dist, reference):
    # scipy.stats is the independent reference: the closed forms and scipy.special must agree with it everywhere,
    # outside the support and at NaN too
    x = np.array([-1e9, -1.0, 0.0, 0.5, 1.0, 2.9, 3.0, 3.1, 8.9, 9.0, 10.0, 20.0, 1e12, np.nan])
    q = np.array([-0.1, 0.0, 1e-12, 0.1, 0.25, 0.5, 0.9, 1 - 1e-12, 1.0, 1.1, np.nan])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(dist.cdf(x), reference.cdf(x), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(dist.ppf(q), reference.ppf(q), rtol=1e-9, atol=1e-12)
