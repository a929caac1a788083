"""The notebooks as users open them: thin front ends over the public API that run with the working folder at
notebooks/ (JupyterLab's, checked in a browser by test_jupyterlab_browser.py for estimate and what-if)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forecast.reporting.runner import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
ALL = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


def _code(name: str) -> list[str]:
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", ALL)
def test_notebooks_use_the_library_not_the_cli(name):
    cells = _code(name)
    assert not any("forecast.cli" in c or "argparse" in c for c in cells), name
    assert "import forecast as fc" in "".join(cells) or name == "what_if.ipynb"
    assert all(not c.strip().startswith(("def ", "class ")) and "\ndef " not in c and "= lambda" not in c
               for c in cells), f"{name}: logic belongs in the library, where tests reach it"


@pytest.mark.parametrize("name", ["roi.ipynb", "self_hosting.ipynb", "monthly_forecast.ipynb"])
def test_runs_with_its_folder_as_working_folder(name, tmp_path):
    import papermill as pm

    folder = ROOT / "notebooks"
    before = sorted(p.name for p in folder.iterdir())
    out = tmp_path / name
    pm.execute_notebook(str(folder / name), str(out), kernel_name="python3", progress_bar=False, cwd=str(folder),
                        parameters={"samples": 200} if name == "roi.ipynb" else {"horizon": 3}
                        if name == "monthly_forecast.ipynb" else {})
    executed = json.loads(out.read_text())
    assert not [o for c in executed["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert sorted(p.name for p in folder.iterdir()) == before, "reading must create nothing in the folder"
    if name == "monthly_forecast.ipynb":  # no warehouse there: the packaged sample company, and it says so
        text = json.dumps(executed)
        assert "the packaged sample company" in text and "October 2026" in text


def test_every_report_kind_has_its_notebook():
    assert set(NOTEBOOKS.values()) <= set(ALL)
