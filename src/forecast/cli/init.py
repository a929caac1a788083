"""`forecast init [DIR]`: a working folder of editable examples, and what to run next."""

from __future__ import annotations

from pathlib import Path

COMMANDS = ("init",)


def add_parsers(sub) -> None:
    p = sub.add_parser("init", help="write a working folder: example specs, cases, budgets, price overrides")
    p.add_argument("folder", metavar="DIR", nargs="?", default=".", help="where to write it (default: here)")


def run(args) -> tuple[str, int]:
    from ..core.workfolder import write_workfolder

    written = write_workfolder(args.folder)
    folder = Path(args.folder)
    here = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder}\n  "
    lines = [f"wrote {len(written)} files into {folder}/ (see {folder / 'README.md'}):"]
    lines += [f"  {p.relative_to(folder)}" for p in written]
    lines += ["", "next:", f"  {here}forecast estimate workflows/support_triage.yaml",
              "  forecast roi cases/support_triage.yaml", "  forecast report monthly   (the sample company until "
              "you load your usage with forecast ingest)"]
    return "\n".join(lines) + "\n", 0
