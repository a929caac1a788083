"""The embedded DuckDB warehouse: one file, atomic and idempotent loads, a manifest per load."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from ..core.errors import ParameterError, UsageError
from ..core.results import html_table
from ..core.version import __version__
from ..core.workfolder import WAREHOUSE
from ..design.prices import PriceBook
from .checks import lit
from .schema import CHARGE_KINDS, DDL, EXPORT_KINDS, KINDS

DEFAULT_WAREHOUSE = Path(WAREHOUSE)
CLOCK_SKEW = timedelta(minutes=5)  # timestamps this far past the load start are still accepted
MEMORY_LIMIT_MB = 640  # DuckDB spills to <warehouse>.tmp beyond this: peak RSS stays near 1 GB at 10M rows
SCRATCH = "load_scratch"  # the load's scratch database, <warehouse>.load
# a request log past this size has its checked rows, every column in file order, stored compressed in the
# scratch database, not in a temp table that would spill (native CSV, 2 cores, one run each on 2026-12-02:
# 620 MB loads in 15.4 s from a temp table, 17.7 s from the scratch; 1.0 GB in 30.2 s against 25.1 s; 2.0 GB in
# 54 s against 41 s). FOCUS keeps only a few columns in file order, in a temp table (10M rows, one run each:
# 148 s that way, 158 s through the scratch)
SCRATCH_ABOVE_BYTES = MEMORY_LIMIT_MB * 10**6


@dataclass(frozen=True)
class LoadResult:
    """The accounting of one file load: rows_read = accepted + quarantined + duplicate."""

    load_id: int
    source_file: str
    kind: str
    rows_read: int
    accepted: int
    quarantined: int
    duplicate: int
    cost_usd_accepted: Decimal
    skipped_records: int = 0
    focus_version: str | None = None
    logged_unpriced: int = 0  # accepted rows that logged $0 for a model with no price (cost_source 'logged_unpriced')

    def to_dict(self) -> dict:
        """The load's accounting; cost_usd_accepted as a float of USD (stored exact as DECIMAL)."""
        return {"load_id": self.load_id, "source_file": self.source_file, "kind": self.kind,
                "focus_version": self.focus_version, "rows_read": self.rows_read, "accepted": self.accepted,
                "quarantined": self.quarantined, "duplicate": self.duplicate,
                "cost_usd_accepted": float(self.cost_usd_accepted), "skipped_records": self.skipped_records,
                "logged_unpriced": self.logged_unpriced}

    def _repr_html_(self) -> str:
        return html_table(self.line(), [self.to_dict()])

    def line(self) -> str:
        version = f" {self.focus_version}" if self.focus_version else ""
        n = self.skipped_records
        what = ("non-model spans" if self.kind == "otel" else "record that is not a model call" if n == 1
                else "records that are not model calls")
        skipped = f", {self.skipped_records} {what} skipped" if self.skipped_records else ""
        n = self.logged_unpriced
        unpriced = f"; {n} row{'s' if n != 1 else ''} logged $0 for a model with no price" if n else ""
        return (f"{self.source_file} [{self.kind}{version}]: read {self.rows_read} = accepted {self.accepted}"
                f" + quarantined {self.quarantined} + duplicate {self.duplicate}; accepted cost"
                f" ${self.cost_usd_accepted:,.2f}{unpriced}{skipped}")


def _blank(path: Path) -> bool:
    """True for a file that is empty or holds only white space (read only when it is small)."""
    size = path.stat().st_size
    return size == 0 or (size < 1 << 16 and not path.read_bytes().strip())


def detect_kind(path: Path) -> str:
    """An export format (usage.exports) when the file's first MB holds its field names; else 'otel' for .json
    OTLP exports, 'focus' when the header has BilledCost, else 'native'."""
    from .exports import detect
    from .files import is_parquet

    name = path.name.lower()
    if not is_parquet(path) and (found := detect(path)):
        return found
    if name.endswith(".json") or name.endswith(".otlp.jsonl"):
        return "otel"
    from .focus import looks_like_focus

    return "focus" if looks_like_focus(path) else "native"


class Warehouse:
    """A DuckDB warehouse file: created with its tables when opened for writing; read_only=True opens an existing
    one and creates nothing. Use it as a context manager; `load` reads one file in one transaction.

    >>> import shutil, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "calls.csv").write_text("timestamp,request_id,model,input_tokens,output_tokens,cost_usd\\n"
    ...                                       "2026-10-01T09:00:00Z,a,gpt-4o-mini,1000,500,0.25\\n")
    >>> with Warehouse(folder / "w.duckdb") as wh:
    ...     wh.load(folder / "calls.csv").line().endswith("accepted cost $0.25")
    True
    >>> Warehouse(folder / "other.duckdb", read_only=True)
    Traceback (most recent call last):
    ...
    forecast.core.errors.UsageError: ...other.duckdb: no warehouse here: load data first with `forecast ingest`
    >>> shutil.rmtree(folder)
    """

    def __init__(self, path: str | Path = DEFAULT_WAREHOUSE, read_only: bool = False):
        self.path = Path(path)
        self._cleanup = None  # a finalizer that removes a temporary folder made for this warehouse
        if read_only and not self.path.exists():
            raise UsageError(f"{self.path}: no warehouse here: load data first with `forecast ingest`")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise UsageError(f"{self.path}: cannot open the warehouse ({str(exc).splitlines()[0]})") from None
        self.con.execute("SET enable_progress_bar = false")  # it writes to stdout, where summaries and exports go
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET preserve_insertion_order = false")  # rows carry their source line instead
        restore_settings(self.con)
        self._scratch = None  # the load's scratch database: a file beside a warehouse this process holds open to write
        if not read_only:
            self.con.execute(DDL)
            from .focus import migrate_row_hashes

            migrate_row_hashes(self.con)
            if str(path) != ":memory:":
                self._scratch = self.path.absolute().with_name(self.path.name + ".load")
                with suppress(UsageError):  # one a killed load left (the warehouse's lock: no other load uses it);
                    self._clear_scratch()  # one that cannot be removed is named by the load that needs the scratch

    def close(self) -> None:
        self.con.close()
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def quarantine_reasons(self, load_id: int, limit: int = 3) -> tuple[tuple[str, int, int], ...]:
        """The most frequent quarantine rules of one load: (rule with quoted values elided, rows, first line)."""
        return tuple(self.sql("SELECT regexp_replace(reason, '''[^'']*''', '…', 'g') AS rule, count(*), min(line) "
                              "FROM quarantine WHERE load_id = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?",
                              [load_id, limit]).fetchall())

    def _check(self, path: Path, source: str, kind: str, scan, timezone: str | None, now_sql: str,
               focus_version: str | None) -> tuple:
        """Read `path` (named `source` in reasons) and convert and check its rows into a temp table or view, or the
        scratch database: (its relation, a sources.Checked for FOCUS; records skipped as not model calls; FOCUS
        version)."""
        from .sources import check_file, check_staged

        if kind == "focus":
            from .focus import checked_select, version_of

            found = {}

            def select(staged, types, columns):
                found["version"] = version_of(columns, focus_version, source)
                return checked_select(staged, types, found["version"], timezone, now_sql, source)

            from .focus import KEYS

            return check_file(self.con, path, select, scan, keys=KEYS), 0, found["version"]
        from .requests import checked_select

        def select(staged, types, columns):
            return checked_select(staged, types, timezone, now_sql, source)

        if kind in EXPORT_KINDS:
            from .exports import stage_export
            from .exports.charges import AMOUNTS

            columns, skipped = stage_export(self.con, path, kind, "_staged")
            if kind in CHARGE_KINDS:
                from .focus import checked_select as charges_select
                from .sources import Checked

                def charge_select(staged, types, columns):  # a cost report's rows are FOCUS 1.0 charges
                    return charges_select(staged, types, "1.0", timezone, now_sql, source,
                                          identity=[n for n in columns if n not in AMOUNTS])

                table = check_staged(self.con, "_staged", columns, charge_select)
                return Checked(table, table), skipped, None
            return check_staged(self.con, "_staged", columns, select), skipped, None
        if kind == "otel":
            from .files import check_utf8
            from .otel import COLUMNS, stage_otel

            check_utf8(path)  # a file that is not UTF-8 is refused with its line before the JSON parser meets it
            skipped = stage_otel(self.con, path, "_staged")
            return check_staged(self.con, "_staged", list(COLUMNS), select), skipped, None
        return check_file(self.con, path, select, scan, store=self._attach_scratch(path)).relation, 0, None

    def _clear_scratch(self) -> None:
        """Remove the load's scratch database `<warehouse>.load` and its WAL, when there are any."""
        if self._scratch is None:
            return
        for f in (self._scratch, self._scratch.with_name(self._scratch.name + ".wal")):
            try:
                f.unlink(missing_ok=True)
            except OSError as exc:
                raise UsageError(f"{f}: cannot remove the load's scratch database ({exc.strerror})") from None

    def _attach_scratch(self, path: Path) -> str:
        """Where `path`'s checked rows go: the scratch database, attached here, for a request log over
        SCRATCH_ABOVE_BYTES, else "temp" (see sources.check_file)."""
        if self._scratch is None or path.stat().st_size <= SCRATCH_ABOVE_BYTES:
            return "temp"
        self._clear_scratch()
        try:
            self.con.execute(f"ATTACH {lit(str(self._scratch))} AS {SCRATCH}")
        except duckdb.Error as exc:
            raise UsageError(f"{self._scratch}: cannot open the load's scratch database "
                             f"({str(exc).splitlines()[0]})") from None
        return SCRATCH

    def sql(self, query: str, params: list | None = None):
        """Run a query and return a DuckDB relation/cursor result (for reports and tests)."""
        return self.con.execute(query, params or [])

    def load(self, path: str | Path, kind: str | None = None, timezone: str | None = None,
             book: PriceBook | None = None, focus_version: str | None = None,
             progress: Callable[[str], None] | None = None) -> LoadResult:
        """Load one file in one transaction; on any error the warehouse is left as it was."""
        from .files import duckdb_readable

        path = Path(path)
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        with duckdb_readable(path) as readable:
            try:
                return self._load(readable, str(path), kind, timezone, book, focus_version, progress)
            except UsageError as exc:  # name the file as the user did, not the link read in its place
                raise UsageError([p.replace(str(readable), str(path)) for p in exc.problems]) from None

    def _load(self, path: Path, source: str, kind: str | None, timezone: str | None, book: PriceBook | None,
              focus_version: str | None, progress: Callable[[str], None] | None) -> LoadResult:
        if not path.name.lower().endswith((".csv", ".parquet", ".pq")) and _blank(path):
            raise UsageError(f"{source}: empty file: nothing to load")
        if kind is None:
            kind = detect_kind(path)
        elif kind not in KINDS:
            raise UsageError(f"{source}: format {kind!r}: must be one of {', '.join(KINDS)}")
        elif kind in EXPORT_KINDS:  # a format named (--format) must carry its field names; a detected one does
            from .exports import check_format

            check_format(path, kind)
        if timezone:
            _check_timezone(self.con, timezone)
        progress = progress or (lambda _stage: None)
        from .files import is_parquet, scan_file

        # the file's SHA-256 and line count are taken in a thread while DuckDB reads it (hashing releases the GIL)
        pool = ThreadPoolExecutor(1)
        scanning = pool.submit(scan_file, path, not is_parquet(path))
        pool.shutdown(wait=False)
        started = datetime.now(UTC)
        now_sql = f"TIMESTAMPTZ {lit((started + CLOCK_SKEW).isoformat())}"
        con = self.con
        try:
            # read and checked outside the transaction (temp tables, the scratch database), so a reader that gives up
            # aborts nothing
            checked, skipped, version = self._check(path, source, kind, scanning.result, timezone, now_sql,
                                                    focus_version)
            sha = scanning.result().sha256
            progress("checked")
            con.execute("BEGIN TRANSACTION")
            try:
                load_id = con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchall()[0][0]
                common = dict(load_id=load_id, sha256=sha, source=source, progress=progress)
                unpriced = 0
                if kind in CHARGE_KINDS:
                    from .focus import load_focus

                    counts = load_focus(con, checked, path, kind=kind, **common)
                    cost_sql = f"SELECT coalesce(sum(BilledCost), 0) FROM charges WHERE load_id = {load_id}"
                else:
                    from .requests import load_checked_requests

                    lines_from = path if kind == "native" and not is_parquet(path) else None
                    counts = load_checked_requests(con, checked, kind=kind, book=book or PriceBook(),
                                                   lines_from=lines_from, **common)
                    unpriced = _flag_logged_unpriced(con, load_id, book or PriceBook())
                    cost_sql = f"SELECT coalesce(sum(cost_usd), 0) FROM requests WHERE load_id = {load_id}"
                cost = con.execute(cost_sql).fetchall()[0][0]
                result = LoadResult(load_id, source, kind, counts.rows_read, counts.accepted, counts.quarantined,
                                    counts.duplicate, Decimal(cost), skipped, version, unpriced)
                con.execute("INSERT INTO loads VALUES (?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?)",
                            [load_id, source, sha, kind, version, started, result.rows_read, result.accepted,
                             result.quarantined, result.duplicate, result.cost_usd_accepted, __version__, skipped])
                progress("committing")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            scanning.cancel() or wait([scanning])
            restore_settings(con)  # a FOCUS load changes them for its insert (focus.load_focus)
            for name, typ in con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                         "WHERE table_catalog = 'temp'").fetchall():
                con.execute(f"DROP {'VIEW' if typ == 'VIEW' else 'TABLE'} temp.{name}")
            con.execute(f"DETACH DATABASE IF EXISTS {SCRATCH}")
            with suppress(UsageError):  # a scratch left behind is removed by the next load; the load's own error stands
                self._clear_scratch()
        return result


def restore_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Put back the memory limit and optimizers the warehouse runs with."""
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT_MB}MB'")
    con.execute("RESET disabled_optimizers")


def _flag_logged_unpriced(con: duckdb.DuckDBPyConnection, load_id: int, book: PriceBook) -> int:
    """Mark this load's rows that logged a cost of exactly $0 for a model with no price on their UTC day
    (cost_source 'logged_unpriced' instead of 'log'): accepted as logged, never silently taken for a free call.
    Returns how many rows were marked."""
    from .checks import utc_day
    from .pricing import price_tables
    from .temp_tables import create_temp_table

    day = utc_day('"timestamp"')
    zero = f"load_id = {load_id} AND cost_source = 'log' AND cost_usd = 0"
    keys = con.execute(f"SELECT DISTINCT provider, model, {day}, false FROM requests WHERE {zero}").fetchall()
    if not keys:
        return 0
    _, misses = price_tables(keys, book)  # (provider, model, day) with no (non-batch) price, and the reason
    if not misses["model"][1]:
        return 0
    create_temp_table(con, "_unpriced", misses)
    return con.execute(f"""UPDATE requests SET cost_source = 'logged_unpriced' WHERE {zero}
        AND EXISTS (SELECT 1 FROM _unpriced m WHERE m.provider IS NOT DISTINCT FROM requests.provider
                    AND m.model = requests.model AND m.day = {utc_day('requests."timestamp"')})""").fetchall()[0][0]


def _check_timezone(con: duckdb.DuckDBPyConnection, timezone: str) -> None:
    try:
        con.execute(f"SELECT timezone({lit(timezone)}, TIMESTAMP '2000-01-01')").fetchall()
    except duckdb.Error:
        raise ParameterError("timezone", repr(timezone), "not a known IANA time zone (e.g. Europe/Berlin)") from None
