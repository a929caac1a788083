"""OTel GenAI spans and FOCUS billing in; FOCUS out (checked by the FinOps Foundation's validator)."""

import json
import os
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from forecast.cli.main import main
from forecast.usage.focus import export_focus
from forecast.usage.reconcile import reconcile
from forecast.usage.warehouse import Warehouse


def attr(key, value):
    return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}


def span(span_id, attrs, start_ns=1_790_000_000_000_000_000, ms=1500, code=1):
    return {"traceId": "ab" * 16, "spanId": span_id, "name": "s", "startTimeUnixNano": str(start_ns),
            "endTimeUnixNano": str(start_ns + ms * 1_000_000), "attributes": [attr(k, v) for k, v in attrs.items()],
            "status": {"code": code}}


def test_otel_genai_spans_map_to_requests(tmp_path, book):
    doc = {"resourceSpans": [{
        "resource": {"attributes": [attr("team_id", "growth"), attr("deployment.environment.name", "production")]},
        "scopeSpans": [{"spans": [
            span("0000000000000001", {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "lab",
                                      "gen_ai.request.model": "m-big", "gen_ai.usage.input_tokens": 1_000_000,
                                      "gen_ai.usage.cache_read.input_tokens": 200_000,
                                      "gen_ai.usage.output_tokens": 100_000, "app.workflow_name": "wf"}),
            span("0000000000000002", {"gen_ai.system": "lab", "gen_ai.response.model": "m-small",
                                      "gen_ai.usage.prompt_tokens": 1000, "gen_ai.usage.completion_tokens": 500},
                 code=2),
            span("0000000000000003", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}),
            span("0000000000000004", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m-small"}),
        ]}]}]}
    f = tmp_path / "spans.json"
    f.write_text(json.dumps(doc))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(f, book=book)
        rows = wh.sql("SELECT request_id, model, input_tokens, cached_input_tokens, output_tokens, cost_usd, status,"
                      " latency_ms, team_id, environment, workflow_name, \"timestamp\" FROM requests "
                      "ORDER BY request_id").fetchall()
        reason = wh.sql("SELECT reason FROM quarantine").fetchall()
    # span 3 is a tool span (skipped, not a row); span 4 has no token usage -> quarantined
    assert (r.rows_read, r.accepted, r.quarantined, r.skipped_records) == (3, 2, 1, 1)
    assert reason == [("input_tokens: missing: required",)]
    big, small = rows
    # m-big: 800k x $2 + 200k x $0.5 + 100k x $10 per million = 1.6 + 0.1 + 1.0
    assert big[1:6] == ("m-big", 1_000_000, 200_000, 100_000, Decimal("2.7"))
    assert big[6:11] == ("ok", 1500.0, "growth", "production", "wf")
    assert big[11] == datetime.fromtimestamp(1_790_000_000, UTC)
    assert small[1:7] == ("m-small", 1000, 0, 500, Decimal("0.002"), "error")  # 1000 x $1 + 500 x $2 per million


FOCUS_HEADER = ("BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
                "ChargeClass,ServiceName,ServiceCategory,ProviderName,SkuId,ConsumedQuantity,ConsumedUnit,Tags,x_Team\n")


def test_focus_import_checks_rows_and_dedupes_by_row_hash(tmp_path):
    f = tmp_path / "bill.csv"
    f.write_text(FOCUS_HEADER
                 + '10.50,10.00,12.00,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage,,OpenAI API,'
                   'AI and Machine Learning,OpenAI,gpt-4o,1000.0,Tokens,"{""team"": ""a""}",a\n'
                 + '-2.25,-2.25,-2.25,USD,2026-10-05T00:00:00Z,2026-10-06T00:00:00Z,Credit,,OpenAI API,'
                   'AI and Machine Learning,OpenAI,,,,{},\n'
                 + '1.00,1.00,1.00,EUR,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage,,X,Other,X,,,,,\n'
                 + '1.00,1.00,1.00,USD,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,Usage,,X,Other,X,,,,,\n'
                 + '1.00,1.00,1.00,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Refund,,X,Other,X,,,,,\n'
                 + '1.00,1.00,1.00,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage,,X,Other,X,,,,[1],\n'
                 + '10.50,10.00,12.00,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage,,OpenAI API,'
                   'AI and Machine Learning,OpenAI,gpt-4o,1000.0,Tokens,"{""team"": ""a""}",a\n')
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(f)
        again = wh.load(f)
        reasons = [x[0] for x in wh.sql("SELECT reason FROM quarantine ORDER BY line").fetchall()]
        extra = json.loads(wh.sql("SELECT extra FROM charges WHERE BilledCost > 0").fetchall()[0][0])
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate, r.focus_version) == (7, 2, 4, 1, "1.0")
    assert r.cost_usd_accepted == Decimal("8.25")  # 10.50 - 2.25
    assert (again.accepted, again.quarantined, again.duplicate) == (0, 0, 7)
    assert reasons == ["BillingCurrency: 'EUR': must be USD (no exchange rates are loaded)",
                       "ChargePeriodEnd: '2026-10-01T00:00:00Z': must be after ChargePeriodStart",
                       "ChargeCategory: 'Refund': must be one of Usage, Purchase, Tax, Credit, Adjustment",
                       "Tags: '[1]': must be a JSON object"]
    assert extra == {"x_Team": "a"}


def _charge(sku: str, team: str, cost: str = "1.00") -> str:
    return f'{cost},{cost},{cost},USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage,,S,Other,P,{sku},,,,{team}\n'


def test_focus_rows_whose_values_only_join_alike_are_charges_of_their_own(tmp_path):
    # each pair is two different rows whose SkuId and x_Team would read the same if joined with a separator or
    # with NULL spelled out: every row is a charge of its own; the repeated last line is a duplicate of line 2
    pairs = [('"a,b"', "c"), ("a", '"b,c"'), ('"[x"', ""), ("[x", "NULL"), ('"it\'s"', "q"), ('"it\\\'s"', "q"),
             ('"a"",""b"', "c"), ('"a"""', '""",b"')]
    f = tmp_path / "bill.csv"
    f.write_text(FOCUS_HEADER + "".join(_charge(sku, team) for sku, team in pairs) + _charge(*pairs[0]))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = wh.load(f)
        again = wh.load(f)
        lines = [r[0] for r in wh.sql("SELECT source_line FROM charges ORDER BY source_line").fetchall()]
        distinct = wh.sql("SELECT count(DISTINCT charge_key) FROM charges").fetchall()[0][0]
    assert (first.rows_read, first.accepted, first.quarantined, first.duplicate) == (9, 8, 0, 1)
    assert lines == list(range(2, 10)) and distinct == 8
    assert (again.accepted, again.duplicate) == (0, 9)


def test_a_charge_written_another_way_is_the_same_charge_in_another_file_and_on_a_later_line(tmp_path):
    # the same values as stored: 2.5 written 2.50, 1000 as 1000.0000, a time with +00:00 for Z, a padded SKU
    line = _charge("gpt-4o", "a", "2.50")
    other = (line.replace("2.50,", "2.5,").replace("2026-10-01T00:00:00Z", "2026-10-01T00:00:00+00:00")
             .replace(",gpt-4o,", ",  gpt-4o ,"))
    assert other != line
    (tmp_path / "a.csv").write_text(FOCUS_HEADER + line)
    (tmp_path / "b.csv").write_text(FOCUS_HEADER + other + _charge("gpt-4o", "b", "2.50") + line)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first, second = wh.load(tmp_path / "a.csv"), wh.load(tmp_path / "b.csv")
        assert wh.sql("SELECT source_line FROM charges WHERE load_id = 2").fetchall() == [(3,)]
    assert (first.accepted, second.accepted, second.duplicate) == (1, 1, 2)
    (tmp_path / "c.csv").write_text(FOCUS_HEADER + other + line)
    with Warehouse(tmp_path / "v.duckdb") as wh:  # in one file the first line of the two stays
        third = wh.load(tmp_path / "c.csv")
        assert wh.sql("SELECT source_line FROM charges").fetchall() == [(2,)]
    assert (third.accepted, third.duplicate) == (1, 1)


def test_charges_sharing_a_charge_key_by_chance_are_told_apart_by_their_values(tmp_path, monkeypatch):
    from forecast.usage import focus

    monkeypatch.setattr(focus, "charge_key", lambda columns, table="": "42::UBIGINT")  # every charge one key
    f = tmp_path / "bill.csv"
    f.write_text(FOCUS_HEADER + _charge("sku-0", "t") + _charge("sku-1", "t") + _charge("sku-0", "t", "1.10"))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = wh.load(f)
        again = wh.load(f)
        assert wh.sql("SELECT DISTINCT charge_key FROM charges").fetchall() == [(42,)]
    assert (first.accepted, first.duplicate) == (3, 0)
    assert (again.accepted, again.duplicate) == (0, 3)


def test_a_warehouse_that_told_charges_apart_by_row_hash_gets_charge_keys_and_still_finds_its_charges(tmp_path):
    import duckdb

    bill, report = tmp_path / "bill.csv", tmp_path / "costs.json"
    bill.write_text(FOCUS_HEADER + _charge("sku-0", "t") + _charge("sku-1", "t", "2.00"))
    bucket = {"object": "bucket", "start_time": 1764460800, "end_time": 1764547200, "results": [
        {"object": "organization.costs.result", "amount": {"value": 1.0, "currency": "usd"},
         "line_item": "gpt-4o, input", "project_id": "p"}]}
    report.write_text(json.dumps({"object": "page", "has_more": False, "next_page": None, "data": [bucket]}))
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.load(bill)
        wh.load(report)
    con = duckdb.connect(str(db))  # as warehouses were before charge keys: an MD5 per row, no charge_key
    con.execute("ALTER TABLE charges ADD COLUMN row_hash VARCHAR")
    con.execute("UPDATE charges SET row_hash = md5(CAST(source_line AS VARCHAR) || load_id)")
    con.execute("ALTER TABLE charges ALTER COLUMN row_hash SET NOT NULL")
    con.execute("ALTER TABLE charges DROP COLUMN charge_key")
    con.close()
    revised = report.read_text().replace('"value": 1.0', '"value": 1.25')
    (tmp_path / "revised.json").write_text(revised)
    with Warehouse(db) as wh:
        columns = {r[0] for r in wh.sql("DESCRIBE charges").fetchall()}
        assert "row_hash" not in columns and "charge_key" in columns
        again, bill_again = wh.load(tmp_path / "revised.json"), wh.load(bill)
        assert (again.accepted, again.duplicate) == (0, 1)  # a revised amount for the bucket: the same charge
        assert (bill_again.accepted, bill_again.duplicate) == (0, 2)
        assert wh.sql("SELECT count(*) FROM charges").fetchall()[0][0] == 3
    with Warehouse(db) as wh:  # opened again: nothing left to migrate
        assert wh.sql("SELECT count(*) FROM charges WHERE charge_key IS NULL").fetchall()[0][0] == 0


def test_a_focus_row_with_empty_fields_is_the_same_charge_whichever_reader_reads_it(tmp_path):
    # b.csv holds a quoted line break, so Python's csv module reads it instead of DuckDB's read_csv
    (tmp_path / "a.csv").write_text(FOCUS_HEADER + _charge("a", "t"))
    (tmp_path / "b.csv").write_text(FOCUS_HEADER + _charge("a", "t") + _charge('"two\nlines"', "t"))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first, second = wh.load(tmp_path / "a.csv"), wh.load(tmp_path / "b.csv")
        assert (first.accepted, second.accepted, second.duplicate) == (1, 1, 1)
        assert wh.sql("SELECT SkuId FROM charges WHERE load_id = 2").fetchall() == [("two\nlines",)]


def test_the_same_values_under_other_column_names_are_another_charge(tmp_path):
    # BilledCost and EffectiveCost swapped in the header: the same text on the line is a different charge
    swapped = FOCUS_HEADER.replace("BilledCost,EffectiveCost", "EffectiveCost,BilledCost")
    line = "5.00,3.00,5.00,USD,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,Usage,,S,Other,P,sku,,,,t\n"
    (tmp_path / "a.csv").write_text(FOCUS_HEADER + line)
    (tmp_path / "b.csv").write_text(swapped + line)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first, second = wh.load(tmp_path / "a.csv"), wh.load(tmp_path / "b.csv")
    assert (first.accepted, second.accepted, second.duplicate) == (1, 1, 0)
    assert (first.cost_usd_accepted, second.cost_usd_accepted) == (Decimal("5.00"), Decimal("3.00"))


def test_a_focus_file_changed_between_its_two_reads_is_refused_and_nothing_loads(tmp_path, monkeypatch):
    from forecast.core.errors import UsageError
    from forecast.usage import quarantine

    f = tmp_path / "bill.csv"
    f.write_text(FOCUS_HEADER + "".join(_charge(f"sku-{i}", "t") for i in range(3)))
    start = quarantine.start_line_texts

    def rewrite_then_start(*args):  # runs between the file-ordered read and the read that inserts
        f.write_text(FOCUS_HEADER + _charge("sku-0", "t") * 3)
        return start(*args)

    monkeypatch.setattr(quarantine, "start_line_texts", rewrite_then_start)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(UsageError, match="changed while it loaded"):
            wh.load(f)
        assert wh.sql("SELECT count(*) FROM charges").fetchall()[0][0] == 0
        assert wh.sql("SELECT count(*) FROM loads").fetchall()[0][0] == 0


def test_a_focus_file_gone_before_its_second_read_is_refused_in_one_line_and_the_next_load_works(tmp_path,
                                                                                                   monkeypatch):
    from forecast.core.errors import UsageError
    from forecast.usage import quarantine

    f, other = tmp_path / "bill.csv", tmp_path / "other.csv"
    f.write_text(FOCUS_HEADER + "".join(_charge(f"sku-{i}", "t") for i in range(3)))
    other.write_text(FOCUS_HEADER + _charge("sku-9", "t"))
    start = quarantine.start_line_texts

    def remove_then_start(*args):  # runs between the file-ordered read and the read that inserts
        if f.exists():
            f.unlink()
        return start(*args)

    monkeypatch.setattr(quarantine, "start_line_texts", remove_then_start)
    settings = "SELECT current_setting('disabled_optimizers'), current_setting('memory_limit')"
    with Warehouse(tmp_path / "w.duckdb") as wh:
        before = wh.sql(settings).fetchall()
        with pytest.raises(UsageError, match="could not read the file again"):
            wh.load(f)
        assert wh.sql("SELECT count(*) FROM charges").fetchall()[0][0] == 0
        assert wh.sql(settings).fetchall() == before  # the insert's own settings do not stay
        assert before[0][0] == ""
        assert wh.load(other).accepted == 1


def test_two_focus_rows_sharing_a_row_key_by_chance_stop_the_load_and_nothing_loads(tmp_path, monkeypatch):
    import re

    from forecast.core.errors import UsageError
    from forecast.usage import focus

    select = focus.checked_select

    def one_key(*args, **kwargs):  # every row gets the same 64-bit key, as two rows might by chance
        return re.sub(r"hash\([^)]*\) AS row_key", "42::UBIGINT AS row_key", select(*args, **kwargs))

    monkeypatch.setattr(focus, "checked_select", one_key)
    f = tmp_path / "bill.csv"
    f.write_text(FOCUS_HEADER + _charge("sku-0", "t") + _charge("sku-1", "t"))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(UsageError, match="changed while it loaded"):
            wh.load(f)
        assert wh.sql("SELECT count(*) FROM charges").fetchall()[0][0] == 0
        assert wh.sql("SELECT count(*) FROM loads").fetchall()[0][0] == 0
    monkeypatch.setattr(focus, "checked_select", select)
    with Warehouse(tmp_path / "w.duckdb") as wh:  # with keys that differ, both rows load
        assert (wh.load(f).accepted, wh.load(f).duplicate) == (2, 2)


@pytest.mark.parametrize("column, version", [("ServiceSubcategory", "1.1"), ("InvoiceId", "1.2"),
                                             ("ServiceProviderName", "1.3")])
def test_focus_version_is_detected_from_its_columns(tmp_path, column, version):
    f = tmp_path / "v.csv"
    f.write_text(FOCUS_HEADER.strip() + f",{column}\n" + "1.0,1.0,1.0,USD,2026-10-01T00:00:00Z,"
                 "2026-10-02T00:00:00Z,Usage,,S,Other,P,,,,,,v\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert wh.load(f).focus_version == version


def validate(path: Path, version: str) -> str:
    """Run focus-validator from its site-packages (it reads a data file by a relative path).

    `make test` installs it in .venv-focus and sets FORECAST_FOCUS_VALIDATOR; a bare pytest run skips."""
    named = os.environ.get("FORECAST_FOCUS_VALIDATOR")
    if not named:
        pytest.skip("focus-validator not configured: run `make test` (it installs it in .venv-focus)")
    exe = Path(named).absolute()
    assert exe.exists(), f"FORECAST_FOCUS_VALIDATOR={named} does not exist"
    site = subprocess.run([str(exe.parent / "python"), "-c", "import focus_validator, os; "
                           "print(os.path.dirname(os.path.dirname(focus_validator.__file__)))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    done = subprocess.run([str(exe), "--data-file", str(path.resolve()), "--validate-version", version],
                          capture_output=True, text=True, cwd=site, timeout=300)
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory):
    from forecast.usage.sample import write_sample

    tmp = tmp_path_factory.mktemp("sample")
    paths = write_sample(tmp / "data", rows=20_000, months=4, otel_spans=40)
    db = tmp / "w.duckdb"
    with Warehouse(db) as wh:
        for key in ("requests", "focus", "otel"):
            wh.load(paths[key])
    return db


def test_focus_export_passes_the_finops_validator_and_reconciles(sample_warehouse, tmp_path):
    out = tmp_path / "focus.csv"
    with Warehouse(sample_warehouse) as wh:
        rows, total = export_focus(wh.con, date(2026, 10, 1), out, "1.0")
        logged = wh.sql("SELECT sum(cost_usd) FROM requests WHERE \"timestamp\" >= '2026-10-01' "
                        "AND \"timestamp\" < '2026-11-01'").fetchall()[0][0]
    assert rows > 0 and total == logged  # DECIMAL, to the last digit
    report = validate(out, "1.0")
    assert "Validation succeeded." in report, report[-2000:]
    # the same file with ServiceCategory broken must fail: the check can fail
    broken = tmp_path / "broken.csv"
    broken.write_text(out.read_text().replace("AI and Machine Learning", "Generative AI", 1))
    assert "Validation succeeded." not in validate(broken, "1.0")
    # and what we export loads back as FOCUS with the same total
    with Warehouse(tmp_path / "back.duckdb") as wh:
        back = wh.load(out)
    assert (back.accepted, back.cost_usd_accepted) == (rows, total)


def test_reconcile_finds_the_planted_gap_and_shows_discounts_and_credits_apart(tmp_path, capsys):
    """The sample invoice (usage.sample.focus_rows) bills Anthropic 10% below list from 2026-01, OpenAI's October
    2026 usage 5% above what the logs show (PLANTED_GAP), a $1,500 Anthropic credit and a -$120 Google
    correction in October; the figures below follow from those constants and the generator's own true costs."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from forecast.usage.sample import (
        ANTHROPIC_DISCOUNT,
        CORRECTION,
        CREDIT,
        PLANTED_GAP,
        focus_rows,
        generate_requests,
        planted_gap_usd,
    )

    table, truth = generate_requests(5_000, 3, seed=4, corrupt_share=0.0)
    pq.write_table(table, tmp_path / "requests.parquet")
    pacsv.write_csv(focus_rows(truth), tmp_path / "invoice.csv")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "requests.parquet")
        wh.load(tmp_path / "invoice.csv")
        rec = reconcile(wh, "2026-10")
    rows = rec.frame.set_index("provider")
    openai, anthropic, google = rows.loc["openai"], rows.loc["anthropic"], rows.loc["google"]
    # the planted gap: 5% of OpenAI's true October cost, on top of the logged usage (each invoice row rounded)
    assert openai.unexplained_usd == pytest.approx(planted_gap_usd(truth), abs=0.01)
    assert openai.unexplained_pct == pytest.approx(PLANTED_GAP["share"], rel=1e-6) and openai.flagged
    # Anthropic: logged at list, billed 10% below it, and a credit; nothing unexplained
    assert anthropic.unexplained_usd == pytest.approx(0, abs=0.01) and not anthropic.flagged
    assert anthropic.discount_usd == pytest.approx(ANTHROPIC_DISCOUNT * anthropic.list_usd, abs=0.01)
    assert anthropic.credits_usd == CREDIT["usd"] and google.adjustments_usd == CORRECTION["usd"]
    assert google.unexplained_usd == pytest.approx(0, abs=0.01) and not google.flagged
    for r in rec.frame.itertuples():  # the invoice's parts add up to what it bills
        assert r.billed_usd == pytest.approx(r.list_usd - r.discount_usd + r.credits_usd + r.adjustments_usd
                                             + r.tax_usd + r.other_usd, abs=1e-6)
    assert [line.split(":")[0] for line in rec.lines()] == ["2026-10 openai"]
    with Warehouse(tmp_path / "w.duckdb", read_only=True) as wh:  # a date means the same month
        assert reconcile(wh, date(2026, 10, 1)).to_dict()["rows"] == rec.to_dict()["rows"]
    # the command: the gap is flagged (exit 1); at a 0.5% threshold Anthropic and Google (0%) still are not
    db = str(tmp_path / "w.duckdb")
    assert main(["reconcile", "--month", "2026-10", "--warehouse", db]) == 1
    assert "gap: 2026-10 openai: the invoice bills $" in capsys.readouterr().out
    assert main(["reconcile", "--month", "2026-10", "--warehouse", db, "--threshold", "0.005",
                 "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [r["provider"] for r in doc["rows"] if r["flagged"]] == ["openai"]
    with pytest.raises(SystemExit) as bad:
        main(["reconcile", "--month", "2026-10", "--threshold", "2", "--warehouse", db])
    assert bad.value.code == 2 and "'2' must be above 0 and below 1" in capsys.readouterr().err
    # a month without logs or invoice rows is an error naming what the warehouse holds, not an empty pass
    assert main(["reconcile", "--month", "2026-12", "--warehouse", db]) == 2
    assert "--month 2026-12: outside the data: the warehouse holds 2026-08 to 2026-10" in capsys.readouterr().err


def test_the_sample_invoice_bills_what_happened_not_the_corrupted_log_rows():
    """Corruption faults the log rows only: the invoice bills every request on its real day, model and token
    count, so no FOCUS row has negative tokens or the unknown model, and its list cost is the generator's true
    cost of every request plus the planted gap."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    from forecast.usage.sample import UNKNOWN_MODEL, focus_rows, generate_requests, planted_gap_usd

    table, truth = generate_requests(5_000, 3, seed=4, corrupt_share=0.05)
    assert pc.min(table["output_tokens"]).as_py() < 0 and UNKNOWN_MODEL in table["model"].to_pylist()
    invoice = focus_rows(truth).to_pandas()
    usage = invoice[invoice["ChargeCategory"] == "Usage"]
    assert pd.to_numeric(usage["ConsumedQuantity"]).min() > 0
    assert not usage["SkuId"].str.contains(UNKNOWN_MODEL).any()
    assert pd.to_numeric(usage["ListCost"]).sum() == pytest.approx(
        truth["true_cost_usd"].sum() + planted_gap_usd(truth), abs=1e-6 * len(usage))  # rows rounded to 6 decimals
    assert np.datetime64("2031-01-01") not in truth["ts"].astype("datetime64[D]")


def test_cli_ingest_coverage_export(tmp_path, capsys, book):
    from forecast.usage.sample import write_sample

    paths = write_sample(tmp_path / "s", rows=5_000, months=2, otel_spans=8)
    db = str(tmp_path / "w.duckdb")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    code = main(["ingest", str(paths["requests"]), str(bad), str(paths["focus"]), "--warehouse", db])
    out, err = capsys.readouterr()
    assert code == 2  # one file refused; the others loaded
    assert f"error: {bad}: missing column(s)" in err and "Traceback" not in err
    assert out.count(" = accepted ") == 2 and "quarantined" in out
    assert main(["coverage", "--warehouse", db]) == 0
    out = capsys.readouterr().out
    assert "production" in out and "(untagged)" in out and "FIX TAGGING" in out
    target = tmp_path / "f.csv"
    assert main(["export-focus", "--month", "2026-10", "--warehouse", db, "--out", str(target)]) == 0
    assert target.exists()
    assert main(["export-focus", "--month", "2026-10", "--warehouse", db, "--out", str(target)]) == 2  # no overwrite
    assert main(["coverage", "--warehouse", str(tmp_path / "none.duckdb")]) == 2


def test_gzipped_csv_is_refused_by_name_not_misread_as_bad_utf8(tmp_path):
    import gzip

    from forecast.core.errors import UsageError
    from forecast.usage.files import file_format

    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(b"timestamp,request_id\n"))
    with pytest.raises(UsageError, match=r"log\.csv\.gz: unknown file type.*compressed CSV is not read"):
        file_format(path)


def test_a_malformed_otel_integer_is_quarantined_not_a_crash(tmp_path, book):
    bad = [span(f"00000000000000{n:02d}", {"gen_ai.request.model": "m-small", "gen_ai.provider.name": "lab",
                                           "gen_ai.usage.output_tokens": 5}) for n in range(3)]
    for s_, raw in zip(bad, ("abc", "1e400", None), strict=True):
        s_["attributes"].append({"key": "gen_ai.usage.input_tokens", "value": {"intValue": raw}})
    f = tmp_path / "spans.json"
    f.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": bad}]}]}))
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = wh.load(f, book=book)
    assert (r.rows_read, r.accepted, r.quarantined) == (3, 0, 3)
