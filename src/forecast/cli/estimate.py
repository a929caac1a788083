"""`forecast prices` and `forecast estimate`: a model's resolved prices, a workflow spec's estimate (or B minus A
of two), as text tables, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ..core.csvsafe import csv_safe
from ..core.formatting import number, to_json, usd
from ..core.tokens import TOKEN_FIELDS, TOKEN_KINDS
from .argtypes import whole
from .options import add_prices_option, price_book
from .tables import table

COMMANDS = ("prices", "estimate")
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2199, 12, 31)  # 120 months on, still a valid date
_samples = whole(1, 10_000_000)  # 80 MB of per-task costs
_scenarios = whole(1, 100_000)
_months = whole(1, 120)
_seed = whole(0, 2**32 - 1)


def _date(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise argparse.ArgumentTypeError(f"{text!r} must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


def add_parsers(sub) -> None:
    p = sub.add_parser("prices", help="show the resolved prices of a model and their source; --refresh fetches "
                       "the current genai-prices data")
    p.add_argument("model", nargs="?", default=None, help="a model name (not with --refresh)")
    p.add_argument("--refresh", action="store_true",
                   help="fetch the current genai-prices data into ./prices/genai-prices.json, which every command run "
                        "in this folder then uses (without network: the prices in use stay, exit 1)")
    p.add_argument("--url", default=None, help="with --refresh: the data file's address (default: the one "
                   "genai-prices' own updater reads)")
    p.add_argument("--provider", default=None)
    p.add_argument("--batch", action="store_true", help="batch-API prices")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--date", type=_date, default=None, help="price date YYYY-MM-DD (default: today, UTC)")
    add_prices_option(p)

    e = sub.add_parser("estimate", help="cost per task, month and successful outcome of a workflow spec")
    e.add_argument("spec", metavar="SPEC", help="workflow spec YAML")
    e.add_argument("--compare", metavar="SPEC", action="append", default=None,
                   help="compare with another spec (saved what-if scenarios are specs); repeat for more: every "
                        "figure side by side, with each one's difference from the first SPEC")
    e.add_argument("--case", metavar="CASE", default=None,
                   help="with --compare: also each spec's NPV and payback month in this business case, the spec "
                        "(its own volume included) standing in for the case's first workflow; the price date is "
                        "then the case's unless --date")
    e.add_argument("--samples", type=_samples, default=100_000, help="Monte Carlo tasks (default 100000)")
    e.add_argument("--scenarios", type=_scenarios, default=4_000, help="monthly scenarios (default 4000)")
    e.add_argument("--months", type=_months, default=12, help="projection months (default 12, at most 120)")
    e.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    e.add_argument("--format", choices=["table", "json", "csv"], default="table")
    e.add_argument("--date", type=_date, default=None, help="price date YYYY-MM-DD (default: today, UTC)")
    add_prices_option(e)


def _estimate_doc(path: str, workflow, args, book, on: date) -> dict:
    from ..design.estimate import estimate

    return _with_spec(estimate(workflow, book, on, args.samples, args.seed, args.scenarios, args.months).to_dict(),
                      path)


def _with_spec(doc: dict, path: str) -> dict:
    return {**doc, "spec": {"path": path, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}}


def _workflow(path: str):
    """The workflow spec at `path`; a business case given where a spec belongs is named as such."""
    from ..core.errors import ForecastError, SpecError
    from ..design.specs import load_workflow

    try:
        return load_workflow(path)
    except SpecError:
        from ..core.validation import read_yaml
        from ..whatif.state import is_case_data

        try:
            data = read_yaml(path)
        except Exception:
            data = None
        if is_case_data(data):
            raise ForecastError(f"{path}: a business case, not a workflow spec: give it with --case (or run "
                                "forecast roi on it)") from None
        raise


def _changed_controls(path: str) -> str:
    """The 'controls changed from the spec' comment a saved what-if scenario starts with, or ''."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = [next(fh, "") for _ in range(3)]
    except OSError:
        return ""
    return next((line[2:].strip() for line in head if line.startswith("# controls changed")), "")


def run(args) -> tuple[str, int]:
    """Print a model's prices, or a spec's estimate (side by side with others, with --compare)."""
    on = args.date or datetime.now(UTC).date()
    if args.command == "prices":
        if args.refresh or args.url:
            return _refresh(args)
        if args.model is None:
            from ..core.errors import ForecastError

            raise ForecastError("forecast prices: give a MODEL, or --refresh")
        p = price_book(args).lookup(args.model, args.provider, on, args.batch)
        return (to_json(p.to_dict()) + "\n" if args.format == "json" else prices_table(p)), 0
    from ..core.errors import ForecastError

    if args.case and not args.compare:
        raise ForecastError("--case needs --compare: it adds each compared spec's NPV and payback")
    specs = [(path, _workflow(path)) for path in (args.spec, *(args.compare or ()))]
    book = price_book(args)
    finance = None
    if args.case:
        from ..whatif.state import load_what_if

        state = load_what_if(args.case, book, args.date, samples=args.samples, seed=args.seed,
                             scenarios=args.scenarios, months=args.months)
        if state.case is None:
            raise ForecastError(f"--case {args.case}: a workflow spec, not a business case (a case has workflows "
                                "and horizon_months)")
        results = [state.evaluate(wf) for _, wf in specs]
        finance = [r.finance for r in results]
        docs = [_with_spec(r.doc, path) for (path, _), r in zip(specs, results, strict=True)]
    else:
        docs = [_estimate_doc(path, wf, args, book, on) for path, wf in specs]
    if not args.compare:
        if args.format == "json":
            return to_json(docs[0]) + "\n", 0
        return (estimate_csv(docs[0]) if args.format == "csv" else estimate_table(docs[0])), 0
    from ..design.estimate import compare

    pairs = [compare(docs[0], other) for other in docs[1:]]
    if args.format == "json":
        if len(pairs) == 1 and finance is None:
            return to_json(pairs[0]) + "\n", 0
        out = {"schema": "forecast.estimate-comparison/1", "scenarios": docs,
               "difference_from_first": [pair["difference"] for pair in pairs]}
        if finance is not None:
            out["case"] = {"path": args.case, "finance": [{k: f[k] for k in ("npv_usd", "payback_month",
                                                                              "payback_label")} for f in finance]}
        return to_json(out) + "\n", 0
    if args.format == "csv":
        text = estimate_csv(docs[0]) + "".join(estimate_csv(d).split("\n", 1)[1] for d in docs[1:])
        return text + ("" if finance is None else case_csv(docs, finance, args.case)), 0
    return compare_table(docs, [pair["difference"] for pair in pairs], finance, args.case), 0


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
    rows.append(["tasks per month", *(number(t[k]) for k in ("expected", "p10", "p50", "p90", "p99"))])
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
    lines.append("tokens per task: " + ", ".join(f"{k.removesuffix('_tokens').replace('_', ' ')} {number(v)}"
                                                  for k, v in tok.items()))
    lines.append("")
    lines.append("By step (expected per task)")
    rows = [[r["step"], r["loop"] or "", (f"{r['provider']}/{r['model']}" if r["provider"] else f"tool {r['model']}"),
             f"{r['share_of_calls']:.0%}", f"{r['calls_per_task']:.2f}",
             *(number(r[f"{k}_per_task"]) for k in TOKEN_FIELDS),
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
    rows = [[p["month"], number(p["tasks_expected"]), usd(p["usd_expected"]), usd(p["p10"]), usd(p["p50"]),
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
    """The estimate as a long table: section, item, metric, value (one row per number). Text cells that a
    spreadsheet would run as a formula (a workflow or step named `=...`, `+...`, `-...`, `@...`) get a leading '
    (core.csvsafe); the value column is a number and is left as it is."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def writerow(row: list) -> None:  # every cell but the value is text
        writer.writerow([*map(csv_safe, row[:-1]), row[-1]])

    writerow(["workflow", "section", "item", "metric", "value"])
    name = doc["workflow"]["name"]
    for section in ("per_task_usd", "per_month_usd", "per_successful_outcome_usd", "tasks_per_month",
                    "tokens_per_task"):
        for metric, value in doc[section].items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                writerow([name, section, "", metric, value])
    for section, key in (("steps", "step"), ("models", "model"), ("loops", "loop"), ("projection", "month")):
        for row in doc[section]:
            item = row[key] if section != "steps" or row["kind"] == "tool" else f"{row['step']}:{row['model']}"
            for metric, value in row.items():
                if metric != key and isinstance(value, int | float) and not isinstance(value, bool):
                    writerow([name, section, item, metric, value])
    return buf.getvalue()


def case_csv(docs: list[dict], finance: list[dict], case: str) -> str:
    """Rows of the estimate CSV for each spec's NPV and payback month in a case (section 'case', item its path)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for doc, f in zip(docs, finance, strict=True):
        for metric in ("npv_usd", "payback_month"):
            if f[metric] is not None:
                writer.writerow([csv_safe(doc["workflow"]["name"]), "case", csv_safe(case), metric, f[metric]])
    return buf.getvalue()


def compare_table(docs: list[dict], differences: list[dict], finance: list[dict] | None = None,
                  case: str | None = None) -> str:
    """Estimates side by side (A, B, C, ...), then each later one's difference from A (`differences`, from
    design.estimate.compare); a case's NPV and payback when `finance` gives them."""
    letters = [chr(ord("A") + i) if i < 26 else f"S{i + 1}" for i in range(len(docs))]
    lines = []
    for x, d in zip(letters, docs, strict=True):
        changed = _changed_controls(d["spec"]["path"])
        lines.append(f"{x} = {d['workflow']['name']}  {d['spec']['path']}" + (f"  ({changed})" if changed else ""))
    lines += [f"prices of {docs[0]['price_date']}", ""]
    head = ["USD", *letters, *(f"{x} - A" for x in letters[1:]), *(f"{x} vs A" for x in letters[1:])]
    rows = []
    for section, label in (("per_task_usd", "per task"), ("per_month_usd", "per month"),
                           ("per_successful_outcome_usd", "per successful outcome")):
        for metric in ("expected", "p10", "p90"):
            diffs = [d[section].get(metric) for d in differences]
            if any(d is None for d in diffs):
                continue
            rows.append([f"{label} {metric}", usd(diffs[0]["a"]), *(usd(d["b"]) for d in diffs),
                         *(usd(d["b_minus_a"]) for d in diffs),
                         *("" if d["change"] is None else f"{d['change']:+.1%}" for d in diffs)])
    lines += table(head, rows)
    if finance is not None:
        lines += ["", f"In the business case {case} (each spec in place of its first workflow)"]
        npv = [f["npv_usd"] for f in finance]
        paid = [f["payback_month"] for f in finance]
        rows = [["NPV (USD)", *map(usd, npv), *(usd(v - npv[0]) for v in npv[1:])],
                ["payback month", *(f"{f['payback_month']} ({f['payback_label']})" if f["payback_month"] is not None
                                    else "not within the horizon" for f in finance),
                 *("" if p is None or paid[0] is None else f"{p - paid[0]:+d}" for p in paid[1:])]]
        lines += table(["", *letters, *(f"{x} - A" for x in letters[1:])], rows)
    models = [{(m["provider"], m["model"]): m["usd_per_task"] for m in d["models"]} for d in docs]
    lines += ["", "By model (expected USD per task)"]
    rows = []
    for key in sorted(set().union(*models), key=lambda k: (str(k[0]), k[1])):
        values = [m.get(key, 0.0) for m in models]
        label = f"{key[0]}/{key[1]}" if key[0] else f"tool {key[1]}"
        rows.append([label, *map(usd, values), *(usd(v - values[0]) for v in values[1:])])
    lines += table(["model", *letters, *(f"{x} - A" for x in letters[1:])], rows)
    return "\n".join(lines) + "\n"


def _refresh(args) -> tuple[str, int]:
    """Fetch the current genai-prices data; without it, say so and keep the prices in use (exit 1)."""
    from ..core.errors import ForecastError
    from ..design.price_data import refresh

    if args.model:
        raise ForecastError("forecast prices --refresh takes no MODEL: refresh first, then look a model up")
    if args.url and not args.refresh:
        raise ForecastError("--url goes with --refresh")
    try:
        done = refresh(args.url)
    except ForecastError as exc:
        print(f"warning: {exc.problems[0]}", file=sys.stderr)
        return "", 1
    return "\n".join(done.lines()) + "\n", 0


def prices_table(p) -> str:
    d = p.to_dict()
    lines = [f"{p.provider}/{p.model} on {p.on.isoformat()}" + (" (batch)" if p.batch else ""), ""]
    rows = [["base", *(usd(d[f"{k}_usd_per_mtok"]) for k in TOKEN_KINDS)]]
    rows += [[f"input > {t['above_input_tokens']:,}", *(usd(t[f"{k}_usd_per_mtok"]) for k in TOKEN_KINDS)]
             for t in d["tiers"]]
    lines += table(["USD per million tokens", "input", "cached input", "cache write", "output"], rows)
    if p.usd_per_call:
        lines.append(f"plus {usd(p.usd_per_call)} USD per call")
    lines += ["", f"source: {p.source}", *(f"note: {n}" for n in p.notes), *(f"warning: {w}" for w in p.warnings)]
    return "\n".join(lines) + "\n"
