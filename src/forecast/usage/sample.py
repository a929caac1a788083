"""A deterministic synthetic company at a realistic scale: usage exports, agent task logs, a FOCUS invoice and
OTel GenAI spans.

Nine workflows in nine teams spend about $120,000 in October 2026. The flows:
- Six high-volume API flows come as a provider usage export: one row per bucket of requests, with
  request_count and the bucket's token and cost totals.
- Two agent workflows log one row per task: request_count is the task's model calls, and their steps,
  tokens and cost are totals.
- One agent (copy_writer) is traced with OpenTelemetry.

Injected events, with counts, are listed in `MANIFEST.json`:
- growth and weekday seasonality;
- model migrations: support_triage moves to claude-haiku-4-5 on 2025-11-01; code_review moves to gpt-5
  on 2025-09-01 with 3x the tokens per task; translation moves to claude-sonnet-4-5 on 2025-10-01;
- a dated price cut: o3 falls from $10/$40 to $2/$8 on 2025-06-10 in genai-prices. The research agent's
  logs carry no cost, so ingest prices them;
- a two-day runaway loop in one agent;
- a few percent of traffic without tags;
- some malformed rows.

The invoice bills the usage at list price, with these differences:
- Anthropic at a 10% negotiated discount from 2026-01;
- a service credit;
- a billing correction;
- in October 2026, OpenAI usage from a key nobody logs (the planted gap the reconciliation must find).
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

from ..core.errors import ForecastError
from ..core.months import month_start
from ..core.resources import example, packaged
from ..design.prices import PriceBook, price_book
from .warehouse import Warehouse

END_MONTH = date(2026, 11, 1)  # data runs up to (not including) this month
RUNAWAY_AGENT = "research-agent-3"
RUNAWAY_DAYS = (date(2026, 9, 14), date(2026, 9, 15))
RUNAWAY_TASKS_PER_DAY = 60  # the stuck agent restarts a task about every 24 minutes
UPGRADE_DAY = date(2025, 9, 1)
UNKNOWN_MODEL = "acme-llm-1"
CORRUPTIONS = ("negative_output_tokens", "unknown_model", "empty_request_id", "future_timestamp",
               "duplicate_request_id")
ENVIRONMENTS = (("production", 0.88), ("staging", 0.08), ("development", 0.04))
UNTAGGED_SHARE = 0.03  # of requests (of tasks, for the agent workflows) with no team, cost centre or feature tag
# The invoice (FOCUS): what it bills beyond the logged usage at list price
ANTHROPIC_DISCOUNT, ANTHROPIC_DISCOUNT_FROM = 0.10, date(2026, 1, 1)  # negotiated rate on every Anthropic token
CREDIT = {"provider": "anthropic", "day": date(2026, 10, 1), "usd": -1500.0, "description": "service credit"}
CORRECTION = {"provider": "google", "day": date(2026, 10, 3), "usd": -120.0,
              "description": "billing correction for 2026-09 (duplicate batch charge refunded)"}
PLANTED_GAP = {"provider": "openai", "month": date(2026, 10, 1), "share": 0.05,
               "description": "usage on an API key the request logs do not cover"}


@dataclass(frozen=True)
class Flow:
    """One workflow of the company. Volumes are per day in October 2026 (requests, or tasks for an agent); earlier
    months follow from monthly_growth."""

    name: str
    team: str
    cost_center: str
    feature: str
    intent: str
    provider: str
    model: str
    per_day: float  # requests a day (an export flow) or tasks a day (an agent flow), October 2026
    input_tokens: float  # per request (an agent: its first call)
    output_tokens: float
    cache_share: float  # of input read from the prompt cache (an agent: after its first call)
    monthly_growth: float
    weekend_factor: float
    launch: date | None = None
    agents: int = 3
    batch: bool = False
    logs_cost: bool = True
    steps: float = 0.0  # model calls per task of an agent flow; 0: a usage-export flow
    context_growth_tokens: float = 0.0  # input added per call within a task
    success_rate: float | None = None  # agent flows: share of tasks that succeed


FLOWS = (
    Flow("support_triage", "support", "CC-100", "ticket-triage", "classify", "anthropic", "claude-3-5-haiku",
         210_000, 3000, 300, 0.5, 0.04, 0.5),
    Flow("doc_search", "product", "CC-700", "help-center-search", "answer", "openai", "gpt-4.1-mini",
         500_000, 6000, 400, 0.6, 0.06, 0.7, launch=date(2025, 2, 1), agents=4),
    Flow("sales_assistant", "sales", "CC-400", "sales-chat", "answer", "openai", "gpt-4o-mini",
         260_000, 3000, 300, 0.2, 0.05, 0.6),
    Flow("translation", "content", "CC-800", "localisation", "translate", "anthropic", "claude-3-5-sonnet",
         41_000, 2000, 2000, 0.0, 0.03, 0.3, agents=2),
    Flow("invoice_extraction", "finance", "CC-900", "invoice-capture", "extract", "google", "gemini-2.5-pro",
         44_000, 8000, 800, 0.0, 0.05, 0.2, launch=date(2025, 3, 1), agents=2, batch=True),
    Flow("ops_monitor", "platform", "CC-500", "health-monitor", "monitor", "google", "gemini-2.5-flash",
         70_000, 1500, 100, 0.0, 0.0, 1.0, launch=date(2025, 7, 1), agents=1),
    Flow("code_review", "engineering", "CC-200", "pr-review", "review", "openai", "gpt-4.1",
         150, 20_000, 1500, 0.3, 0.03, 0.4, steps=6, context_growth_tokens=2000, success_rate=0.75),
    Flow("research_agent", "research", "CC-300", "market-research", "research", "openai", "o3",
         300, 10_000, 1000, 0.4, 0.08, 0.6, launch=date(2025, 5, 1), agents=4, logs_cost=False, steps=10,
         context_growth_tokens=500, success_rate=0.6),
)


def _model_at(flow: Flow, day: date) -> tuple[str, float]:
    """Model and tokens multiplier of a workflow on a day (the dated changes of the sample company)."""
    if flow.name == "code_review" and day >= UPGRADE_DAY:
        return "gpt-5", 3.0
    if flow.name == "support_triage" and day >= date(2025, 11, 1):
        return "claude-haiku-4-5", 1.0
    if flow.name == "translation" and day >= date(2025, 10, 1):
        return "claude-sonnet-4-5", 1.0
    return flow.model, 1.0


def _daily_volume(flow: Flow, days: np.ndarray) -> np.ndarray:
    """Expected requests (tasks) per day: the October 2026 rate, earlier months by the monthly growth, weekends
    at weekend_factor, nothing before launch."""
    anchor = np.datetime64(date(2026, 10, 1), "D")
    months = (days - anchor).astype(int) / (365.25 / 12)
    weekday = (days.view("int64") - 4) % 7  # 0 = Monday
    week = np.where(weekday >= 5, flow.weekend_factor, 1.0)
    level = flow.per_day * 7 / (5 + 2 * flow.weekend_factor)  # so the weekly mean is per_day
    active = days >= np.datetime64(flow.launch, "D") if flow.launch else np.ones(days.size, bool)
    return np.where(active, level * (1 + flow.monthly_growth) ** months * week, 0.0)


def _day_noise(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Day-to-day variation of traffic around its trend (about 5%), as real traffic has."""
    return rng.lognormal(0, 0.05, days.size)


def _prices(book: PriceBook, provider: str, models: np.ndarray, days: np.ndarray, batch: bool) -> dict:
    """Per row: the price bands (USD per Mtok) of its model on its day, and the per-call fee."""
    keys, inv = np.unique(np.char.add(np.char.add(models.astype(str), "|"), days.astype(str)), return_inverse=True)
    base, tier, edge, per_call = (np.zeros((keys.size, 3)), np.zeros((keys.size, 3)), np.full(keys.size, np.inf),
                                  np.zeros(keys.size))
    for k, key in enumerate(keys):
        model, day = key.split("|")
        p = book.lookup(model, provider, date.fromisoformat(day), batch)
        b = p.bands[0]
        base[k] = tier[k] = (b.input_usd_per_mtok, b.cached_input_usd_per_mtok, b.output_usd_per_mtok)
        per_call[k] = p.usd_per_call
        if len(p.bands) > 1:  # the sample's inputs stay below a second long-context tier
            t = p.bands[1]
            edge[k], tier[k] = t.above_input_tokens, (t.input_usd_per_mtok, t.cached_input_usd_per_mtok,
                                                      t.output_usd_per_mtok)
    return {"base": base[inv], "tier": tier[inv], "edge": edge[inv], "per_call": per_call[inv]}


def _cost(prices: dict, tok: dict, requests: np.ndarray) -> np.ndarray:
    """USD of each row's totals: the band of its input per request, plus the fee per request (as ingest does)."""
    inp, cached, out = tok["input_tokens"], tok["cached_input_tokens"], tok["output_tokens"]
    rates = np.where((inp / requests > prices["edge"])[:, None], prices["tier"], prices["base"])
    return ((inp - cached) * rates[:, 0] + cached * rates[:, 1] + out * rates[:, 2]) / 1e6 + \
        prices["per_call"] * requests


def _tags(flow: Flow, n: int, rng: np.random.Generator) -> dict:
    env = np.array([e for e, _ in ENVIRONMENTS])[rng.choice(len(ENVIRONMENTS), n, p=[p for _, p in ENVIRONMENTS])]
    untagged = rng.random(n) < UNTAGGED_SHARE

    def tag(value):
        return np.where(untagged, None, value).astype(object)

    return {"team_id": tag(flow.team), "cost_center": tag(flow.cost_center), "feature_id": tag(flow.feature),
            "workflow_name": np.full(n, flow.name, object), "environment": env.astype(object),
            "intent": np.full(n, flow.intent, object)}


def _rows(flow: Flow, day: np.ndarray, ts: np.ndarray, requests: np.ndarray, tok: dict, agent: np.ndarray,
          book: PriceBook, rng: np.random.Generator, mult: np.ndarray, **extra) -> dict:
    n = day.size
    uniq, inv = np.unique(day, return_inverse=True)
    models = np.array([_model_at(flow, d.astype(object))[0] for d in uniq], object)[inv]
    cost = _cost(_prices(book, flow.provider, models, day, flow.batch), tok, requests)
    out_per = tok["output_tokens"] / requests
    return {"ts": ts, "provider": np.full(n, flow.provider, object), "model": models, **tok,
            "request_count": requests.astype(np.int64), "true_cost_usd": cost,
            "logs_cost": np.full(n, flow.logs_cost), "batch": np.full(n, flow.batch),
            "latency_ms": np.round(300 + out_per * 12 * rng.lognormal(0, 0.3, n), 1),
            "agent_id": np.array([f"{flow.name.split('_')[0]}-agent-{a}" for a in range(flow.agents + 1)],
                                 object)[agent],
            **_tags(flow, n, rng), **extra}


def _export_rows(flow: Flow, days: np.ndarray, buckets: int, book: PriceBook, rng: np.random.Generator) -> dict:
    """A usage export: each day's requests in `buckets` rows (each an agent and a time of day), totals per row."""
    volume = rng.poisson(_daily_volume(flow, days) * _day_noise(days, rng))
    day = np.repeat(days, buckets)
    shares = rng.dirichlet(np.full(buckets, 50.0), days.size)  # buckets a little uneven, so rows differ
    requests = rng.multinomial(volume, shares).astype(np.int64).ravel()
    keep = requests > 0
    day, requests = day[keep], requests[keep]
    uniq, inv = np.unique(day, return_inverse=True)
    mult = np.array([_model_at(flow, d.astype(object))[1] for d in uniq])[inv]
    noise = rng.lognormal(0, 0.05, (3, day.size))  # a bucket's mean tokens per request vary a little
    inp = np.round(requests * flow.input_tokens * mult * noise[0])
    tok = {"input_tokens": inp.astype(np.int64),
           "cached_input_tokens": np.round(inp * flow.cache_share * noise[1].clip(0, 1 / max(flow.cache_share, 1e-9))
                                           ).astype(np.int64),
           "output_tokens": np.round(requests * flow.output_tokens * mult * noise[2]).astype(np.int64)}
    seconds = np.sort(rng.uniform(0, 86_400, day.size))
    ts = day.astype("datetime64[ms]") + (seconds * 1000).astype("timedelta64[ms]")
    agent = np.tile(np.arange(buckets) % flow.agents + 1, days.size)[keep]  # each agent a steady share of the day
    n = day.size
    return _rows(flow, day, ts, requests, tok, agent, book, rng, mult, task_id=np.full(n, None, object),
                 step=np.full(n, None, object), outcome=np.full(n, None, object),
                 status=np.full(n, "ok", object))


def _task_rows(flow: Flow, days: np.ndarray, book: PriceBook, rng: np.random.Generator) -> dict:
    """An agent's log: one row per task, request_count = its model calls, tokens and cost its totals."""
    tasks = rng.poisson(_daily_volume(flow, days) * _day_noise(days, rng))
    day = np.repeat(days, tasks)
    agent = (np.arange(day.size) - np.repeat(np.cumsum(tasks) - tasks, tasks)) % flow.agents + 1  # agents share evenly
    runaway = np.zeros(day.size, bool)
    if flow.name == "research_agent":  # the stuck agent restarts its task all day on the runaway days
        stuck = np.repeat(np.array(RUNAWAY_DAYS, dtype="datetime64[D]"), RUNAWAY_TASKS_PER_DAY)
        day, runaway = np.r_[day, stuck], np.r_[runaway, np.ones(stuck.size, bool)]
        agent = np.r_[agent, np.full(stuck.size, int(RUNAWAY_AGENT.rsplit("-", 1)[1]))]
    n = day.size
    steps = np.where(runaway, rng.integers(60, 150, n), 1 + rng.poisson(flow.steps - 1, n)).astype(np.int64)
    uniq, inv = np.unique(day, return_inverse=True)
    mult = np.array([_model_at(flow, d.astype(object))[1] for d in uniq])[inv]
    growth = flow.context_growth_tokens * np.where(runaway, 6.0, 1.0)  # the loop re-sends an ever longer history
    first = flow.input_tokens * rng.lognormal(0, 0.35, n)
    inp = np.round((steps * first + growth * steps * (steps - 1) / 2) * mult)  # calls 0..n-1 re-send the history
    cached = np.round((inp - first * mult) * flow.cache_share * rng.uniform(0.6, 1.0, n)).clip(0)
    out = np.round(steps * flow.output_tokens * rng.lognormal(0, 0.3, n) * mult)
    tok = {"input_tokens": inp.astype(np.int64), "cached_input_tokens": cached.astype(np.int64),
           "output_tokens": out.astype(np.int64)}
    seconds = rng.beta(4, 3, n) * 86_400  # office-hours heavy
    ts = day.astype("datetime64[ms]") + (seconds * 1000).astype("timedelta64[ms]")
    order = np.argsort(ts, kind="stable")
    u = rng.random(n)
    rows = _rows(flow, day, ts, steps, tok, agent, book, rng, mult,
                 task_id=np.empty(n, object), step=np.full(n, None, object),
                 outcome=np.where(runaway, "failure", np.where(rng.random(n) < flow.success_rate, "success",
                                                               "failure")).astype(object),
                 status=np.where(u < 0.015, "error", np.where(u < 0.045, "retry", "ok")).astype(object))
    rows["task_id"][order] = np.char.add(f"{flow.name}-", (np.arange(n) + 1).astype(str)).astype(object)
    return rows


def _months(months: int) -> tuple[date, date]:
    return month_start(END_MONTH, -months), END_MONTH


def generate_requests(rows: int, months: int, seed: int, corrupt_share: float = 0.005,
                      book: PriceBook | None = None) -> tuple[pa.Table, dict]:
    """The company's request log over `months` months ending October 2026: about `rows` usage-export rows
    (buckets of requests) plus one row per agent task; and the truth (per row: true cost, tokens, ...) and what
    was injected. Prices: `book` (default: the packaged price overrides over genai-prices)."""
    rng = np.random.default_rng(seed)
    book = book or price_book(example("prices/overrides.yaml"))
    first, end = _months(months)
    days = np.arange(np.datetime64(first, "D"), np.datetime64(end, "D"))
    exports = [f for f in FLOWS if not f.steps]
    buckets = max(1, round(rows / (len(exports) * days.size)))
    parts = [_task_rows(f, days, book, rng) if f.steps else _export_rows(f, days, buckets, book, rng)
             for f in FLOWS]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(cols["ts"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    n = order.size
    cols["request_id"] = np.char.add("req-", np.char.zfill(np.arange(1, n + 1).astype(str), 9)).astype(object)
    cols["cost_usd"] = np.where(cols["logs_cost"], np.round(cols["true_cost_usd"], 10), np.nan)
    # what happened, as the provider bills it: the corruptions below fault the log rows only
    billed = {"ts": cols["ts"].copy(), "model": cols["model"].copy(),
              "tokens": cols["input_tokens"] + cols["output_tokens"]}
    injected = {k: 0 for k in CORRUPTIONS}
    # even rows only, so a duplicated id always copies an untouched (odd) neighbour
    picks = rng.choice(np.arange(2, n, 2), size=min((n - 1) // 2, round(n * corrupt_share)), replace=False)
    kinds = rng.integers(0, len(CORRUPTIONS), picks.size)
    corrupted = np.zeros(n, bool)
    for i, kind in zip(picks, kinds, strict=True):
        name = CORRUPTIONS[kind]
        injected[name] += 1
        corrupted[i] = True
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
        "output_tokens": cols["output_tokens"], "request_count": cols["request_count"],
        "cost_usd": pa.array(cols["cost_usd"], pa.float64(), from_pandas=True),
        "status": cols["status"], "latency_ms": cols["latency_ms"],
        **{k: pa.array(cols[k], pa.string()) for k in ("team_id", "cost_center", "feature_id", "workflow_name",
                                                       "environment", "intent", "agent_id", "task_id")},
        "outcome": pa.array(cols["outcome"], pa.string()), "batch": cols["batch"],
    })
    truth = {"rows": n, "injected": injected, "first_day": first.isoformat(), "end_day": end.isoformat(),
             "true_cost_usd": cols["true_cost_usd"], "provider": cols["provider"], **billed,
             "request_count": cols["request_count"], "corrupted": corrupted, "workflow": cols["workflow_name"]}
    return table, truth


def focus_rows(truth: dict, version: str = "1.0") -> pa.Table:
    """The providers' invoices for the generated usage as FOCUS rows, and what they bill beyond the logs.

    Each day has one usage row per provider and model: the true cost at list price, billed at the contracted
    price (Anthropic 10% lower from ANTHROPIC_DISCOUNT_FROM). OpenAI's October 2026 has usage on a key the logs
    do not cover (PLANTED_GAP). There is also one service credit (CREDIT) and one correction (CORRECTION).
    """
    from .focus import focus_table

    day = truth["ts"].astype("datetime64[D]")
    ok = day < np.datetime64(truth["end_day"], "D")
    keys = np.stack([truth["provider"][ok].astype(str), truth["model"][ok].astype(str), day[ok].astype(str)])
    uniq, inv = np.unique(keys, axis=1, return_inverse=True)
    cost = np.bincount(inv.ravel(), weights=truth["true_cost_usd"][ok])
    tokens = np.bincount(inv.ravel(), weights=truth["tokens"][ok])
    rows = []
    for (provider, model, d), c, n in zip(uniq.T, cost, tokens, strict=True):
        on = date.fromisoformat(d)
        discount = ANTHROPIC_DISCOUNT if provider == "anthropic" and on >= ANTHROPIC_DISCOUNT_FROM else 0.0
        share = _gap_share(provider, on)
        list_usd = round(float(c) * (1 + share), 6)
        rows.append({"provider": provider, "model": model, "day": on, "cost_usd": round(list_usd * (1 - discount), 6),
                     "list_cost_usd": list_usd, "tokens": int(n * (1 + share)), "category": "Usage", "tags": {}})
    rows.append({"provider": CREDIT["provider"], "model": None, "day": CREDIT["day"], "cost_usd": CREDIT["usd"],
                 "tokens": None, "category": "Credit", "description": CREDIT["description"], "tags": {}})
    rows.append({"provider": CORRECTION["provider"], "model": None, "day": CORRECTION["day"],
                 "cost_usd": CORRECTION["usd"], "tokens": None, "category": "Adjustment", "charge_class": "Correction",
                 "description": CORRECTION["description"], "tags": {}})
    return focus_table(rows, version)


def _gap_share(provider: str, day: date) -> float:
    """The share of a day's usage the invoice bills beyond the logs (the planted gap)."""
    hit = provider == PLANTED_GAP["provider"] and month_start(day) == PLANTED_GAP["month"]
    return PLANTED_GAP["share"] if hit else 0.0


def planted_gap_usd(truth: dict) -> float:
    """USD the invoice bills in PLANTED_GAP's month beyond the logged usage: its share of the provider's true cost
    that month (each invoice row rounded to 6 decimals, as focus_rows writes it)."""
    day = truth["ts"].astype("datetime64[D]")
    ok = (truth["provider"] == PLANTED_GAP["provider"]) & (day.astype("datetime64[M]")
                                                           == np.datetime64(PLANTED_GAP["month"], "M"))
    return float(truth["true_cost_usd"][ok].sum() * PLANTED_GAP["share"])


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


SAMPLE_ROWS, SAMPLE_MONTHS, SAMPLE_SEED = 60_000, 24, 0  # data/sample/ as packaged (`forecast sample-data`)


def write_sample(out: Path, rows: int = SAMPLE_ROWS, months: int = SAMPLE_MONTHS, seed: int = SAMPLE_SEED,
                 fmt: str = "parquet", focus_version: str = "1.0", otel_spans: int = 400) -> dict[str, Path]:
    """Write requests.<fmt>, focus_billing.csv, otel_spans.json and MANIFEST.json under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    table, truth = generate_requests(rows, months, seed)
    paths = {"requests": out / f"requests.{fmt}", "focus": out / "focus_billing.csv",
             "otel": out / "otel_spans.json", "manifest": out / "MANIFEST.json"}
    if fmt == "parquet":
        _write_parquet(table, paths["requests"])
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
    manifest = {
        "generator": "forecast.sample", "seed": seed, "months": months, "rows": truth["rows"],
        "requests": int(truth["request_count"].sum()), "first_day": truth["first_day"], "end_day": truth["end_day"],
        "workflows": {f.name: {"team": f.team, "provider": f.provider, "rows": "one per task" if f.steps else
                               "usage-export buckets"} for f in FLOWS},
        "injected": truth["injected"],
        "events": {
            "model_upgrade": {"workflow": "code_review", "day": UPGRADE_DAY.isoformat(), "from": "gpt-4.1",
                              "to": "gpt-5", "tokens_per_task_factor": 3},
            "model_migrations": [{"workflow": "support_triage", "day": "2025-11-01", "from": "claude-3-5-haiku",
                                  "to": "claude-haiku-4-5"},
                                 {"workflow": "translation", "day": "2025-10-01", "from": "claude-3-5-sonnet",
                                  "to": "claude-sonnet-4-5"}],
            "price_cut": {"model": "openai/o3", "day": "2025-06-10", "source": "genai-prices"},
            "runaway_loop": {"agent_id": RUNAWAY_AGENT, "days": [d.isoformat() for d in RUNAWAY_DAYS],
                             "tasks_per_day": RUNAWAY_TASKS_PER_DAY, "steps": "60-149"},
            "untagged_share": UNTAGGED_SHARE},
        "invoice": {"anthropic_discount": ANTHROPIC_DISCOUNT, "anthropic_discount_from":
                    ANTHROPIC_DISCOUNT_FROM.isoformat(),
                    "credit": {**CREDIT, "day": CREDIT["day"].isoformat()},
                    "correction": {**CORRECTION, "day": CORRECTION["day"].isoformat()},
                    "planted_gap": {**PLANTED_GAP, "month": f"{PLANTED_GAP['month']:%Y-%m}",
                                    "usd": round(planted_gap_usd(truth), 2)}},
        "files": {k: p.name for k, p in paths.items() if k != "manifest"}}
    paths["manifest"].write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return paths


SAMPLE_FILES = ("requests.parquet", "focus_billing.csv", "otel_spans.json")  # as `make report` loads them


def _sample_file(name: str, folder: Path) -> Path:
    """A packaged sample file; requests.parquet (7.8 MB) is not kept in git: where an install lacks it, it is
    generated into `folder` (seed 0, as `forecast sample-data` makes it, byte for byte; about 3 s)."""
    try:
        return packaged("data", "sample", name)
    except ForecastError:
        if name != "requests.parquet":
            raise
    _write_parquet(generate_requests(SAMPLE_ROWS, SAMPLE_MONTHS, SAMPLE_SEED)[0], folder / name)
    return folder / name


def _write_parquet(table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd")


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
            wh.load(_sample_file(name, folder), book=book)
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
