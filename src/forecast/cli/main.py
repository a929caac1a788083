"""The `forecast` command: one module per command group registers its subcommands and runs them.

A command module imports nothing heavy until it runs, so `forecast --help` and `--version` answer at once.
Exit status: 0 done, 1 something flagged (a breach, an anomaly, a gap), 2 bad input (one line per problem; a
library error that names a parameter is shown with the option the user typed), 3 a bug (with its traceback).
"""

from __future__ import annotations

import argparse
import sys

from ..core.errors import ForecastError, ParameterError
from ..core.version import __version__
from . import budgets, calibrate, estimate, gpu, init, predict, report, roi, usage, whatif
from .argtypes import OneLineErrors
from .options import NOTES, flush_notes

# Each has COMMANDS (names), add_parsers(sub), run(args) -> (output, exit status) and, when a library
# parameter's option is not --<parameter-with-dashes>, OPTIONS mapping the parameter to it.
COMMAND_MODULES = (init, estimate, calibrate, usage, report, budgets, roi, gpu, whatif, predict)


def parser() -> argparse.ArgumentParser:
    top = OneLineErrors(prog="forecast", description="Predictable AI inference spend.")
    top.add_argument("--version", action="version", version=f"forecast {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    return top


def run(argv: list[str]) -> tuple[str, int]:
    """Run a command and return its output and exit status; raises ForecastError on bad input."""
    args = parser().parse_args(argv)
    module = next(m for m in COMMAND_MODULES if args.command in m.COMMANDS)
    try:
        return module.run(args)
    except ParameterError as exc:
        options = getattr(module, "OPTIONS", {})
        raise exc.with_names(lambda name: options.get(name, "--" + name.replace("_", "-"))) from None


BUG = 3  # exit status of an unexpected error: 0 fine, 1 something flagged, 2 bad input, 3 a bug in forecast


def main(argv: list[str] | None = None) -> int:
    NOTES.clear()
    try:
        out, status = run(sys.argv[1:] if argv is None else argv)
    except ForecastError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a path the user named: not a folder, not writable, a missing parent, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception:  # a bug, not bad input: keep its status apart from 1 (a breach) and 2
        import traceback

        traceback.print_exc()
        print(f"forecast {__version__}: internal error (exit {BUG}): this is a bug in forecast, not in your input; "
              "please report it with the command line and the traceback above", file=sys.stderr)
        return BUG
    sys.stdout.write(out)
    sys.stdout.flush()
    flush_notes()
    return status


if __name__ == "__main__":
    sys.exit(main())
