"""Small DuckDB temp tables from Python columns, bound as typed list parameters.

pyarrow's conversion of Python lists imports pandas (about 0.25 s), which a load that needs no pandas
should not pay; DuckDB binds Python lists itself.
"""

from __future__ import annotations

import duckdb

from .checks import q


def create_temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, tuple[str, list]]) -> None:
    """Create (or replace) temp table `name` from {column: (DuckDB type, values)}, the value lists of one length.

    >>> con = duckdb.connect()
    >>> create_temp_table(con, "t", {"model": ("VARCHAR", ["a", None]), "usd": ("DOUBLE", [1.5, 2.0])})
    >>> con.execute("SELECT * FROM t ORDER BY usd").fetchall()
    [('a', 1.5), (None, 2.0)]
    """
    lengths = {len(values) for _, values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{name}: columns of different lengths {sorted(lengths)}")
    picked = ", ".join(f"unnest(?::{typ}[]) AS {q(col)}" for col, (typ, _) in columns.items())
    if lengths == {0}:  # unnest of empty lists gives no row, but the columns must still exist
        picked = ", ".join(f"NULL::{typ} AS {q(col)}" for col, (typ, _) in columns.items())
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS SELECT {picked} LIMIT 0")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS SELECT {picked}",
                [values for _, values in columns.values()])
