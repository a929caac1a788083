"""`forecast report KIND [INPUT] [--PARAM VALUE ...]`: run a notebook report with papermill.

The options of each kind are read from its notebook's `parameters` cell, so the CLI and the
notebooks cannot drift apart: `price_date` is `--price-date`, and a name the notebook does not
declare is rejected by the parser.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from ..core.errors import ForecastError
from ..reporting.runner import NOTEBOOKS, TYPES, notebook_parameters, notebook_path, run_report

COMMANDS = ("report",)
POSITIONAL = {"estimate": "spec", "roi": "case"}  # the parameter given as the positional INPUT
NAMED_BY = {"estimate": ("spec",), "roi": ("case",), "monthly": ("month",), "self-hosting": ("model", "gpu")}
FILE_PARAMETERS = ("spec", "case", "prices", "warehouse", "budgets")  # hashed into the manifest when they exist


def add_parsers(sub, add_overrides_option) -> None:
    """Register `report`; the kind's own options are parsed by kind_parser()."""
    p = sub.add_parser("report", help="run a notebook report (estimate, monthly, roi, self-hosting) into reports/",
                       description="Options after KIND are the notebook's parameters; "
                                   "`forecast report KIND --help` lists them.", add_help=False)
    p.add_argument("kind", choices=list(NOTEBOOKS))
    p.add_argument("rest", nargs=argparse.REMAINDER)


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def kind_parser(kind: str) -> argparse.ArgumentParser:
    """The parser of one report kind, built from its notebook's parameters cell."""
    params = notebook_parameters(notebook_path(kind))
    p = argparse.ArgumentParser(prog=f"forecast report {kind}")
    for name, info in params.items():
        kind_type = _boolean if info["inferred_type_name"] == "bool" else TYPES[info["inferred_type_name"]]
        helptext = f"{info['help']} (default {info['default']})"
        if POSITIONAL.get(kind) == name:
            p.add_argument(name, type=kind_type, help=helptext)
        else:
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind_type, default=None, help=helptext)
    p.add_argument("--name", dest="_name", default=None, help="report folder name (default: from the input)")
    p.add_argument("--reports-dir", dest="_root", default="reports", help="where reports go (default reports/)")
    return p


def _latest_month(warehouse: str) -> str:
    from ..reporting.monthly import last_complete_month
    from ..usage import Warehouse

    if not Path(warehouse).exists():
        raise ForecastError(f"--warehouse: {warehouse}: file not found (load usage with forecast ingest first)")
    with Warehouse(warehouse, read_only=True) as wh:
        return f"{last_complete_month(wh):%Y-%m}"


def run(args, book) -> tuple[str, int]:
    """Run the report; prints the folder and its files."""
    ns = kind_parser(args.kind).parse_args(args.rest)
    values = {k: v for k, v in vars(ns).items() if not k.startswith("_") and v is not None}
    defaults = notebook_parameters(notebook_path(args.kind))
    if args.kind == "monthly" and not values.get("month"):  # name the report, and record, the month it covers
        values["month"] = _latest_month(values.get("warehouse", ast.literal_eval(defaults["warehouse"]["default"])))
    parts = [str(values.get(p, ast.literal_eval(defaults[p]["default"]))) for p in NAMED_BY[args.kind]]
    name = ns._name or "-".join(Path(v).stem if p in FILE_PARAMETERS else v
                                for p, v in zip(NAMED_BY[args.kind], parts, strict=True))
    inputs = []
    for param in FILE_PARAMETERS:
        if param in defaults:
            value = values.get(param, ast.literal_eval(defaults[param]["default"]))
            if value and value != "none":
                if not Path(value).exists():
                    raise ForecastError(f"--{param}: {value}: file not found")
                inputs.append(Path(value))
    out = run_report(args.kind, name, values, inputs, Path(ns._root))
    return "".join(f"{p}\n" for p in sorted(out.iterdir())) + f"report written to {out}/\n", 0
