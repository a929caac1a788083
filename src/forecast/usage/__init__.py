"""Usage data: request logs, OpenTelemetry GenAI spans and FOCUS billing in an embedded DuckDB warehouse."""

from .warehouse import DEFAULT_WAREHOUSE, LoadResult, Warehouse

__all__ = ["DEFAULT_WAREHOUSE", "LoadResult", "Warehouse"]
