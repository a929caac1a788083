"""Plain-text tables and CSV for estimate documents and prices."""

from __future__ import annotations

import csv
import io

from ..core.formatting import count, usd
from ..core.tokens import TOKEN_KINDS
from ..design.prices import ModelPrices
from .tables import table


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
        rows.append([label, *(usd(d.get(k)) for k in ("expected", "p10", "p50", "p90", "p99"))])
    t = doc["tasks_per_month"]
    rows.append(["tasks per month", *(count(t[k]) for k in ("expected", "p10", "p50", "p90", "p99"))])
    lines += table(head, rows)
    lines.append("")
    lines.append(f"background calls: {usd(doc['background_usd_per_month'])} USD per month; "
                 f"success rate {doc['success_rate']:.0%}; "
                 f"{doc['model_calls_per_task']:.2f} model calls and {doc['tool_calls_per_task']:.2f} tool calls "
                 "per task")
    if doc.get("ai_to_human_cost_ratio") is not None:
        lines.append(f"human cost {usd(doc['human_cost_usd_per_task'])} USD per task; AI cost per successful "
                     f"outcome is {doc['ai_to_human_cost_ratio']:.1%} of it")
    tok = doc["tokens_per_task"]
    lines.append("tokens per task: " + ", ".join(f"{k.removesuffix('_tokens').replace('_', ' ')} {count(v)}"
                                                  for k, v in tok.items()))
    lines.append("")
    lines.append("By step (expected per task)")
    rows = [[r["step"], r["loop"] or "", (f"{r['provider']}/{r['model']}" if r["provider"] else f"tool {r['model']}"),
             f"{r['share_of_calls']:.0%}", f"{r['calls_per_task']:.2f}",
             *(count(r[f"{k}_per_task"]) for k in ("input_tokens", "cached_input_tokens", "cache_write_tokens",
                                                  "output_tokens")),
             usd(r["usd_per_task"]), f"{r['share_of_cost']:.1%}"] for r in doc["steps"]]
    lines += table(["step", "loop", "model", "routed", "calls", "input", "cached", "cache write", "output",
                     "USD", "share"], rows, left=3)
    lines.append("")
    lines.append("By model")
    rows = [[(f"{r['provider']}/{r['model']}" if r["provider"] else f"tool {r['model']}"),
             f"{r['calls_per_task']:.2f}", usd(r["usd_per_task"]), f"{r['share_of_cost']:.1%}"]
            for r in doc["models"]]
    lines += table(["model", "calls", "USD/task", "share"], rows)
    if doc["loops"]:
        lines.append("")
        lines.append("Loop caps")
        rows = [[r["loop"], str(r["max_steps"]), f"{r['expected_iterations']:.2f}",
                 f"{r['expected_iterations_uncapped']:.2f}", f"{r['p_hits_cap']:.1%}",
                 usd(r["cap_saves_usd_per_task"]), usd(r["cap_saves_usd_per_month"])] for r in doc["loops"]]
        lines += table(["loop", "max_steps", "iterations", "uncapped", "P(hits cap)", "saves USD/task",
                         "USD/month"], rows)
    lines.append("")
    lines.append("Projection (USD per month)")
    rows = [[p["month"], count(p["tasks_expected"]), usd(p["usd_expected"]), usd(p["p10"]), usd(p["p50"]),
             usd(p["p90"])] for p in doc["projection"]]
    lines += table(["month", "tasks", "expected", "P10", "P50", "P90"], rows)
    lines.append("")
    lines.append("Prices (USD per million tokens)")
    rows = [[f"{p['provider']}/{p['model']}" + (" (batch)" if p["batch"] else ""),
             *(usd(p[f"{k}_usd_per_mtok"]) for k in TOKEN_KINDS), "yes" if p["tiers"] else "", p["source"]]
            for p in doc["prices"]]
    lines += table(["model", "input", "cached", "cache write", "output", "tiers", "source"], rows)
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
            rows.append([f"{label} {metric}", usd(d["a"]), usd(d["b"]), usd(d["b_minus_a"]), change])
    lines += table(["USD", "A", "B", "B - A", "change"], rows)
    models_a = {(m["provider"], m["model"]): m["usd_per_task"] for m in a["models"]}
    models_b = {(m["provider"], m["model"]): m["usd_per_task"] for m in b["models"]}
    lines += ["", "By model (expected USD per task)"]
    rows = []
    for key in sorted(set(models_a) | set(models_b), key=lambda k: (str(k[0]), k[1])):
        va, vb = models_a.get(key, 0.0), models_b.get(key, 0.0)
        label = f"{key[0]}/{key[1]}" if key[0] else f"tool {key[1]}"
        rows.append([label, usd(va), usd(vb), usd(vb - va)])
    lines += table(["model", "A", "B", "B - A"], rows)
    return "\n".join(lines) + "\n"


def prices_table(p: ModelPrices) -> str:
    d = p.as_dict()
    lines = [f"{p.provider}/{p.model} on {p.on.isoformat()}" + (" (batch)" if p.batch else ""), ""]
    rows = [["base", *(usd(d[f"{k}_usd_per_mtok"]) for k in TOKEN_KINDS)]]
    rows += [[f"input > {t['above_input_tokens']:,}", *(usd(t[f"{k}_usd_per_mtok"]) for k in TOKEN_KINDS)]
             for t in d["tiers"]]
    lines += table(["USD per million tokens", "input", "cached input", "cache write", "output"], rows)
    if p.usd_per_call:
        lines.append(f"plus {usd(p.usd_per_call)} USD per call")
    lines += ["", f"source: {p.source}", *(f"note: {n}" for n in p.notes)]
    return "\n".join(lines) + "\n"
