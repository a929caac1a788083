"""CSV exports never hand a spreadsheet a formula: text cells starting with =, +, -, @, tab or CR get a leading '
(core.csvsafe, the OWASP CSV injection rule), in FOCUS exports, `forecast estimate --format csv` and
`forecast predict`; numbers stay numbers."""

import csv
import io
from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecast.cli.main import main
from forecast.core.csvsafe import csv_safe, safe_frame, safe_table

PAYLOADS = ["=1+2", "+cmd", "-x", "@SUM(A1)", "\t=x"]


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_only_text_that_starts_like_a_formula_is_changed():
    assert [csv_safe(p) for p in PAYLOADS] == ["'" + p for p in PAYLOADS]
    assert [csv_safe(v) for v in ("team-a", "a=b", "", None, -5, -5.5, 3)] == ["team-a", "a=b", "", None, -5, -5.5, 3]
    frame = pd.DataFrame({"unique_id": PAYLOADS, "y": [-5.0, 1.0, 2.0, 3.0, 4.0], "n": [-5, 1, 2, 3, 4]})
    safe = safe_frame(frame)
    assert safe["unique_id"].tolist() == ["'" + p for p in PAYLOADS]
    assert safe["y"].tolist() == [-5.0, 1.0, 2.0, 3.0, 4.0] and safe["n"].dtype == frame["n"].dtype
    assert frame["unique_id"].tolist() == PAYLOADS  # the caller's frame is not changed


def test_focus_csv_export_neutralises_tags_models_and_keeps_negative_costs(tmp_path):
    import pyarrow.parquet as pq

    from forecast.usage.focus import export_focus, focus_table
    from forecast.usage.sample import generate_requests
    from forecast.usage.warehouse import Warehouse

    table, _ = generate_requests(300, 1, seed=3, corrupt_share=0.0)
    pq.write_table(table, tmp_path / "requests.parquet")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "requests.parquet")
        ids = [r[0] for r in wh.sql("SELECT request_id FROM requests ORDER BY request_id LIMIT 5").fetchall()]
        for rid, payload in zip(ids, PAYLOADS, strict=True):
            wh.sql("UPDATE requests SET environment = ?, team_id = ? WHERE request_id = ?", [payload, payload, rid])
        wh.sql("UPDATE requests SET model = '=HYPERLINK(\"http://x\")' WHERE request_id = ?", [ids[0]])
        month = wh.sql('SELECT CAST(date_trunc(\'month\', min("timestamp")) AS DATE) FROM requests '
                       "WHERE request_id = ?", [ids[0]]).fetchone()[0]
        rows, _ = export_focus(wh.con, month, tmp_path / "focus.csv")
    cells = _rows((tmp_path / "focus.csv").read_text())
    assert len(cells) == rows
    env = {r["x_Environment"] for r in cells}
    assert {"'" + p for p in PAYLOADS} <= env and not env & set(PAYLOADS)
    assert any(r["ChargeDescription"] == "'=HYPERLINK(\"http://x\") tokens" for r in cells)
    for r in cells:  # every cell a spreadsheet would run as a formula is neutralised
        assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for v in r.values())
        float(r["BilledCost"]), float(r["x_Requests"])  # numbers are still numbers
    # a credit (a negative number in a numeric column) stays -5.0 in a CSV
    from forecast.usage.focus import CSV_NUMBERS

    credit = focus_table([{"provider": "openai", "model": None, "day": date(2026, 10, 5), "cost_usd": -5,
                           "tokens": None, "category": "Credit", "description": "-promo"}])
    safe = safe_table(credit, numeric=CSV_NUMBERS).to_pylist()[0]
    assert safe["BilledCost"] == "-5.0" and safe["ListCost"] == "-5.0" and safe["ChargeDescription"] == "'-promo"


SPEC = """
name: "=HYPERLINK(\\"http://evil\\")"
volume: {tasks_per_month: 1000}
steps:
  - {name: "=1+2", model: gpt-4o-mini, provider: openai, input_tokens: {user: 1000}, output_tokens: 100}
  - {name: "+cmd", model: gpt-4o-mini, provider: openai, input_tokens: {user: 1000}, output_tokens: 100}
  - {name: "@SUM(A1)", model: gpt-4o-mini, provider: openai, input_tokens: {user: 1000}, output_tokens: 100}
  - {name: "-x", model: gpt-4o-mini, provider: openai, input_tokens: {user: 1000}, output_tokens: 100}
"""


def test_estimate_csv_neutralises_workflow_and_step_names(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["estimate", str(spec), "--format", "csv", "--samples", "2000", "--scenarios", "50", "--months", "2",
                 "--date", "2026-11-01", "--prices", "none"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows and {r["workflow"] for r in rows} == {"'=HYPERLINK(\"http://evil\")"}
    steps = {r["item"] for r in rows if r["section"] == "steps"}
    assert steps == {"'=1+2:gpt-4o-mini", "'+cmd:gpt-4o-mini", "'@SUM(A1):gpt-4o-mini", "'-x:gpt-4o-mini"}
    for r in rows:
        float(r["value"])  # the value column is a plain number
        assert not r["value"].startswith("'")


@pytest.mark.parametrize("out", [None, "fc.csv", "fc.parquet"])
def test_predict_neutralises_unique_id_in_csv_and_leaves_parquet_alone(tmp_path, capsys, out):
    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    frame = pd.concat([pd.DataFrame({"unique_id": uid, "ds": months, "y": 10.0 + np.arange(12)})
                       for uid in [*PAYLOADS, "team-a"]])
    src = tmp_path / "series.parquet"
    frame.to_parquet(src)
    argv = ["predict", str(src), "--horizon", "2", "--models", "drift", "--scheduler", "serial"]
    assert main(argv + (["--out", str(tmp_path / out)] if out else [])) == 0
    if out == "fc.parquet":
        written = pd.read_parquet(tmp_path / out)
        assert set(written["unique_id"]) == {*PAYLOADS, "team-a"}
        return
    text = capsys.readouterr().out if out is None else (tmp_path / out).read_text()
    rows = _rows(text)
    assert {r["unique_id"] for r in rows} == {*("'" + p for p in PAYLOADS), "team-a"}
    assert {float(r["forecast"]) for r in rows} == {22.0, 23.0}  # a straight line, +1 a month: numbers untouched
