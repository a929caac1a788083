"""A deterministic synthetic company: request logs, a FOCUS billing export and OTel GenAI spans.

Five workflows in five teams, with growth, weekday seasonality, a model upgrade that triples one
workflow's tokens per task (code_review moves to gpt-5 on 2025-09-01), a dated price cut (o3 is
priced by genai-prices at $10/$40 before 2025-06-10 and $2/$8 after; the research agent's logs
carry no cost, so ingest prices them), a two-day runaway loop in one agent, a few percent
untagged traffic and some malformed rows. `MANIFEST.json` lists what was injected, with counts.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..core.months import month_start
from ..core.resources import example, packaged
from ..design.prices import PriceBook, price_book
from ..design.workload import DAYS_PER_MONTH
from .warehouse import Warehouse

END_MONTH = date(2026, 11, 1)  # data runs up to (not including) this month
RUNAWAY_AGENT = "research-agent-7"
RUNAWAY_DAYS = (date(2026, 9, 14), date(2026, 9, 15))
UPGRADE_DAY = date(2025, 9, 1)
UNKNOWN_MODEL = "acme-llm-1"
CORRUPTIONS = ("negative_output_tokens", "unknown_model", "empty_request_id", "future_timestamp",
               "duplicate_request_id")


@dataclass(frozen=True)
class Flow:
    name: str
    team: str
    cost_center: str
    feature: str
    intent: str
    provider: str
    model: str
    share: float  # of all calls
    calls_per_task: float
    input_tokens: float  # first call of a task, median
    context_growth_tokens: float  # added per step
    output_tokens: float
    cache_share: float  # of input served from cache after the first call
    success_rate: float
    weekend_factor: float
    monthly_growth: float
    launch: date | None = None
    logs_cost: bool = True
    agents: int = 3


FLOWS = (
    Flow("support_triage", "support", "CC-100", "ticket-triage", "classify", "anthropic", "claude-3-5-haiku",
         0.30, 4, 2500, 400, 250, 0.5, 0.82, 0.5, 0.04),
    Flow("code_review", "engineering", "CC-200", "pr-review", "review", "openai", "gpt-4.1",
         0.20, 6, 6000, 800, 600, 0.3, 0.75, 0.2, 0.03),
    Flow("research_agent", "research", "CC-300", "market-research", "research", "openai", "o3",
         0.15, 10, 8000, 1500, 1200, 0.4, 0.6, 0.3, 0.08, launch=date(2025, 5, 1), logs_cost=False, agents=8),
    Flow("sales_assistant", "sales", "CC-400", "sales-chat", "answer", "openai", "gpt-4o-mini",
         0.30, 2, 3000, 300, 300, 0.2, 0.9, 0.6, 0.05),
    Flow("ops_monitor", "platform", "CC-500", "health-monitor", "monitor", "google", "gemini-2.5-flash",
         0.05, 1, 1500, 0, 100, 0.0, 1.0, 1.0, 0.0, launch=date(2025, 7, 1), agents=1),
)


def _model_at(flow: Flow, day: date) -> tuple[str, float]:
    """Model and tokens multiplier of a workflow on a day (the dated changes of the sample company)."""
    if flow.name == "code_review" and day >= UPGRADE_DAY:
        return "gpt-5", 3.0
    if flow.name == "support_triage" and day >= date(2025, 11, 1):
        return "claude-haiku-4-5", 1.0
    return flow.model, 1.0


def _month_index(days: np.ndarray, first: date) -> np.ndarray:
    return (days - np.datetime64(first, "D")).astype(int) / DAYS_PER_MONTH


def _flow_calls(flow: Flow, days: np.ndarray, calls_target: float, rng: np.random.Generator) -> dict:
    start = flow.launch or days[0].astype(object)
    active = days >= np.datetime64(start, "D")
    months = _month_index(days, start)
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    shape = np.where(active, (1 + flow.monthly_growth) ** months * np.where(weekday >= 5, flow.weekend_factor, 1.0),
                     0.0)
    tasks_per_day = shape / shape.sum() * calls_target / flow.calls_per_task
    tasks = rng.poisson(tasks_per_day)
    task_day = np.repeat(days, tasks)
    agent = rng.integers(1, flow.agents + 1, task_day.size)
    runaway = np.zeros(task_day.size, bool)
    if flow.name == "research_agent":  # the stuck agent starts a handful of tasks each runaway day
        stuck = np.repeat(np.array(RUNAWAY_DAYS, dtype="datetime64[D]"), 4)
        task_day = np.r_[task_day, stuck]
        agent = np.r_[agent, np.full(stuck.size, int(RUNAWAY_AGENT.rsplit("-", 1)[1]))]
        runaway = np.r_[runaway, np.ones(stuck.size, bool)]
    n = task_day.size
    calls = np.where(runaway, rng.integers(60, 150, n), 1 + rng.poisson(flow.calls_per_task - 1, n))
    start_s = rng.beta(4, 3, n) * 86_400  # office-hours heavy
    return {"day": task_day, "calls": calls, "agent": agent, "start_s": start_s, "runaway": runaway,
            "success": rng.random(n) < flow.success_rate, "env": rng.choice(3, n, p=[0.88, 0.08, 0.04]),
            "untagged": rng.random(n) < 0.03}


def _price_calls(book: PriceBook, provider: str, models: np.ndarray, days: np.ndarray, tok: dict) -> np.ndarray:
    """USD per call priced with the price book at each call's day (base band, or the long-context band)."""
    keys, inv = np.unique(np.char.add(np.char.add(models.astype(str), "|"), days.astype(str)), return_inverse=True)
    base, tier, edge, per_call = np.zeros((keys.size, 3)), np.zeros((keys.size, 3)), np.full(keys.size, np.inf), \
        np.zeros(keys.size)
    for k, key in enumerate(keys):
        model, day = key.split("|")
        p = book.lookup(model, provider, date.fromisoformat(day))
        b = p.bands[0]
        base[k] = tier[k] = (b.input_usd_per_mtok, b.cached_input_usd_per_mtok, b.output_usd_per_mtok)
        per_call[k] = p.usd_per_call
        if len(p.bands) > 1:  # the sample's inputs stay below a second long-context tier
            t = p.bands[1]
            edge[k], tier[k] = t.above_input_tokens, (t.input_usd_per_mtok, t.cached_input_usd_per_mtok,
                                                      t.output_usd_per_mtok)
    inp, cached, out = tok["input_tokens"], tok["cached_input_tokens"], tok["output_tokens"]
    rates = np.where((inp > edge[inv])[:, None], tier[inv], base[inv])
    return ((inp - cached) * rates[:, 0] + cached * rates[:, 1] + out * rates[:, 2]) / 1e6 + per_call[inv]


def _flow_rows(flow: Flow, t: dict, rng: np.random.Generator, book: PriceBook) -> dict:
    calls = t["calls"]
    task = np.repeat(np.arange(calls.size), calls)
    first = np.r_[0, np.cumsum(calls)[:-1]]
    step = np.arange(task.size) - np.repeat(first, calls)
    day = t["day"][task]
    uniq, inv = np.unique(day, return_inverse=True)
    per_day = [_model_at(flow, d.astype(object)) for d in uniq]
    models = np.array([m for m, _ in per_day], object)[inv]
    mult = np.array([k for _, k in per_day])[inv]
    runaway = t["runaway"][task]
    growth = flow.context_growth_tokens * np.where(runaway, 2.0, 1.0)
    inp = np.round((flow.input_tokens * rng.lognormal(0, 0.35, task.size) + growth * step) * mult)
    cached = np.where(step > 0, np.round(inp * flow.cache_share * rng.uniform(0.6, 1.0, task.size)), 0)
    out = np.round(flow.output_tokens * rng.lognormal(0, 0.5, task.size) * mult)
    tok = {"input_tokens": inp.astype(np.int64), "cached_input_tokens": cached.astype(np.int64),
           "output_tokens": out.astype(np.int64)}
    cost = _price_calls(book, flow.provider, models, day, tok)
    seconds = t["start_s"][task] + step * rng.uniform(4, 30, task.size)
    ts = day.astype("datetime64[ms]") + (seconds * 1000).astype("timedelta64[ms]")
    u = rng.random(task.size)
    status = np.where(u < 0.015, "error", np.where(u < 0.045, "retry", "ok"))
    last = np.r_[first[1:] - 1, task.size - 1]
    outcome = np.full(task.size, None, object)
    outcome[last] = np.where(t["success"], "success", "failure")
    untagged = t["untagged"][task]
    env = np.array(["production", "staging", "development"])[t["env"][task]]

    def tag(value):
        return np.where(untagged, None, value).astype(object)

    return {
        "ts": ts, "provider": np.full(task.size, flow.provider, object), "model": models, **tok,
        "true_cost_usd": cost, "logs_cost": np.full(task.size, flow.logs_cost),
        "status": status, "latency_ms": np.round(300 + out * 12 * rng.lognormal(0, 0.3, task.size), 1),
        "team_id": tag(flow.team), "cost_center": tag(flow.cost_center), "feature_id": tag(flow.feature),
        "workflow_name": np.full(task.size, flow.name, object), "environment": env,
        "intent": np.full(task.size, flow.intent, object),
        "agent_id": np.array([f"{flow.name.split('_')[0]}-agent-{a}" for a in range(flow.agents + 1)],
                             object)[t["agent"][task]],
        "task_id": np.char.add(f"{flow.name}-", (task + 1).astype(str)).astype(object),
        "step": step.astype(np.int64), "outcome": outcome,
    }


def _months(months: int) -> tuple[date, date]:
    return month_start(END_MONTH, -months), END_MONTH


def generate_requests(rows: int, months: int, seed: int, corrupt_share: float = 0.005,
                      book: PriceBook | None = None) -> tuple[pa.Table, dict]:
    """About `rows` request-log rows over `months` months ending October 2026, and what was injected."""
    rng = np.random.default_rng(seed)
    book = book or PriceBook()
    first, end = _months(months)
    days = np.arange(np.datetime64(first, "D"), np.datetime64(end, "D"))
    parts = [_flow_rows(f, _flow_calls(f, days, rows * f.share, rng), rng, book) for f in FLOWS]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(cols["ts"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    n = order.size
    cols["request_id"] = np.char.add("req-", np.char.zfill(np.arange(1, n + 1).astype(str), 9)).astype(object)
    cols["cost_usd"] = np.where(cols["logs_cost"], np.round(cols["true_cost_usd"], 10), np.nan)
    injected = {k: 0 for k in CORRUPTIONS}
    # even rows only, so a duplicated id always copies an untouched (odd) neighbour
    picks = rng.choice(np.arange(2, n, 2), size=min((n - 1) // 2, round(n * corrupt_share)), replace=False)
    kinds = rng.integers(0, len(CORRUPTIONS), picks.size)
    for i, kind in zip(picks, kinds, strict=True):
        name = CORRUPTIONS[kind]
        injected[name] += 1
        if name == "negative_output_tokens":
            cols["output_tokens"][i] = -cols["output_tokens"][i] - 1
        elif name == "unknown_model":
            cols["model"][i], cols["cost_usd"][i] = UNKNOWN_MODEL, np.nan
        elif name == "empty_request_id":
            cols["request_id"][i] = ""
        elif name == "future_timestamp":
            cols["ts"][i] = np.datetime64("2031-01-01T00:00:00", "ms")
        else:
            cols["request_id"][i] = cols["request_id"][i - 1]
    table = pa.table({
        "timestamp": pa.array(cols["ts"].astype("datetime64[ms]"), pa.timestamp("ms", tz="UTC")),
        "request_id": cols["request_id"], "provider": cols["provider"], "model": cols["model"],
        "input_tokens": cols["input_tokens"], "cached_input_tokens": cols["cached_input_tokens"],
        "output_tokens": cols["output_tokens"],
        "cost_usd": pa.array(cols["cost_usd"], pa.float64(), from_pandas=True),
        "status": cols["status"], "latency_ms": cols["latency_ms"],
        **{k: pa.array(cols[k], pa.string()) for k in ("team_id", "cost_center", "feature_id", "workflow_name",
                                                       "environment", "intent", "agent_id", "task_id")},
        "step": cols["step"], "outcome": pa.array(cols["outcome"], pa.string()),
    })
    truth = {"rows": n, "injected": injected, "first_day": first.isoformat(), "end_day": end.isoformat(),
             "true_cost_usd": cols["true_cost_usd"], "provider": cols["provider"], "model": cols["model"],
             "ts": cols["ts"], "tokens": cols["input_tokens"] + cols["output_tokens"]}
    return table, truth


def focus_rows(truth: dict, version: str = "1.0") -> pa.Table:
    """The providers' invoices for the generated usage as FOCUS rows: daily usage per provider and model,
    2% unlogged usage on OpenAI keys nobody tagged, and one service credit in August 2026."""
    from .focus import focus_table

    day = truth["ts"].astype("datetime64[D]")
    ok = day < np.datetime64(truth["end_day"], "D")
    keys = np.stack([truth["provider"][ok].astype(str), truth["model"][ok].astype(str), day[ok].astype(str)])
    uniq, inv = np.unique(keys, axis=1, return_inverse=True)
    cost = np.bincount(inv.ravel(), weights=truth["true_cost_usd"][ok])
    tokens = np.bincount(inv.ravel(), weights=truth["tokens"][ok])
    cost = np.where(uniq[0] == "openai", cost * 1.02, cost)
    rows = [{"provider": p, "model": m, "day": date.fromisoformat(d), "cost_usd": round(float(c), 6),
             "tokens": int(t), "category": "Usage", "tags": {}} for (p, m, d), c, t in zip(uniq.T, cost, tokens,
                                                                                            strict=True)]
    rows.append({"provider": "openai", "model": None, "day": date(2026, 8, 1), "cost_usd": -25.0, "tokens": None,
                 "category": "Credit", "tags": {}})
    return focus_table(rows, version)


def otel_document(spans: int, seed: int) -> dict:
    """An OTLP JSON export from a marketing copy-writer agent instrumented with OpenTelemetry (last month)."""
    rng = np.random.default_rng(seed + 1)
    resource = [{"key": "service.name", "value": {"stringValue": "copy-writer"}},
                {"key": "deployment.environment.name", "value": {"stringValue": "production"}},
                {"key": "team_id", "value": {"stringValue": "marketing"}},
                {"key": "cost_center", "value": {"stringValue": "CC-600"}}]
    start = datetime(2026, 10, 1, tzinfo=UTC)
    out = []
    for i in range(spans):
        t0 = start + timedelta(seconds=float(rng.uniform(0, 31 * 86_400)))
        ns = int(t0.timestamp() * 1e9)
        trace = f"{rng.integers(0, 2**63):016x}{i:016x}"
        tool = i % 4 == 3
        attrs = {"gen_ai.operation.name": "execute_tool" if tool else "chat",
                 "feature_id": "campaign-copy", "workflow_name": "copy_writer", "intent": "write"}
        if not tool:
            inp, outp = int(rng.integers(800, 4000)), int(rng.integers(200, 900))
            attrs |= {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4.1-mini",
                      "gen_ai.response.model": "gpt-4.1-mini", "gen_ai.usage.input_tokens": inp,
                      "gen_ai.usage.output_tokens": outp, "gen_ai.agent.id": "copy-agent-1",
                      "task_id": f"copy-{i // 4 + 1}"}
        out.append({"traceId": trace, "spanId": f"{i + 1:016x}", "name": "execute_tool search" if tool else
                    "chat gpt-4.1-mini", "kind": 3, "startTimeUnixNano": str(ns),
                    "endTimeUnixNano": str(ns + int(rng.integers(200, 9000)) * 1_000_000),
                    "attributes": [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else
                                    {"stringValue": v}} for k, v in attrs.items()],
                    "status": {"code": 2 if rng.random() < 0.02 else 1}})
    return {"resourceSpans": [{"resource": {"attributes": resource},
                               "scopeSpans": [{"scope": {"name": "openai-instrumentation"}, "spans": out}]}]}


def write_sample(out: Path, rows: int = 100_000, months: int = 24, seed: int = 0, fmt: str = "parquet",
                 focus_version: str = "1.0", otel_spans: int = 400) -> dict[str, Path]:
    """Write requests.<fmt>, focus_billing.csv, otel_spans.json and MANIFEST.json under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    table, truth = generate_requests(rows, months, seed)
    paths = {"requests": out / f"requests.{fmt}", "focus": out / "focus_billing.csv",
             "otel": out / "otel_spans.json", "manifest": out / "MANIFEST.json"}
    if fmt == "parquet":
        pq.write_table(table, paths["requests"], compression="zstd")
    elif fmt == "csv":
        pacsv.write_csv(table, paths["requests"])
    elif fmt == "jsonl":
        with paths["requests"].open("w", encoding="utf-8") as f:
            for row in table.to_pylist():
                row["timestamp"] = row["timestamp"].isoformat().replace("+00:00", "Z")
                f.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    else:
        raise ValueError(f"format {fmt!r}: use parquet, csv or jsonl")
    pacsv.write_csv(focus_rows(truth, focus_version), paths["focus"])
    paths["otel"].write_text(json.dumps(otel_document(otel_spans, seed)), encoding="utf-8")
    manifest = {"generator": "forecast.sample", "seed": seed, "months": months, "rows": truth["rows"],
                "first_day": truth["first_day"], "end_day": truth["end_day"], "injected": truth["injected"],
                "events": {"model_upgrade": {"workflow": "code_review", "day": UPGRADE_DAY.isoformat(),
                                             "from": "gpt-4.1", "to": "gpt-5", "tokens_per_task_factor": 3},
                           "price_cut": {"model": "openai/o3", "day": "2025-06-10", "source": "genai-prices"},
                           "runaway_loop": {"agent_id": RUNAWAY_AGENT, "days": [d.isoformat() for d in RUNAWAY_DAYS]},
                           "untagged_task_share": 0.03, "focus_unlogged_openai_share": 0.02,
                           "focus_credit_usd": -25.0},
                "files": {k: p.name for k, p in paths.items() if k != "manifest"}}
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return paths


SAMPLE_FILES = ("requests.parquet", "focus_billing.csv", "otel_spans.json")  # as `make report` loads them


def sample_warehouse() -> Warehouse:
    """A warehouse in a new temporary folder holding the packaged sample company (data/sample/: about 100,000
    requests from 2024-11 to 2026-10, its OTel spans and FOCUS billing), priced with the packaged overrides;
    closing it removes the folder. For notebooks and examples run where no warehouse has been loaded.

    >>> with sample_warehouse() as wh:
    ...     wh.sql("SELECT min(CAST(timestamp AS DATE)), max(CAST(timestamp AS DATE)) FROM requests").fetchone()
    (datetime.date(2024, 11, 1), datetime.date(2026, 10, 31))
    """
    folder = Path(tempfile.mkdtemp(prefix="forecast-sample-"))
    wh = Warehouse(folder / "warehouse.duckdb")
    wh._cleanup = weakref.finalize(wh, shutil.rmtree, folder, ignore_errors=True)  # also if never closed
    try:
        book = price_book(example("prices/overrides.yaml"))
        for name in SAMPLE_FILES:
            wh.load(packaged("data", "sample", name), book=book)
    except BaseException:
        wh.close()
        raise
    return wh


def sample_end_month() -> str:
    """'YYYY-MM' of the packaged sample company's last complete month (from its MANIFEST.json).

    >>> sample_end_month()
    '2026-10'
    """
    end = json.loads(packaged("data", "sample", "MANIFEST.json").read_text(encoding="utf-8"))["end_day"]
    return f"{month_start(date.fromisoformat(end), -1):%Y-%m}"
