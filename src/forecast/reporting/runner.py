"""Report runs: papermill executes a parameterized notebook into reports/<kind>/<name>/.

A run folder holds the executed notebook, a self-contained HTML rendering without code cells
(charts inline as SVG, no script from a CDN) with a provenance footer, an Excel workbook of the
report's tables (<name>.xlsx, reporting.workbook), optionally a PDF of the HTML, and manifest.json
(parameters, input hashes, package version, notebook hash, run times). Runs are built in a hidden
folder and renamed into place when complete, so a report folder is either whole or absent. An existing report is never
overwritten: the next run of the same name is written to <name>-v2/, <name>-v3/, ...
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from ..core.errors import ForecastError
from ..core.names import name_problem
from ..core.resources import packaged
from ..core.version import __version__

NOTEBOOKS = {"estimate": "estimate.ipynb", "monthly": "monthly_forecast.ipynb", "roi": "roi.ipynb",
             "self-hosting": "self_hosting.ipynb"}
TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def notebook_path(kind: str) -> Path:
    """The notebook behind a report kind."""
    if kind not in NOTEBOOKS:
        raise ForecastError(f"report kind {kind!r} is unknown; known kinds: {', '.join(NOTEBOOKS)}")
    return packaged("notebooks", NOTEBOOKS[kind])


def notebook_parameters(notebook: Path) -> dict[str, dict]:
    """Parameters of the cell tagged `parameters`: name -> {inferred_type_name, default, help}."""
    import papermill as pm

    params = pm.inspect_notebook(str(notebook))
    if not params:
        raise ForecastError(f"{notebook}: no cell tagged 'parameters'")
    for name, p in params.items():
        if p["inferred_type_name"] not in TYPES:
            raise ForecastError(f"{notebook}: parameter {name!r} has type {p['inferred_type_name']!r}; "
                                f"report parameters must be one of {', '.join(TYPES)}")
    return params


def check_parameters(notebook: Path, values: dict) -> dict:
    """Values checked against the notebook's parameters cell: unknown names and wrong types are errors."""
    known = notebook_parameters(notebook)
    problems = []
    for name, value in values.items():
        if name not in known:
            problems.append(f"{notebook.name}: parameter {name!r} is unknown; known: {', '.join(known)}")
            continue
        want = TYPES[known[name]["inferred_type_name"]]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            problems.append(f"{notebook.name}: parameter {name!r} = {value!r} must be a {want.__name__}")
    if problems:
        raise ForecastError(problems)
    return {k: float(v) if TYPES[known[k]["inferred_type_name"]] is float else v for k, v in values.items()}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (a folder: of its files' names and bytes, in sorted order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        digest.update(str(f.relative_to(path)).encode() if path.is_dir() else b"")
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def check_report_name(name: str) -> str:
    """A report name is one folder name, so the report lands in reports/<kind>/ and nowhere else."""
    problem = name_problem(name) if isinstance(name, str) else "must be a string"
    if problem:
        raise ForecastError(f"report name {name!r} {problem}")
    return name


def free_report_dir(root: Path, kind: str, name: str) -> Path:
    """Claim reports/<kind>/<name>/, or the first free <name>-vN/, by creating it empty (mkdir is atomic, so two
    runs never claim the same folder); an earlier report is never overwritten, and a link is never followed."""
    check_report_name(name)
    folder = (root / kind).resolve()
    for n in range(1, 10_000):
        candidate = folder / (name if n == 1 else f"{name}-v{n}")
        if candidate.parent != folder:  # cannot happen with a checked name; never write outside the folder
            raise ForecastError(f"report name {name!r} leaves {folder}")
        try:
            candidate.mkdir(parents=True)
            return root / kind / candidate.name
        except FileExistsError:
            continue
    raise ForecastError(f"{root / kind}: 9,999 versions of {name!r} exist already")


def render_html(executed: Path, html: Path) -> None:
    """Write the notebook as HTML without code cells or prompts, with no script from the network."""
    import nbformat
    from nbconvert import HTMLExporter

    template = resources.files("forecast.reporting") / "templates" / "offline.html.j2"
    exporter = HTMLExporter(template_name="lab", template_file=str(template), exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    html.write_text(body, encoding="utf-8")


def _execute(notebook: Path, out: Path, parameters: dict) -> None:
    import papermill as pm

    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        pm.execute_notebook(str(notebook), str(out), parameters=parameters, kernel_name="python3",
                            progress_bar=False, cwd=os.getcwd())
    except pm.PapermillExecutionError as exc:
        raise ForecastError(f"{notebook.name}: cell {exc.exec_count} failed: {exc.ename}: "
                            f"{str(exc.evalue).splitlines()[0] if exc.evalue else ''}") from None


def render_pdf(page: Path, pdf: Path) -> None:
    """Print an HTML page to PDF (A4) with headless Chromium through Playwright."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        raise ForecastError("--pdf needs Playwright and Chromium: pip install playwright, and install chromium "
                            "(Debian: apt install chromium)") from None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            try:
                tab = browser.new_page()
                tab.goto(page.resolve().as_uri(), wait_until="load")
                tab.pdf(path=str(pdf), format="A4", print_background=True,
                        margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
            finally:
                browser.close()
    except Error as exc:
        raise ForecastError(f"--pdf: Chromium could not print {page.name}: {str(exc).splitlines()[0]}") from None


def run_report(kind: str, name: str, parameters: dict, inputs: list[Path], root: Path = Path("reports"),
               pdf: bool = False) -> Path:
    """Execute the `kind` notebook with `parameters` into a new report folder; returns the folder. A refused
    name or input leaves nothing behind: the checks come before any folder or kernel."""
    from .provenance import add_footer, data_as_of, provenance
    from .workbook import write_workbook

    notebook = notebook_path(kind)
    check_report_name(name)
    parameters = check_parameters(notebook, parameters)
    missing = [str(p) for p in inputs if not Path(p).exists()]
    if missing:
        raise ForecastError(f"input not found: {', '.join(missing)}")
    input_hashes = {str(p): sha256(Path(p)) for p in inputs}  # before the run, as the run read them
    started = datetime.now(UTC)
    (root / kind).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root / kind))
    stem = NOTEBOOKS[kind].removesuffix(".ipynb")
    outputs = [f"{stem}.ipynb", f"{stem}.html", f"{name}.xlsx"] + ([f"{stem}.pdf"] if pdf else [])
    try:
        _execute(notebook, work / f"{stem}.ipynb", parameters)
        generated = datetime.now(UTC)
        facts = provenance(kind, name, parameters, input_hashes, sha256(notebook), generated,
                           data_as_of([Path(p) for p in inputs], parameters, generated))
        render_html(work / f"{stem}.ipynb", work / f"{stem}.html")
        add_footer(work / f"{stem}.html", facts)
        write_workbook(work / f"{stem}.ipynb", work / f"{name}.xlsx", facts)
        if pdf:
            render_pdf(work / f"{stem}.html", work / f"{stem}.pdf")
    except ForecastError as exc:
        failed = free_report_dir(root, kind, f"failed-{name}")
        work.replace(failed)  # onto the empty folder just claimed
        raise ForecastError(f"{exc} (executed notebook kept at {failed / (stem + '.ipynb')})") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    manifest = {
        "kind": kind, "name": name, "forecast_version": __version__, "python": platform.python_version(),
        "notebook": {"path": f"notebooks/{notebook.name}", "sha256": sha256(notebook)},
        "started_utc": started.isoformat(), "finished_utc": datetime.now(UTC).isoformat(),
        "parameters": parameters, "inputs": input_hashes, "data_as_of": facts["Data as of"],
        "price_data": facts["Price data"], "outputs": outputs,
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    try:
        final = free_report_dir(root, kind, name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)  # no hidden half-report left behind
        raise
    work.replace(final)  # onto the empty folder just claimed
    return final
