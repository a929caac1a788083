"""What-if scenarios as spec YAML: a Workflow back to the document `load_workflow` reads, written so a saved
scenario reads like a hand-written spec (design.spec_data) and loads back to an equal Workflow."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..core.errors import SpecError
from ..core.names import name_problem
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
    """Write the scenario as a spec YAML file; an existing file (or link, even a dangling one) is kept unless
    `overwrite`."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml"):
        raise SpecError(f"{path}: a scenario is saved as a .yaml spec file")
    text = scenario_yaml(workflow, header)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w" if overwrite else "x", encoding="utf-8") as fh:  # "x": O_EXCL, never through a link
            fh.write(text)
    except FileExistsError:
        raise SpecError(f"{path}: already exists; choose another name (scenarios are never overwritten)") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path


def scenario_file(folder: str | Path, name: str) -> Path:
    """The file that "save as NAME" writes: NAME is one file name ending .yaml or .yml, and the file lands directly
    in `folder` (the panel's save folder). The folder's own path (absolute, or relative to the current folder)
    followed by a name is accepted too. Raises SpecError naming the value and the rule; nothing is created.

    >>> scenario_file("/srv/scenarios", "plan-b.yaml"), scenario_file("/srv/scenarios", "/srv/scenarios/c.yml")
    (PosixPath('/srv/scenarios/plan-b.yaml'), PosixPath('/srv/scenarios/c.yml'))
    >>> scenario_file("/srv/scenarios", "../plan-b.yaml")
    Traceback (most recent call last):
    forecast.core.errors.SpecError: save as '../plan-b.yaml': must not contain '/' or '\\'
    """
    home = Path(folder).resolve()
    text = name.strip()
    given = Path(text)
    if len(given.parts) > 1 and (Path.cwd() / given).parent.resolve() == home:  # the folder's own path + a name
        text = given.name
    problem = name_problem(text) or (None if Path(text).suffix in (".yaml", ".yml") else "must end in .yaml or .yml")
    if problem:
        raise SpecError(f"save as {name!r}: {problem}")
    path = home / text
    if path.parent != home:  # cannot happen with a checked name; never write outside the folder
        raise SpecError(f"save as {name!r}: leaves {home}")
    return path


def save_scenario_in(workflow: Workflow, folder: str | Path, name: str, header: list[str] = ()) -> Path:
    """Save the scenario as `name` in `folder` (see scenario_file); the folder itself is created if missing."""
    return save_scenario(workflow, scenario_file(folder, name), header)  # refuses an existing file or link
