"""Plain-text tables and CSV for estimate documents and prices."""

from __future__ import annotations

import csv
import io
import json
import math

from .prices import KINDS, ModelPrices


def _usd(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.4g}"


def md_usd(x) -> str:
    """USD for Markdown prose: '\\$1,234', '\\$0.01403' (the dollar escaped so it is not read as math)."""
    text = _usd(x)
    return text if text == "n/a" else ("-" if text.startswith("-") else "") + "\\$" + text.lstrip("-")


def _num(x) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = [(str.ljust if i < left else str.rjust) for i in range(len(header))]
    return ["  ".join(fmt[i](cell, widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header, *rows]]


def json_safe(obj):
    """Replace NaN and infinities (not valid JSON) with None, recursively."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj


def to_json(doc: dict) -> str:
    return json.dumps(json_safe(doc), indent=2, allow_nan=False)


def estimate_table(doc: dict) -> str:
    """A readable report of one estimate document."""
    wf, lines = doc["workflow"], []
    lines.append(f"{wf['name']}: cost estimate at prices of {doc['price_date']}")
    if wf["description"]:
        lines.append(wf["description"].strip().splitlines()[0])
    s = doc["settings"]
    lines.append(f"Monte Carlo: {s['samples']:,} tasks, {s['scenarios']:,} monthly scenarios, seed {s['seed']}")
    lines.append("")
    head = ["USD", "expected", "P10", "P50", "P90", "P99"]
    rows = []
    for label, key in (("per task", "per_task_usd"), ("per month", "per_month_usd"),
                       ("per successful outcome", "per_successful_outcome_usd")):
        d = doc[key]
        rows.append([label, *(_usd(d.get(k)) for k in ("expected", "p10", "p50", "p90", "p99"))])
    t = doc["tasks_per_month"]
    rows.append(["tasks per month", *(_num(t[k]) for k in ("expected", "p10", "p50", "p90", "p99"))])
    lines += _table(head, rows)
    lines.append("")
    lines.append(f"background calls: {_usd(doc['background_usd_per_month'])} USD per month; "
                 f"success rate {doc['success_rate']:.0%}; "
                 f"{doc['model_calls_per_task']:.2f} model calls and {doc['tool_calls_per_task']:.2f} tool calls "
                 "per task")
    if doc.get("ai_to_human_cost_ratio") is not None:
        lines.append(f"human cost {_usd(doc['human_cost_usd_per_task'])} USD per task; AI cost per successful "
                     f"outcome is {doc['ai_to_human_cost_ratio']:.1%} of it")
    tok = doc["tokens_per_task"]
    lines.append("tokens per task: " + ", ".join(f"{k.removesuffix('_tokens').replace('_', ' ')} {_num(v)}"
                                                  for k, v in tok.items()))
    lines.append("")
    lines.append("By step (expected per task)")
    rows = [[r["step"], r["loop"] or "", (f"{r['provider']}/{r['model']}" if r["provider"] else f"tool {r['model']}"),
             f"{r['share_of_calls']:.0%}", f"{r['calls_per_task']:.2f}",
             *(_num(r[f"{k}_per_task"]) for k in ("input_tokens", "cached_input_tokens", "cache_write_tokens",
                                                  "output_tokens")),
             _usd(r["usd_per_task"]), f"{r['share_of_cost']:.1%}"] for r in doc["steps"]]
    lines += _table(["step", "loop", "model", "routed", "calls", "input", "cached", "cache write", "output",
                     "USD", "share"], rows, left=3)
    lines.append("")
    lines.append("By model")
    rows = [[(f"{r['provider']}/{r['model']}" if r["provider"] else f"tool {r['model']}"),
             f"{r['calls_per_task']:.2f}", _usd(r["usd_per_task"]), f"{r['share_of_cost']:.1%}"]
            for r in doc["models"]]
    lines += _table(["model", "calls", "USD/task", "share"], rows)
    if doc["loops"]:
        lines.append("")
        lines.append("Loop caps")
        rows = [[r["loop"], str(r["max_steps"]), f"{r['expected_iterations']:.2f}",
                 f"{r['expected_iterations_uncapped']:.2f}", f"{r['p_hits_cap']:.1%}",
                 _usd(r["cap_saves_usd_per_task"]), _usd(r["cap_saves_usd_per_month"])] for r in doc["loops"]]
        lines += _table(["loop", "max_steps", "iterations", "uncapped", "P(hits cap)", "saves USD/task",
                         "USD/month"], rows)
    lines.append("")
    lines.append("Projection (USD per month)")
    rows = [[p["month"], _num(p["tasks_expected"]), _usd(p["usd_expected"]), _usd(p["p10"]), _usd(p["p50"]),
             _usd(p["p90"])] for p in doc["projection"]]
    lines += _table(["month", "tasks", "expected", "P10", "P50", "P90"], rows)
    lines.append("")
    lines.append("Prices (USD per million tokens)")
    rows = [[f"{p['provider']}/{p['model']}" + (" (batch)" if p["batch"] else ""),
             *(_usd(p[f"{k}_usd_per_mtok"]) for k in KINDS), "yes" if p["tiers"] else "", p["source"]]
            for p in doc["prices"]]
    lines += _table(["model", "input", "cached", "cache write", "output", "tiers", "source"], rows)
    for p in doc["prices"]:
        for note in p["notes"]:
            lines.append(f"  {p['provider']}/{p['model']}: {note}")
    for w in doc["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines) + "\n"


def estimate_csv(doc: dict) -> str:
    """The estimate as a long table: section, item, metric, value (one row per number)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["workflow", "section", "item", "metric", "value"])
    name = doc["workflow"]["name"]
    for section in ("per_task_usd", "per_month_usd", "per_successful_outcome_usd", "tasks_per_month",
                    "tokens_per_task"):
        for metric, value in doc[section].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.writerow([name, section, "", metric, value])
    for section, key in (("steps", "step"), ("models", "model"), ("loops", "loop"), ("projection", "month")):
        for row in doc[section]:
            item = row[key] if section != "steps" or row["kind"] == "tool" else f"{row['step']}:{row['model']}"
            for metric, value in row.items():
                if metric != key and isinstance(value, int | float) and not isinstance(value, bool):
                    out.writerow([name, section, item, metric, value])
    return buf.getvalue()


def compare_table(cmp: dict) -> str:
    a, b = cmp["a"], cmp["b"]
    lines = [f"A = {a['workflow']['name']}   B = {b['workflow']['name']}   (prices of {a['price_date']})", ""]
    rows = []
    for section, label in (("per_task_usd", "per task"), ("per_month_usd", "per month"),
                           ("per_successful_outcome_usd", "per successful outcome")):
        for metric in ("expected", "p50", "p90"):
            d = cmp["difference"][section].get(metric)
            if d is None:
                continue
            change = "" if d["change"] is None else f"{d['change']:+.1%}"
            rows.append([f"{label} {metric}", _usd(d["a"]), _usd(d["b"]), _usd(d["b_minus_a"]), change])
    lines += _table(["USD", "A", "B", "B - A", "change"], rows)
    models_a = {(m["provider"], m["model"]): m["usd_per_task"] for m in a["models"]}
    models_b = {(m["provider"], m["model"]): m["usd_per_task"] for m in b["models"]}
    lines += ["", "By model (expected USD per task)"]
    rows = []
    for key in sorted(set(models_a) | set(models_b), key=lambda k: (str(k[0]), k[1])):
        va, vb = models_a.get(key, 0.0), models_b.get(key, 0.0)
        label = f"{key[0]}/{key[1]}" if key[0] else f"tool {key[1]}"
        rows.append([label, _usd(va), _usd(vb), _usd(vb - va)])
    lines += _table(["model", "A", "B", "B - A"], rows)
    return "\n".join(lines) + "\n"


def prices_table(p: ModelPrices) -> str:
    d = p.as_dict()
    lines = [f"{p.provider}/{p.model} on {p.on.isoformat()}" + (" (batch)" if p.batch else ""), ""]
    rows = [["base", *(_usd(d[f"{k}_usd_per_mtok"]) for k in KINDS)]]
    rows += [[f"input > {t['above_input_tokens']:,}", *(_usd(t[f"{k}_usd_per_mtok"]) for k in KINDS)]
             for t in d["tiers"]]
    lines += _table(["USD per million tokens", "input", "cached input", "cache write", "output"], rows)
    if p.usd_per_call:
        lines.append(f"plus {_usd(p.usd_per_call)} USD per call")
    lines += ["", f"source: {p.source}", *(f"note: {n}" for n in p.notes)]
    return "\n".join(lines) + "\n"
