"""Usage data: request logs, OpenTelemetry GenAI spans and FOCUS billing in an embedded DuckDB warehouse."""
