"""Forecasting over long frames (unique_id, ds, y): forecasters, backtests, selection, reconciliation, drivers."""
