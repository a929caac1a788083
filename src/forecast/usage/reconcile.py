"""The request logs against the invoice: per month and provider, logged cost vs FOCUS billed cost, with
discounts, credits, adjustments and tax shown apart and the gap nobody explains flagged.

    billed_usd = list_usd - discount_usd + credits_usd + adjustments_usd + tax_usd + other_usd   (exactly)
    unexplained_usd = list_usd - logged_usd

list_usd is the usage the invoice bills, at list price (FOCUS ListCost of ChargeCategory Usage; BilledCost
where a row has no ListCost). The logs price usage at list too (or carry the provider's own list-price cost),
so what they miss, or count twice, is the unexplained gap. discount_usd is ListCost - BilledCost of the
usage rows (negotiated or commitment discounts); credits are ChargeCategory Credit, adjustments ChargeCategory
Adjustment or ChargeClass Correction (a correction of an earlier period), tax ChargeCategory Tax, other the
rest (Purchase). Charges count in the month of their ChargePeriodStart.

Rows that ingest quarantined (a malformed log line) are billed but not logged: each month and provider shows
how many of its request-log rows wait in quarantine and the cost they carry where they carry one
(quarantined_rows, quarantined_usd), often the first explanation of a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..core.errors import ParameterError
from ..core.formatting import money
from ..core.months import month_start, parse_month
from ..core.results import html_table
from .checks import lit
from .focus import PROVIDER_NAMES
from .schema import CHARGE_KINDS
from .warehouse import Warehouse

GAP_THRESHOLD = 0.02  # an unexplained gap above 2% of the logged cost is flagged
AMOUNTS = ("logged_usd", "list_usd", "discount_usd", "credits_usd", "adjustments_usd", "tax_usd", "other_usd",
           "billed_usd", "effective_usd", "unexplained_usd")


# how cloud FOCUS exports name themselves: Microsoft Cost Management writes "Microsoft", AWS Data Exports "AWS"
CLOUD_NAMES = {"microsoft": "azure", "amazon": "aws", "amazon web services, inc.": "aws", "google cloud": "google"}


def _provider_sql(column: str) -> str:
    """A FOCUS provider name as the request logs spell the provider ('OpenAI' -> 'openai', 'Microsoft' -> 'azure').

    >>> import duckdb
    >>> duckdb.sql(f"SELECT {_provider_sql('p')} FROM (VALUES ('OpenAI'), ('Microsoft'), ('AWS')) t(p)").fetchall()
    [('openai',), ('azure',), ('aws',)]
    """
    names = {name.lower(): key for key, name in PROVIDER_NAMES.items()} | CLOUD_NAMES
    cases = " ".join(f"WHEN {lit(name)} THEN {lit(key)}" for name, key in names.items())
    return f"CASE lower({column}) {cases} ELSE lower({column}) END"


def _quarantine_note(r) -> str:
    if not r.quarantined_rows:
        return "; no log row of it is in quarantine"
    carried = f", {money(r.quarantined_usd)} where they carry a cost" if r.quarantined_usd else ""
    return f"; {r.quarantined_rows:,} log row(s) of it wait in quarantine{carried}"


@dataclass(frozen=True)
class Reconciliation:
    """One row per month and provider with the logged and billed amounts (USD) and the unexplained gap."""

    threshold: float
    frame: object  # DataFrame: month, provider, requests, charges, AMOUNTS..., unexplained_pct,
    #                quarantined_rows, quarantined_usd, flagged

    @property
    def flagged(self):
        """The rows whose unexplained gap exceeds the threshold (in either direction)."""
        return self.frame[self.frame["flagged"]]

    def lines(self) -> list[str]:
        """One line per flagged gap: month, provider, USD and share of the logged cost."""
        return [f"{r.month:%Y-%m} {r.provider}: the invoice bills {money(r.list_usd)} of usage at list price, the "
                f"logs show {money(r.logged_usd)}: {money(r.unexplained_usd, sign=True)} unexplained "
                f"({'no logged cost' if r.unexplained_pct != r.unexplained_pct else f'{r.unexplained_pct:+.1%}'}, "
                f"above {self.threshold:.1%})" + _quarantine_note(r) for r in self.flagged.itertuples()]

    def to_frame(self):
        return self.frame.copy()

    def to_dict(self) -> dict:
        """{"threshold", "rows": [...]} with months as YYYY-MM, NaN as null: what `forecast reconcile
        --format json` prints."""
        from ..core.formatting import json_safe

        rows = self.frame.assign(month=self.frame["month"].map(lambda d: f"{d:%Y-%m}"))
        return {"threshold": self.threshold, "rows": json_safe(rows.to_dict("records")), "flagged": self.lines()}

    def _repr_html_(self) -> str:
        return html_table(f"Logs against the invoice (gaps above {self.threshold:.1%} flagged)",
                          self.to_dict()["rows"], self.lines())


def _check_in_data(wh: Warehouse, month: date) -> None:
    """A month with neither request logs nor invoice rows is an error naming the months the warehouse holds."""
    first, last = wh.sql("""SELECT min(m), max(m) FROM (
        SELECT CAST(date_trunc('month', "timestamp") AS DATE) AS m FROM requests
        UNION ALL SELECT CAST(date_trunc('month', ChargePeriodStart) AS DATE) FROM charges)""").fetchone()
    if first is None:
        raise ParameterError("month", f"{month:%Y-%m}", "outside the data: the warehouse holds no request logs or "
                             "invoice rows; load them with forecast ingest first")
    if not first <= month <= last:
        raise ParameterError("month", f"{month:%Y-%m}", f"outside the data: the warehouse holds {first:%Y-%m} to "
                             f"{last:%Y-%m}; give a month in that range or load that month's usage first")


def reconcile(wh: Warehouse, month: date | str | None = None, threshold: float = GAP_THRESHOLD) -> Reconciliation:
    """Per month and provider: the request logs' cost against the FOCUS invoice (USD); `month` a date or YYYY-MM
    (default: every month with logs or charges); a gap above `threshold` (a share of the logged cost) is flagged.

    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> from forecast.usage.focus import focus_table
    >>> import pyarrow.csv as pacsv
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "calls.csv").write_text("timestamp,request_id,provider,model,input_tokens,output_tokens,"
    ...     "cost_usd\\n2026-10-05T09:00:00Z,a,openai,gpt-4o-mini,1000,500,100\\n")
    >>> pacsv.write_csv(focus_table([{"provider": "openai", "model": "gpt-4o-mini", "day": date(2026, 10, 5),
    ...                               "cost_usd": 103, "tokens": 1500, "category": "Usage", "tags": {}}]),
    ...                 folder / "invoice.csv")
    >>> with Warehouse(folder / "w.duckdb") as wh:
    ...     _ = wh.load(folder / "calls.csv"), wh.load(folder / "invoice.csv")
    ...     gap = reconcile(wh, "2026-10")
    >>> row = gap.frame.iloc[0]
    >>> row.provider, float(row.logged_usd), float(row.billed_usd), float(row.unexplained_usd), bool(row.flagged)
    ('openai', 100.0, 103.0, 3.0, True)
    >>> print(gap.lines()[0].split(": ", 2)[2])  # 3% of the logged $100, above 2%
    +$3.00 unexplained (+3.0%, above 2.0%); no log row of it is in quarantine
    >>> shutil.rmtree(folder)
    """
    if not 0 < threshold < 1:
        raise ParameterError("threshold", threshold, "must be a share between 0 and 1 (0.02 = 2% of the logged cost)")
    month = parse_month(month) if isinstance(month, str) else month
    if month is not None:
        _check_in_data(wh, month_start(month))
    month_filter = f"= DATE {lit(month_start(month).isoformat())}" if month else "IS NOT NULL"
    provider = _provider_sql("coalesce(ServiceProviderName, ProviderName, '')")
    category = "CASE WHEN ChargeClass = 'Correction' THEN 'Adjustment' ELSE ChargeCategory END"
    frame = wh.sql(f"""
        WITH logs AS (
            SELECT CAST(date_trunc('month', "timestamp") AS DATE) AS month, lower(coalesce(provider, '')) AS provider,
                   CAST(sum(cost_usd) AS DOUBLE) AS logged_usd, sum(request_count) AS requests
            FROM requests GROUP BY ALL),
        charged AS (
            SELECT CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS month, {provider} AS provider,
                   {category} AS category, BilledCost, EffectiveCost, coalesce(ListCost, BilledCost) AS list_cost
            FROM charges),
        bills AS (
            SELECT month, provider, count(*) AS charges,
                   CAST(sum(list_cost) FILTER (WHERE category = 'Usage') AS DOUBLE) AS list_usd,
                   CAST(sum(list_cost - BilledCost) FILTER (WHERE category = 'Usage') AS DOUBLE) AS discount_usd,
                   CAST(sum(BilledCost) FILTER (WHERE category = 'Credit') AS DOUBLE) AS credits_usd,
                   CAST(sum(BilledCost) FILTER (WHERE category = 'Adjustment') AS DOUBLE) AS adjustments_usd,
                   CAST(sum(BilledCost) FILTER (WHERE category = 'Tax') AS DOUBLE) AS tax_usd,
                   CAST(sum(BilledCost) FILTER (WHERE category NOT IN ('Usage', 'Credit', 'Adjustment', 'Tax'))
                        AS DOUBLE) AS other_usd,
                   CAST(sum(BilledCost) AS DOUBLE) AS billed_usd, CAST(sum(EffectiveCost) AS DOUBLE) AS effective_usd
            FROM charged GROUP BY ALL),
        held AS (
            SELECT CAST(date_trunc('month', try_cast(json_extract_string(raw, '$.timestamp') AS TIMESTAMPTZ))
                        AS DATE) AS month,
                   lower(coalesce(json_extract_string(raw, '$.provider'), '')) AS provider,
                   count(*) AS quarantined_rows,
                   sum(try_cast(json_extract_string(raw, '$.cost_usd') AS DOUBLE)) AS quarantined_usd
            FROM quarantine WHERE kind NOT IN ({", ".join(lit(k) for k in CHARGE_KINDS)})
                AND resolved_by_load IS NULL GROUP BY ALL)
        SELECT month, provider, CAST(coalesce(requests, 0) AS BIGINT) AS requests,
               CAST(coalesce(charges, 0) AS BIGINT) AS charges,
               {", ".join(f"coalesce({a}, 0) AS {a}" for a in AMOUNTS[:-2])}, effective_usd,
               coalesce(list_usd, 0) - coalesce(logged_usd, 0) AS unexplained_usd,
               CAST(coalesce(quarantined_rows, 0) AS BIGINT) AS quarantined_rows,
               coalesce(quarantined_usd, 0) AS quarantined_usd
        FROM logs FULL OUTER JOIN bills USING (month, provider) LEFT JOIN held USING (month, provider)
        WHERE month {month_filter} ORDER BY month, provider""").df()
    frame["month"] = frame["month"].map(lambda d: d.date() if hasattr(d, "date") else d)
    frame["unexplained_pct"] = frame["unexplained_usd"] / frame["logged_usd"].where(frame["logged_usd"] != 0)
    invoiced = frame["charges"] > 0
    frame["flagged"] = invoiced & ((frame["unexplained_pct"].abs() > threshold)
                                   | (frame["unexplained_pct"].isna() & (frame["unexplained_usd"].abs() > 0.005)))
    return Reconciliation(threshold, frame)
