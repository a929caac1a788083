"""`forecast report KIND [INPUT] [--PARAM VALUE ...]`: run a notebook report with papermill.

The options of each kind are read from its notebook's `parameters` cell, so the CLI and the notebooks
cannot drift apart: `price_date` is `--price-date`, and a name the notebook does not declare is rejected
by the parser. Defaults follow the working-folder rule; the files a report read are resolved here, passed
to the notebook by name, and hashed into its manifest.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from ..core import workfolder
from ..core.errors import ForecastError
from ..core.resources import packaged
from ..reporting.runner import NOTEBOOKS
from .argtypes import OneLineErrors, folder, name_problem, plain_name
from .options import note

COMMANDS = ("report",)
POSITIONAL = {"estimate": "spec", "roi": "case"}  # the parameter given as the positional INPUT
NAMED_BY = {"estimate": ("spec",), "roi": ("case",), "monthly": ("month",), "self-hosting": ("model", "gpu")}
FILE_PARAMETERS = ("spec", "case", "prices", "warehouse", "budgets", "production")  # hashed into the manifest


def add_parsers(sub) -> None:
    """Register `report`; the kind's own options are parsed by kind_parser()."""
    p = sub.add_parser("report", help="run a notebook report (estimate, monthly, roi, self-hosting) into reports/",
                       description="Runs a parameterized notebook into reports/KIND/NAME/ (notebook, offline HTML, "
                                   "manifest). Options after KIND are the notebook's parameters: "
                                   "`forecast report KIND --help` lists them.")
    p.add_argument("kind", metavar="KIND", choices=list(NOTEBOOKS), help=", ".join(NOTEBOOKS))
    p.add_argument("rest", metavar="...", nargs=argparse.REMAINDER, help="the kind's INPUT and options")


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def kind_parser(kind: str) -> argparse.ArgumentParser:
    """The parser of one report kind, built from its notebook's parameters cell."""
    from ..reporting.runner import TYPES, notebook_parameters, notebook_path

    params = notebook_parameters(notebook_path(kind))
    p = OneLineErrors(prog=f"forecast report {kind}")
    for name, info in params.items():
        kind_type = _boolean if info["inferred_type_name"] == "bool" else TYPES[info["inferred_type_name"]]
        metavar = name.upper()
        if POSITIONAL.get(kind) == name:  # required: no default to show
            p.add_argument(name, metavar=metavar, type=kind_type, help=info["help"].split("; empty")[0])
        else:
            default = ast.literal_eval(info["default"])
            shown = "" if default == "" else f" (default {default!r})" if isinstance(default, str) else \
                f" (default {default})"
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar=metavar, type=kind_type, default=None,
                           help=info["help"] + shown)
    p.add_argument("--name", dest="_name", metavar="NAME", default=None, type=plain_name,
                   help="report folder name, one folder name with no '/', '..' or leading '.' (default: from the "
                        "input)")
    p.add_argument("--pdf", dest="_pdf", action="store_true",
                   help="also print the HTML report to PDF with headless Chromium (needs Playwright and chromium)")
    p.add_argument("--reports-dir", dest="_root", metavar="DIR", default="reports", type=folder,
                   help="where reports go (default: reports/ in the current folder)")
    return p


def _resolve_files(kind: str, values: dict, defaults: dict) -> tuple[dict, list[Path]]:
    """The files the report will read, by the working-folder rule, passed to the notebook explicitly."""
    inputs = []
    given = {p: values.get(p, ast.literal_eval(defaults[p]["default"])) for p in FILE_PARAMETERS if p in defaults}
    if "prices" in given:
        chosen = workfolder.price_overrides(given["prices"])
        note(chosen.note)
        values["prices"] = str(chosen.path) if chosen.path else workfolder.NONE
    if "warehouse" in given:
        from ..reporting.monthly import report_inputs

        chosen = report_inputs(given["warehouse"], given["budgets"])
        for text in chosen.notes:
            note(text)
        values["warehouse"] = str(chosen.warehouse) if chosen.warehouse else ""
        values["budgets"] = str(chosen.budgets) if chosen.budgets else workfolder.NONE
        if chosen.warehouse is None:
            inputs += sorted(packaged("data", "sample").iterdir())
    for param in FILE_PARAMETERS:
        value = values.get(param)
        if value and value != workfolder.NONE:
            if not Path(value).exists():
                shown = param.upper() if param in POSITIONAL.values() else f"--{param}"
                raise ForecastError(f"{shown} {value}: file not found")
            inputs.append(Path(value))
    return values, inputs


def _check_inputs(kind: str, values: dict) -> None:
    """Validate the spec or case before a kernel starts: every problem, one line each, as `forecast estimate`."""
    if kind == "estimate":
        from ..design.specs import load_workflow

        load_workflow(values["spec"])
    elif kind == "roi":
        from ..finance.report import load_case

        load_case(values["case"])


def _report_month(warehouse: str) -> str:
    """The month a monthly report covers by default: the warehouse's last complete month."""
    from ..reporting.monthly import last_complete_month
    from ..usage.sample import sample_end_month
    from .options import read_warehouse

    if not warehouse:
        return sample_end_month()
    with read_warehouse(warehouse) as wh:
        return f"{last_complete_month(wh):%Y-%m}"


def run(args) -> tuple[str, int]:
    """Run the report; prints the folder and its files."""
    from ..reporting.runner import notebook_parameters, notebook_path, run_report

    ns = kind_parser(args.kind).parse_args(args.rest)
    values = {k: v for k, v in vars(ns).items() if not k.startswith("_") and v is not None}
    defaults = notebook_parameters(notebook_path(args.kind))
    values, inputs = _resolve_files(args.kind, values, defaults)
    _check_inputs(args.kind, values)
    if args.kind == "monthly" and not values.get("month"):  # name the report, and record, the month it covers
        values["month"] = _report_month(values["warehouse"])
    parts = [str(values.get(p, ast.literal_eval(defaults[p]["default"]))) for p in NAMED_BY[args.kind]]
    name = ns._name or "-".join(Path(v).stem if p in FILE_PARAMETERS else v
                                for p, v in zip(NAMED_BY[args.kind], parts, strict=True))
    if args.kind == "monthly" and not values["warehouse"] and not ns._name:
        name = f"sample-{name}"  # the packaged sample company, not anyone's data
    if ns._name is None and name_problem(name):  # a name made from the inputs: checked before any folder or kernel
        made_from = ", ".join(p.upper() if POSITIONAL.get(args.kind) == p else f"--{p.replace('_', '-')}"
                              for p in NAMED_BY[args.kind])
        raise ForecastError(f"forecast report {args.kind}: the report name {name!r} (from {made_from}) "
                            f"{name_problem(name)}; give --name NAME")
    out = run_report(args.kind, name, values, inputs, Path(ns._root), pdf=ns._pdf)
    return "".join(f"{p}\n" for p in sorted(out.iterdir())) + f"report written to {out}/\n", 0
