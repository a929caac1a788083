"""What-if scenarios as spec YAML: a Workflow back to the document `load_workflow` reads, written so a saved
scenario reads like a hand-written spec (design.spec_data) and loads back to an equal Workflow."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..core.errors import SpecError
from ..design.spec_data import Flow, workflow_data
from ..design.specs import Workflow, parse_workflow_data


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))


def validated(workflow: Workflow, source: str) -> Workflow:
    """Re-validate a changed Workflow through the YAML boundary (replace() does not validate)."""
    return parse_workflow_data(workflow_data(workflow), source)


def scenario_yaml(workflow: Workflow, header: list[str] = ()) -> str:
    """Spec YAML text of a workflow, with `header` lines as comments on top."""
    body = yaml.dump(workflow_data(workflow), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return "".join(f"# {line}\n" for line in header) + body


def save_scenario(workflow: Workflow, path: str | Path, header: list[str] = (), overwrite: bool = False) -> Path:
    """Write the scenario as a spec YAML file; an existing file is kept unless `overwrite`."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError(f"{path}: a scenario is saved as a .yaml spec file")
    if path.exists() and not overwrite:
        raise SpecError(f"{path}: already exists; choose another name (scenarios are never overwritten)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scenario_yaml(workflow, header), encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path
