"""Duplicates and held rows: the bulk load holds back rows that may be duplicates or rejects and settles them
exactly; these tests check it against hand-worked files and a line-by-line reference model."""

import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.usage.warehouse import Warehouse

HEADER = "timestamp,request_id,provider,model,input_tokens,output_tokens,cost_usd\n"
T = "2026-10-01T00:00:00Z"


def test_duplicates_are_settled_by_request_id_in_line_order(tmp_path, book):
    # conftest prices: m-small $1 input, $2 output per million tokens; 'nope' has no price
    (tmp_path / "a.csv").write_text(HEADER + f"{T},W,lab,m-small,1,1,\n")
    (tmp_path / "b.csv").write_text(HEADER
                                    + f"{T},X,lab,m-small,-5,0,\n"  # 2: bad tokens: quarantined
                                    + f"{T},X,lab,m-small,1000,0,\n"  # 3: first valid X: $0.001
                                    + f"{T},Y,lab,m-small,2000,1000,\n"  # 4: $0.002 + $0.002 = $0.004
                                    + f"{T},Y,lab,m-small,2000,1000,\n"  # 5: duplicate of 4
                                    + f"{T},Z,lab,nope,10,10,\n"  # 6: first valid Z, no price: quarantined
                                    + f"{T},Z,lab,m-small,10,10,\n"  # 7: duplicate of 6
                                    + f"{T},W,lab,m-small,1000000,0,\n"  # 8: W stored by a.csv: duplicate
                                    + f"{T},U,lab,m-small,0,500000,\n")  # 9: a plain row: 500,000 x $2 = $1
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.load(tmp_path / "a.csv", book=book)
        r = wh.load(tmp_path / "b.csv", book=book)
        stored = dict(wh.sql(f"SELECT source_line, cost_usd FROM requests WHERE load_id = {r.load_id}").fetchall())
        quarantined = dict(wh.sql("SELECT line, reason FROM quarantine").fetchall())
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (8, 3, 2, 3)
    assert stored == {3: Decimal("0.001"), 4: Decimal("0.004"), 9: Decimal("1")}
    assert r.cost_usd_accepted == Decimal("1.005")
    assert sorted(quarantined) == [2, 6] and quarantined[6].startswith("model: 'nope': unknown model")


ROW = st.tuples(st.sampled_from(["a", "b", "c", "d", ""]), st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(ROW, st.integers(0, 9)), min_size=1, max_size=14),
       stored=st.sets(st.sampled_from(["a", "b"])))
def test_bulk_load_matches_a_line_by_line_reference(book, rows, stored):
    """Each row: (request_id, valid tokens, known model, has cost) and a token count; ids in `stored` were
    loaded before. The reference walks the lines in order: a rejected row is quarantined; a valid row is a
    duplicate when its id is stored or was on an earlier valid line; otherwise it is accepted, unless it
    has no cost and its model no price (quarantined)."""
    seen, accepted, quarantined, duplicate, cost = set(stored), [], [], [], Decimal(0)
    for line, ((rid, valid, known, has_cost), tokens) in enumerate(rows, start=1):  # Parquet rows count from 1
        if not valid or not rid:
            quarantined.append(line)
        elif rid in seen:
            duplicate.append(line)
        elif not has_cost and not known:
            seen.add(rid)
            quarantined.append(line)
        else:
            seen.add(rid)
            accepted.append(line)
            # m-small: (tokens input x $1 + 10 output x $2) per million tokens; a logged cost is $0.5
            cost += Decimal("0.5") if has_cost else Decimal(tokens + 20) / 1_000_000
    table = pa.table({
        "timestamp": pa.array([T] * len(rows)), "request_id": [r[0][0] for r in rows],
        "provider": ["lab"] * len(rows), "model": ["m-small" if r[0][2] else "nope" for r in rows],
        "input_tokens": pa.array([r[1] if r[0][1] else -1 for r in rows], pa.int64()),
        "output_tokens": pa.array([10] * len(rows), pa.int64()),
        "cost_usd": pa.array([0.5 if r[0][3] else None for r in rows], pa.float64())})
    with tempfile.TemporaryDirectory() as tmp:
        before, path = Path(tmp) / "before.csv", Path(tmp) / "rows.parquet"
        before.write_text(HEADER + "".join(f"{T},{rid},lab,m-small,1,1,\n" for rid in sorted(stored)))
        pq.write_table(table, path)
        with Warehouse(Path(tmp) / "w.duckdb") as wh:
            wh.load(before, book=book)
            r = wh.load(path, book=book)
            lines = {t: sorted(x[0] for x in wh.sql(f"SELECT {col} FROM {t} WHERE load_id = {r.load_id}").fetchall())
                     for t, col in (("requests", "source_line"), ("quarantine", "line"))}
    assert (r.rows_read, r.accepted, r.quarantined, r.duplicate) == (
        len(rows), len(accepted), len(quarantined), len(duplicate))
    assert lines == {"requests": accepted, "quarantine": quarantined}
    assert r.cost_usd_accepted == cost
