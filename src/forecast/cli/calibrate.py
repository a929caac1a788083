"""`forecast calibrate SPEC --warehouse W`: fit a workflow spec's numbers to its production logs and write the
calibrated spec (usage.calibrate); `forecast drift SPEC --warehouse W --month M`: the design against one month,
with the cost gap attributed to the parameters that caused it (usage.drift)."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ForecastError
from .argtypes import month as _month
from .options import add_prices_option, add_warehouse_option, price_book, read_warehouse
from .tables import table

COMMANDS = ("calibrate", "drift")


def add_parsers(sub) -> None:
    p = sub.add_parser("calibrate", help="fit a workflow spec to its logged calls and write the calibrated spec")
    p.add_argument("spec", metavar="SPEC", help="workflow spec YAML")
    add_warehouse_option(p)
    p.add_argument("--workflow", metavar="NAME", default=None,
                   help="workflow_name in the logs (default: the spec's name)")
    p.add_argument("--since", metavar="YYYY-MM", type=_month, default=None,
                   help="first month of logs to fit (default: all)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="calibrated spec to write (default: SPEC's name with .calibrated.yaml, in the current "
                        "folder); an existing file is never overwritten")


    d = sub.add_parser("drift", help="a workflow's design against one month of its logs, the cost gap attributed")
    d.add_argument("spec", metavar="SPEC", help="workflow spec YAML")
    add_warehouse_option(d)
    d.add_argument("--month", metavar="YYYY-MM", type=_month, required=True, help="the month to compare")
    d.add_argument("--format", choices=["table", "json", "csv"], default="table")
    add_prices_option(d)


def run(args) -> tuple[str, int]:
    return (_drift if args.command == "drift" else _calibrate)(args)


def _drift(args) -> tuple[str, int]:
    """Print the month's drift: parameters designed vs observed, costs, the gap by parameter group."""
    from ..core.csvsafe import csv_safe
    from ..core.formatting import to_json, usd
    from ..design.specs import load_workflow
    from ..usage.drift import drift

    workflow = load_workflow(args.spec)
    book = price_book(args)
    with read_warehouse(args.warehouse) as wh:
        found = drift(workflow, wh.con, args.month, book)
    if not found.tasks:
        raise ForecastError(f"{args.warehouse}: no logged task of workflow {workflow.name!r} in {args.month:%Y-%m}"
                            " (workflow_name tag): nothing to compare")
    if args.format == "json":
        return to_json(found.to_dict()) + "\n", 0
    if args.format == "csv":
        import csv
        import io

        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(["section", "name", "designed", "observed", "n", "outside_design_p10_p90", "usd"])
        for p in found.parameters:
            out.writerow(["parameter", *(csv_safe(x) for x in (p.parameter, p.designed, p.observed)), p.n,
                          str(p.outside).lower(), ""])
        for key, value in found.cost_per_task.items():
            out.writerow(["cost_per_task", key, "", "", "", "", repr(value)])
        for key, value in found.cost_per_month.items():
            out.writerow(["cost_per_month", key, "", "", "", "", repr(value)])
        for key, value in found.per_task_shares.items():
            out.writerow(["gap_per_task", key, "", "", "", "", repr(value)])
        for key, value in found.per_month_shares.items():
            out.writerow(["gap_per_month", key, "", "", "", "", repr(value)])
        return buf.getvalue(), 0
    rows = [[p.parameter, p.designed, p.observed, f"{p.n:,}", "OUTSIDE" if p.outside else ""]
            for p in found.parameters]
    c, m = found.cost_per_task, found.cost_per_month
    lines = [f"{found.workflow} in {found.month}: {found.tasks:,} logged tasks against the design in {args.spec}", "",
             *table(["parameter", "designed", "observed", "n", "vs design P10-P90"], rows), "",
             "model calls, USD    designed  with observed parameters    actual",
             f"per task          {usd(c['designed']):>10}  {usd(c['observed']):>24}  {usd(c['actual']):>8}",
             f"per month         {usd(m['designed']):>10}  {usd(m['observed']):>24}  {usd(m['actual']):>8}", "",
             "the gap from designed to observed, by parameter (Shapley values; they add up to the gap)"]
    share_rows = [[k, usd(found.per_task_shares.get(k)) if k in found.per_task_shares else "",
                   usd(v)] for k, v in sorted(found.per_month_shares.items(), key=lambda kv: -abs(kv[1]))]
    lines += table(["parameter group", "USD per task", "USD per month"], share_rows)
    lines += ["", f"unexplained (actual - with observed parameters): {usd(c['actual'] - c['observed'])} per task, "
                  f"{usd(m['actual'] - m['observed'])} per month", *(f"note: {n}" for n in found.notes)]
    return "\n".join(lines) + "\n", 0


def _calibrate(args) -> tuple[str, int]:
    """Measure, fit, write the calibrated spec; print the fitted numbers and what stayed as designed."""
    from dataclasses import replace

    from ..design.specs import load_workflow
    from ..usage.calibrate import calibrate, spec_text
    from ..usage.calibration import observe

    workflow = load_workflow(args.spec)
    out = Path(args.out) if args.out else Path(f"{Path(args.spec).stem}.calibrated.yaml")
    if out.suffix not in (".yaml", ".yml"):
        raise ForecastError(f"--out {out}: a calibrated spec is written as a .yaml file")
    if out.exists() or out.is_symlink():
        raise ForecastError(f"--out {out}: already exists; give another --out (a spec is never overwritten)")
    name = args.workflow or workflow.name
    with read_warehouse(args.warehouse) as wh:
        observed = observe(wh.con, replace(workflow, name=name) if name != workflow.name else workflow, args.since)
    if not observed.tasks:
        raise ForecastError(f"{args.warehouse}: no logged task of workflow {name!r} (workflow_name tag"
                            + (f" since {args.since:%Y-%m}" if args.since else "") + "): nothing to calibrate")
    calibrated, records, notes = calibrate(workflow, observed)
    header = [f"{workflow.name}: calibrated by `forecast calibrate` from {observed.tasks:,} logged tasks of "
              f"workflow {name!r} ({', '.join(observed.months)}) in {args.warehouse}",
              f"designed in {args.spec}; each fitted number is commented with its designed value, observed value "
              "and n", *notes]
    try:
        with out.open("x", encoding="utf-8") as fh:  # "x": never over an existing file or through a link
            fh.write(spec_text(calibrated, records, header))
    except OSError as exc:
        raise ForecastError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    rows = [[r.label(), r.designed, r.observed, f"{r.n:,}", "fitted" if r.used else "designed"] for r in records]
    lines = [f"{workflow.name}: {observed.tasks:,} tasks of {name!r} in {args.warehouse}", "",
             *table(["parameter", "designed", "observed", "n", "used"], rows), "",
             *(f"note: {n}" for n in notes), f"calibrated spec written to {out}"]
    return "\n".join(lines) + "\n", 0
