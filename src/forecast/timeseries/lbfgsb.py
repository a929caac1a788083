"""scipy's L-BFGS-B, its compiled routine driven by a plain loop: the iterates fmin_l_bfgs_b gives, without the
objects scipy wraps around every call.

fmin_l_bfgs_b runs `_lbfgsb.setulb` (scipy's C routine, since scipy 1.15) in a loop, handing each point it asks
for to the objective through ScalarFunction and MemoizeJac, about 25 us a call; an ETS likelihood with its
gradient costs about 40 us. `minimise` is that loop with the same settings, so the routine sees the same values
and returns the same point: the ETS fits of M1's 617 series took 5.92 s with it and 8.03 s with fmin_l_bfgs_b in
the same run (benchmarks/bench_ets_fit.py), their parameters identical to statsmodels' either way. The routine
is private to scipy, so the first call checks the loop against fmin_l_bfgs_b on a small problem and, if the
routine is missing, takes other arguments or answers differently, every call goes to fmin_l_bfgs_b instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from scipy.optimize import fmin_l_bfgs_b

CORRECTIONS, FACTR, PGTOL, MAXFUN, MAXLS = 10, 1e7, 1e-5, 15000, 20  # fmin_l_bfgs_b's defaults
NEW_X, FG = 1, 3  # setulb's task codes: a new iterate; evaluate f and g at x
_KINDS = {(False, False): 0, (True, False): 1, (True, True): 2, (False, True): 3}  # bounded below, above -> nbd


def _driven(fg: Callable, x0: np.ndarray, bounds: Sequence[tuple], maxiter: int, maxfun: int) -> np.ndarray:
    """scipy's _minimize_lbfgsb loop around setulb, with fmin_l_bfgs_b's settings."""
    from scipy.optimize import _lbfgsb

    eps = np.finfo(float).eps
    factr = FACTR * eps / eps  # fmin_l_bfgs_b passes ftol = factr * eps, which the loop divides by eps again
    lower = np.array([-np.inf if lo is None else lo for lo, _ in bounds], dtype=float)
    upper = np.array([np.inf if hi is None else hi for _, hi in bounds], dtype=float)
    n, m = len(x0), CORRECTIONS
    nbd = np.array([_KINDS[np.isfinite(lo), np.isfinite(hi)] for lo, hi in zip(lower, upper, strict=True)],
                   dtype=np.int32)
    low, up = np.where(np.isfinite(lower), lower, 0.0), np.where(np.isfinite(upper), upper, 0.0)
    x = np.array(np.clip(np.asarray(x0, dtype=float).ravel(), lower, upper), dtype=np.float64)
    f, g = np.array(0.0, dtype=np.float64), np.zeros(n, dtype=np.float64)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, dtype=np.float64)
    iwa, task, ln_task = np.zeros(3 * n, dtype=np.int32), np.zeros(2, dtype=np.int32), np.zeros(2, dtype=np.int32)
    lsave, isave, dsave = np.zeros(4, dtype=np.int32), np.zeros(44, dtype=np.int32), np.zeros(29, dtype=np.float64)
    iterations = evaluations = 0
    while True:
        g = g.astype(np.float64)
        _lbfgsb.setulb(m, x, low, up, nbd, f, g, factr, PGTOL, wa, iwa, task, lsave, isave, dsave, MAXLS, ln_task)
        if task[0] == FG:
            f, g = fg(x.copy())
            g = np.atleast_1d(g)
            evaluations += 1
        elif task[0] == NEW_X:
            iterations += 1
            if iterations >= maxiter:
                task[0], task[1] = 5, 504
            elif evaluations > maxfun:
                task[0], task[1] = 5, 502
        else:
            return x


def _probe(p: np.ndarray) -> tuple[float, np.ndarray]:
    centre = np.array([0.3, 2.0, -1.5])
    return float(np.sum((p - centre) ** 2 * np.array([1.0, 10.0, 0.5]))), 2 * (p - centre) * np.array([1.0, 10.0, 0.5])


@cache
def driver_works() -> bool:
    """True when the loop gives fmin_l_bfgs_b's point on a small bounded problem (scipy's routine is there and
    takes these arguments); checked once per process."""
    x0, bounds = np.array([0.9, 0.1, 0.0]), [(1e-4, 0.9999), (0.0, 1.0), (None, None)]
    try:
        ours = _driven(_probe, x0, bounds, 1000, MAXFUN)
    except (ImportError, AttributeError, TypeError, ValueError):
        return False
    return bool(np.array_equal(ours, fmin_l_bfgs_b(_probe, x0, bounds=bounds, maxiter=1000)[0]))


def minimise(fg: Callable, x0: np.ndarray, bounds: Sequence[tuple], maxiter: int, maxfun: int = MAXFUN) -> np.ndarray:
    """The point `fmin_l_bfgs_b(fg, x0, bounds=bounds, maxiter=maxiter, maxfun=maxfun)[0]` returns (fg returns the
    objective and its gradient; maxfun limits the calls of fg), by the loop here where driver_works, else by
    fmin_l_bfgs_b itself.

    >>> point = minimise(lambda p: (float((p[0] - 2) ** 2), 2 * (p - 2)), np.array([0.0]), [(None, 1.5)], 100)
    >>> point.tolist()  # the minimum at 2 is outside the bound
    [1.5]
    """
    if driver_works():
        return _driven(fg, x0, bounds, maxiter, maxfun)
    return fmin_l_bfgs_b(fg, x0, bounds=bounds, maxiter=maxiter, maxfun=maxfun)[0]
