"""The report workbook: tables captured from a notebook's outputs, written back as numbers with formats."""

import json

import pandas as pd
from openpyxl import load_workbook

from forecast.core.formatting import money, number, pct
from forecast.reporting.workbook import TABLE_MIME, notebook_tables, table_payload, write_workbook


def _notebook(path, cells):
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _output(table):
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": "<table></table>", TABLE_MIME: table_payload(table)}}


def test_tables_come_back_as_numbers_under_their_section(tmp_path):
    spend = pd.DataFrame({"team": ["=HYPERLINK(\"http://x\")", "a&b"], "cost_usd": [-6.02, 0.005918],
                          "share": [0.125, 0.5], "requests": [1234.0, 7.0]})
    styled = spend.rename(columns={"cost_usd": "cost"}).style.hide(axis="index").format(
        {"cost": money, "share": pct, "requests": number})
    other = pd.DataFrame({"x": [1.5]}).style.format("{:.1f}")
    nb = _notebook(tmp_path / "r.ipynb", [
        {"cell_type": "markdown", "source": ["# Title\n", "## Spend: by team / [all]\n"], "metadata": {}},
        {"cell_type": "code", "source": [], "metadata": {}, "outputs": [_output(styled)], "execution_count": 1},
        {"cell_type": "code", "source": [], "metadata": {}, "execution_count": 2, "outputs": [
            {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": "## Spend: by team / [all]"}},
            _output(other)]},
    ])
    assert [s for s, _ in notebook_tables(nb)] == ["Spend: by team / [all]"] * 2
    out = tmp_path / "r.xlsx"
    assert write_workbook(nb, out, {"Generated at": "2026-12-01 00:00:00 UTC"}) == 2
    book = load_workbook(out)
    # forbidden characters ([]:*?/\) become spaces; a repeated section gets a number
    assert book.sheetnames == ["Spend by team all", "Spend by team all (2)", "Provenance"]
    sheet = book["Spend by team all"]
    assert [c.value for c in sheet[1]] == ["team", "cost", "share", "requests"]
    assert sheet.freeze_panes == "A2"
    first, second = sheet[2], sheet[3]
    assert first[0].value == '=HYPERLINK("http://x")' and first[0].data_type == "s"  # text, never a formula
    assert second[0].value == "a&b"
    assert (first[1].value, first[1].number_format) == (-6.02, "$#,##0.00;-$#,##0.00")
    assert (second[1].value, second[1].number_format) == (0.005918, "$#,##0.00####;-$#,##0.00####")
    assert (first[2].value, first[2].number_format) == (0.125, "0.0%")
    assert (first[3].value, first[3].number_format) == (1234, "#,##0")
    assert book["Spend by team all (2)"]["A2"].value == 1.5
    assert [c.value for c in book["Provenance"]["A1":"B1"][0]] == ["Generated at", "2026-12-01 00:00:00 UTC"]


def test_a_plain_row_number_index_is_left_out_and_a_named_index_kept():
    frame = pd.DataFrame({"usd": [1.0, 2.0]})
    assert table_payload(frame)["columns"] == ["usd"]
    named = frame.set_axis(pd.Index(["a", "b"], name="model"))
    assert table_payload(named)["columns"] == ["model", "usd"]
    assert table_payload(named)["values"] == [["a", 1.0], ["b", 2.0]]


def test_control_characters_and_markdown_escapes_do_not_reach_the_workbook(tmp_path):
    from forecast.core.formatting import md_text

    name = "support_triage $5 <v2>"
    table = pd.DataFrame({"team": ["\x1b[31mred\x07"], "usd": [1.0]}).style.hide(axis="index")
    nb = _notebook(tmp_path / "r.ipynb", [
        {"cell_type": "code", "source": [], "metadata": {}, "execution_count": 1, "outputs": [
            {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": f"## {md_text(name)}"}},
            _output(table)]}])
    write_workbook(nb, tmp_path / "r.xlsx", {"Report": "x\x00y"})
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["support_triage $5 <v2>", "Provenance"]  # the heading as written, unescaped
    assert book.worksheets[0]["A2"].value == "\ufffd[31mred\ufffd"
    assert book["Provenance"]["B1"].value == "x\ufffdy"
