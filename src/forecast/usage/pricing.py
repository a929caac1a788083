"""Price request rows that came without a cost, with `forecast.design.prices` at each row's UTC date.

Prices are looked up once per (provider, model, day, batch) and joined in SQL; a key with no
price becomes a quarantine reason, never $0.
"""

from __future__ import annotations

import duckdb

from ..core.errors import PriceError
from ..design.prices import PriceBook
from .checks import utc_day
from .temp_tables import create_temp_table

BANDS = "_price_bands"
MISSES = "_price_misses"
UNKNOWN = ("unknown model ", "unknown provider ")


KEY_TYPES = {"provider": "VARCHAR", "model": "VARCHAR", "day": "DATE", "batch": "BOOLEAN"}
BAND_TYPES = KEY_TYPES | {"above_input_tokens": "BIGINT", "upto_input_tokens": "BIGINT",
                          "input_usd_per_mtok": "DOUBLE", "cached_input_usd_per_mtok": "DOUBLE",
                          "cache_write_usd_per_mtok": "DOUBLE", "output_usd_per_mtok": "DOUBLE",
                          "usd_per_call": "DOUBLE"}
MISS_TYPES = KEY_TYPES | {"reason": "VARCHAR"}

Columns = dict[str, tuple[str, list]]  # column -> (DuckDB type, values), as temp_tables.create_temp_table takes


def price_tables(keys: list[tuple], book: PriceBook) -> tuple[Columns, Columns]:
    """Price bands (one row per band) and unpriceable keys with their reason, for (provider, model, day, batch) keys."""
    bands: dict[str, list] = {k: [] for k in BAND_TYPES}
    misses: dict[str, list] = {k: [] for k in MISS_TYPES}
    unknown: dict[tuple, str] = {}  # (provider, model, batch) -> its 'unknown model/provider' reason
    for provider, model, day, batch in keys:
        reason = unknown.get((provider, model, batch))
        if reason is None:
            try:
                prices = book.lookup(model, provider, day, batch)
            except PriceError as exc:
                reason = exc.problems[0]
                # PriceBook builds this reason from model and provider alone (no override row, unknown to
                # genai-prices), so it holds on every day: the slow lookup runs once per model, not per day
                if reason.startswith(UNKNOWN):
                    unknown[provider, model, batch] = reason
        if reason is not None:
            for k, v in zip(misses, (provider, model, day, batch, reason), strict=True):
                misses[k].append(v)
            continue
        edges = [b.above_input_tokens for b in prices.bands[1:]]
        for band, upto in zip(prices.bands, [*edges, None], strict=True):
            row = (provider, model, day, batch, band.above_input_tokens, upto, band.input_usd_per_mtok,
                   band.cached_input_usd_per_mtok, band.cache_write_usd_per_mtok, band.output_usd_per_mtok,
                   prices.usd_per_call)
            for k, v in zip(bands, row, strict=True):
                bands[k].append(v)
    return ({k: (BAND_TYPES[k], v) for k, v in bands.items()}, {k: (MISS_TYPES[k], v) for k, v in misses.items()})


def build_price_tables(con: duckdb.DuckDBPyConnection, keys_sql: str, book: PriceBook) -> int:
    """Create temp tables of price bands and of unpriceable keys for the (provider, model, day, batch) in keys_sql."""
    keys = con.execute(keys_sql).fetchall()
    bands, misses = price_tables(keys, book)
    create_temp_table(con, BANDS, bands)
    create_temp_table(con, MISSES, misses)
    return len(keys)


def cost_sql(row: str, band: str) -> str:
    """USD of a row (its request_count requests' totals) at a price band (prices per million tokens); input_tokens
    include cache reads and writes; a per-call fee is paid once per request."""
    uncached = f"({row}.input_tokens - {row}.cached_input_tokens - {row}.cache_write_tokens)"
    return (f"(({uncached} * {band}.input_usd_per_mtok + {row}.cached_input_tokens * {band}.cached_input_usd_per_mtok"
            f" + {row}.cache_write_tokens * {band}.cache_write_usd_per_mtok"
            f" + {row}.output_tokens * {band}.output_usd_per_mtok) / 1e6 + {band}.usd_per_call * {row}.request_count)")


def key_match(row: str, table: str) -> str:
    """Join condition on the price key: same provider, model, UTC day and batch flag."""
    day = utc_day(row + '."timestamp"')
    return (f"{table}.provider IS NOT DISTINCT FROM {row}.provider AND {table}.model = {row}.model"
            f" AND {table}.day = {day} AND {table}.batch = {row}.batch")


def band_join(row: str, band: str) -> str:
    """Join condition: same key, and the row's input tokens per request fall in the band (above < input <= upto)."""
    per_call = f"({row}.input_tokens / {row}.request_count)"
    return (f"{key_match(row, band)}"
            f" AND ({band}.above_input_tokens = 0 OR {per_call} > {band}.above_input_tokens)"
            f" AND ({band}.upto_input_tokens IS NULL OR {per_call} <= {band}.upto_input_tokens)")
