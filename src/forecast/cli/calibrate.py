"""`forecast calibrate SPEC --warehouse W`: fit a workflow spec's numbers to its production logs and write the
calibrated spec (usage.calibrate)."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ForecastError
from .argtypes import month as _month
from .options import add_warehouse_option, read_warehouse
from .tables import table

COMMANDS = ("calibrate",)


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


def run(args) -> tuple[str, int]:
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
