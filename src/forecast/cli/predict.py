"""The `forecast predict` subcommand: a long frame (CSV or Parquet) in, forecasts with their chosen model
and backtest scores out. One-off spikes in each history are adjusted before fitting (`--no-adjust` keeps
the raw history) and listed. A progress bar runs on stderr when it is a terminal."""

from __future__ import annotations

from pathlib import Path

from ..core.csvsafe import safe_frame
from ..core.errors import ForecastError
from ..core.frequencies import FREQUENCIES
from .argtypes import number, whole
from .options import note
from .tables import table

COMMANDS = ("predict",)
_level = number(lambda v: 0 < v < 100, "must be a percentage between 0 and 100, e.g. 80")
_positive = whole(1, 10**9)


def add_parsers(sub) -> None:
    """Register `predict` on an argparse subparsers object."""
    p = sub.add_parser("predict", help="forecast every series of a long frame (unique_id, ds, y)",
                       description="Forecast every series of a long frame, choosing each series' model by backtest. "
                                   "One-off spikes (a period far above its neighbours, and above the same period a "
                                   "season ago and later, that falls back soon after) are adjusted to the robust "
                                   "local level before the models are backtested and fitted; with --out the summary "
                                   "lists each adjustment, and the output has adjusted_periods per series.")
    p.add_argument("series", metavar="SERIES", help="CSV or .parquet with columns unique_id, ds, y")
    p.add_argument("--horizon", metavar="PERIODS", type=_positive, required=True, help="periods to forecast")
    p.add_argument("--freq", choices=tuple(FREQUENCIES), default="MS", help="MS (month start, default), W or D")
    p.add_argument("--level", metavar="PERCENT", type=_level, nargs="+", default=[80.0, 95.0],
                   help="interval levels %% (default 80 95)")
    p.add_argument("--models", default="auto", help="'auto' or comma-separated names, e.g. ets,theta,arima")
    p.add_argument("--windows", metavar="N", type=_positive, default=3, help="backtest windows (default 3)")
    p.add_argument("--step", metavar="PERIODS", type=_positive, default=None,
                   help="periods between backtest cutoffs")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="write CSV or .parquet here (never overwritten); default stdout CSV")
    p.add_argument("--scheduler", default="local", help="local (processes here), serial, or tcp://HOST:PORT (Dask)")
    p.add_argument("--no-adjust", dest="adjust_spikes", action="store_false",
                   help="forecast the raw history: do not adjust one-off spikes (default: adjust and list them)")


def read_series(path: str):
    """A long frame from a CSV or Parquet file; a ForecastError when it is missing or unreadable."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise ForecastError(f"{path}: no such file")
    parquet = p.suffix.lower() in (".parquet", ".pq")
    try:
        return pd.read_parquet(p) if parquet else pd.read_csv(p, dtype={"unique_id": str})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ForecastError(f"{path}: cannot be read as {'Parquet' if parquet else 'CSV'}: "
                            f"{str(exc).splitlines()[0]}") from None


def summary(result, limit: int = 20) -> str:
    """A per-series table: model, backtest MASE / sMAPE / coverage, adjusted periods and flags; then the
    adjustments (series, period, actual -> adjusted, reason)."""
    import pandas as pd

    from ..timeseries.base import level_name

    sel = result.selection
    flag_cols = [c for c in ("short_history", "constant", "intermittent", "no_backtest") if c in sel]
    cov = [f"coverage-{level_name(lv)}" for lv in result.level]

    def num(x, fmt):
        return "n/a" if pd.isna(x) else format(x, fmt)

    adjusted = "adjusted_periods" in sel
    rows = [[str(r["unique_id"]), str(r["model"]), num(r.get("mase"), ".3f"), num(r.get("smape"), ".1f"),
             *[num(r.get(c), ".0%") for c in cov], *([str(r["adjusted_periods"])] if adjusted else []),
             ", ".join(f for f in flag_cols if r[f])]
            for _, r in sel.head(limit).iterrows()]
    out = table(["series", "model", "MASE", "sMAPE %", *[f"cover {c[9:]}%" for c in cov],
                 *(["adjusted"] if adjusted else []), "flags"], rows)
    if len(sel) > limit:
        out.append(f"... and {len(sel) - limit:,} more series")
    lines = result.adjustment_lines()
    if lines:
        out.append(f"{len(lines):,} one-off spike(s) adjusted before fitting (--no-adjust keeps them):")
        out += [f"  {line}" for line in lines[:limit]]
        if len(lines) > limit:
            out.append(f"  ... and {len(lines) - limit:,} more (result.adjustments in Python)")
    return "\n".join(out) + "\n"


def _note_adjustments(lines: list[str], limit: int = 5) -> None:
    """Say on stderr which periods were adjusted when stdout carries only the forecast CSV."""
    if lines:
        more = f"; ... and {len(lines) - limit:,} more (--out FILE lists them all)" if len(lines) > limit else ""
        note(f"{len(lines):,} one-off spike(s) adjusted before fitting (--no-adjust keeps them): "
             + "; ".join(lines[:limit]) + more)


def writable(frame, source: str):
    """`frame`, once every number in it is checked to be finite: an infinite score or bound is an error and
    nothing is written (NaN, "not scored", is written as an empty cell). CSV output then goes through
    core.csvsafe.safe_frame: text cells (unique_id, model) starting with =, +, -, @, tab or CR get a leading '."""
    import numpy as np

    numbers = frame.select_dtypes("number")
    infinite = np.isinf(numbers.to_numpy(float))
    if infinite.any():
        i, j = (int(k[0]) for k in np.nonzero(infinite))
        raise ForecastError(f"{source}: series {frame['unique_id'].iloc[i]!r}, ds {frame['ds'].iloc[i]:%Y-%m-%d}: "
                            f"{numbers.columns[j]} {numbers.iat[i, j]}: not a finite number: nothing was written")
    return frame


def run(args) -> tuple[str, int]:
    """Run `predict`; returns (text for stdout, exit status)."""
    from ..timeseries.auto import forecast_series

    df = read_series(args.series)
    if args.out and Path(args.out).exists():
        raise ForecastError(f"{args.out}: exists: forecasts are never overwritten; choose another --out")
    result = forecast_series(df, args.horizon, args.freq, tuple(args.level), args.models, args.windows, args.step,
                             args.scheduler, source=args.series, adjust_spikes=args.adjust_spikes)
    frame = writable(result.to_frame(), args.series)
    if not args.out:
        _note_adjustments(result.adjustment_lines())
        return safe_frame(frame).to_csv(index=False, date_format="%Y-%m-%d"), 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        safe_frame(frame).to_csv(out, index=False, date_format="%Y-%m-%d")
    head = (f"{len(result.selection):,} series, horizon {args.horizon} ({args.freq}), "
            f"{len(frame):,} rows written to {out}\n")
    return head + summary(result), 0
