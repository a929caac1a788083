"""The command line's own face: help that prints and exits 0, placeholders in user words, no default shown for
an argument the user must give, and nothing heavy loaded to print it."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from forecast.cli.main import COMMAND_MODULES, main, parser
from forecast.cli.report import kind_parser
from forecast.reporting.runner import NOTEBOOKS


def _parsers():
    top = parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    yield "forecast", top
    yield from ((f"forecast {name}", p) for name, p in sub.choices.items())
    yield from ((f"forecast report {kind}", kind_parser(kind)) for kind in NOTEBOOKS)


@pytest.mark.parametrize(("prog", "p"), list(_parsers()), ids=lambda x: x if isinstance(x, str) else "")
def test_placeholders_are_user_words_and_required_arguments_show_no_default(prog, p):
    text = p.format_help()
    assert not re.search(r"(^|[\s\[,=])_", text), f"{prog}: a placeholder names an internal variable:\n{text}"
    for action in p._actions:
        if isinstance(action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
            continue
        required = action.required or (not action.option_strings and action.nargs not in ("?", "*"))
        if required:
            assert "default" not in (action.help or ""), f"{prog} {action.dest}: required, yet help shows a default"


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], ["report", "estimate", "--help"],
                                  ["report", "monthly", "--help"], ["estimate", "--help"], ["init", "--help"]])
def test_help_prints_and_exits_0(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith("usage: forecast")
    if argv == ["report", "--help"]:
        assert all(kind in out for kind in NOTEBOOKS) and "KIND --help" in out
    if argv == ["report", "estimate", "--help"]:
        assert "--name NAME" in out and "--reports-dir DIR" in out and "SPEC" in out


def test_every_command_module_names_its_commands():
    names = [c for m in COMMAND_MODULES for c in m.COMMANDS]
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(names) == sorted(sub.choices)


def test_help_loads_no_library_module():
    code = ("import sys; from forecast.cli.main import parser; parser().format_help(); "
            "heavy = [m for m in ('numpy', 'pandas', 'scipy', 'pydantic', 'duckdb', 'genai_prices', 'yaml') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_choices_the_cli_offers_are_the_librarys():
    from forecast.budgets.status import PROJECTORS
    from forecast.budgets.thresholds import PROJECTION_METHODS

    assert tuple(PROJECTORS) == PROJECTION_METHODS
