"""Where a report's figures come from: when it was made, on data up to when, with which tool, price data, inputs
and parameters; shown as the HTML report's footer and as the workbook's Provenance sheet."""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path

from ..core.version import __version__

SAMPLE_GENERATOR = "forecast.sample"


def price_data() -> str:
    """The genai-prices data in use (the packaged release, or a copy `forecast prices --refresh` fetched) and the
    last date its dated price rows name (a scheduled change may lie ahead), e.g. 'genai-prices 0.2.3 (dated price
    rows to 2027-01-01)'."""
    from ..design import price_data as data

    dates = [price.constraint.start_date for provider in data.snapshot().providers for model in provider.models
             for price in (model.prices if isinstance(model.prices, list) else [model.prices])
             if getattr(getattr(price, "constraint", None), "start_date", None)]
    return data.label() + (f" (dated price rows to {max(dates)})" if dates else "")


def data_as_of(inputs: list[Path], parameters: dict, generated: datetime) -> str:
    """The latest moment the report's data covers: a warehouse's last request and charge, the packaged sample's
    last day, or (design-time reports) the price date."""
    for path in inputs:
        if path.suffix == ".duckdb":
            return _warehouse_as_of(path)
        if path.name == "MANIFEST.json":
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if doc.get("generator") == SAMPLE_GENERATOR:
                return f"the packaged sample company, {doc['first_day']} to {doc['end_day']} (exclusive)"
    on = parameters.get("price_date") or _case_price_date(parameters.get("case")) or f"{generated:%Y-%m-%d}"
    return f"prices as of {on} (a design-time report: no usage data)"


def _case_price_date(case: str | None) -> str | None:
    """A business case's own price date (the ROI report prices its API calls at it), when the case reads."""
    if not case:
        return None
    from ..core.errors import ForecastError
    from ..finance.report import load_case

    try:
        return str(load_case(case).price_date)
    except (ForecastError, OSError):
        return None


def _warehouse_as_of(path: Path) -> str:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return f"{path.name}: not readable ({str(exc).splitlines()[0]})"
    try:
        con.execute("SET TimeZone = 'UTC'")
        last_request = con.execute('SELECT max("timestamp") FROM requests').fetchall()[0][0]
        last_charge = con.execute("SELECT max(ChargePeriodEnd) FROM charges").fetchall()[0][0]
    except duckdb.Error:
        return f"{path.name}: no usage tables"
    finally:
        con.close()
    parts = [f"last request {last_request:%Y-%m-%d %H:%M} UTC" if last_request else "no requests",
             f"invoices to {last_charge:%Y-%m-%d %H:%M} UTC" if last_charge else "no invoice rows"]
    return ", ".join(parts)


def provenance(kind: str, name: str, parameters: dict, input_hashes: dict[str, str], notebook_sha256: str,
               generated: datetime, as_of: str) -> dict[str, str]:
    """The provenance of one report run, as label -> text."""
    facts = {"Report": f"{kind} / {name}", "Generated at": f"{generated:%Y-%m-%d %H:%M:%S} UTC",
             "Data as of": as_of, "Tool": f"forecast {__version__}", "Price data": price_data(),
             "Notebook SHA-256": notebook_sha256}
    for i, (path, digest) in enumerate(input_hashes.items(), start=1):
        facts[f"Input {i}"] = f"{path} (SHA-256 {digest})"
    for key, value in parameters.items():
        facts[f"Parameter {key}"] = "" if value == "" else str(value)
    return facts


def footer_html(facts: dict[str, str]) -> str:
    """The provenance as an HTML footer, every value escaped.

    >>> "&lt;b&gt;" in footer_html({"Report": "<b>"})
    True
    """
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts.items())
    return ('<footer class="forecast-provenance" style="margin:2em 1em;font-size:85%;color:#444;'
            'font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif">'
            '<h2>Provenance</h2><table style="text-align:left">' + rows + "</table></footer>")


def add_footer(page: Path, facts: dict[str, str]) -> None:
    """Insert the provenance footer at the end of an HTML page's body."""
    text = page.read_text(encoding="utf-8")
    cut = text.rfind("</body>")
    cut = len(text) if cut < 0 else cut
    page.write_text(text[:cut] + footer_html(facts) + text[cut:], encoding="utf-8")
