"""Budgets, guardrails and anomalies over the usage warehouse: envelopes with threshold alerts,
month-end projections with breach probability and date, and detectors for spikes, step changes
and runaway loops."""
