"""Report runs: every run writes a new folder with its outputs and a manifest; nothing is overwritten.

Until the notebook reports land, the main job estimates every workflow spec in a folder.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from . import __version__
from .errors import ForecastError
from .estimate import estimate
from .prices import PriceBook
from .render import estimate_table, to_json
from .specs import load_workflow


def new_run_dir(root: Path, kind: str, now: datetime) -> Path:
    """reports/<kind>/<UTC timestamp>[-N]/, created fresh (never an existing folder)."""
    base = root / kind / now.strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise ForecastError(f"{base}: could not create a new report folder")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_estimates(spec_dir: Path, reports_root: Path, book: PriceBook, on: date,
                    samples: int = 100_000, seed: int = 0) -> Path:
    """Estimate every *.yaml in `spec_dir`; write <name>.txt and <name>.json plus manifest.json."""
    specs = sorted(spec_dir.glob("*.yaml"))
    if not specs:
        raise ForecastError(f"{spec_dir}: no *.yaml workflow specs found")
    workflows = [(path, load_workflow(path)) for path in specs]  # validate all before writing anything
    started = datetime.now(UTC)
    out = new_run_dir(reports_root, "estimates", started)
    outputs = []
    for path, workflow in workflows:
        doc = estimate(workflow, book, on, samples, seed)
        doc["spec"] = {"path": str(path), "sha256": sha256(path)}
        (out / f"{path.stem}.txt").write_text(estimate_table(doc), encoding="utf-8")
        (out / f"{path.stem}.json").write_text(to_json(doc) + "\n", encoding="utf-8")
        outputs += [f"{path.stem}.txt", f"{path.stem}.json"]
    manifest = {
        "kind": "estimates", "forecast_version": __version__,
        "started_utc": started.isoformat(), "finished_utc": datetime.now(UTC).isoformat(),
        "parameters": {"price_date": on.isoformat(), "samples": samples, "seed": seed},
        "inputs": {str(p): sha256(p) for p, _ in workflows}
        | ({book.overrides_path: book.overrides_sha256()} if book.overrides_path else {}),
        "outputs": outputs,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def main() -> int:
    overrides = Path("data/prices/overrides.yaml")
    try:
        out = write_estimates(Path("data/workflows"), Path("reports"),
                              PriceBook.from_file(overrides if overrides.exists() else None),
                              datetime.now(UTC).date())
    except ForecastError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    for path in sorted(out.iterdir()):
        print(path)
    print(f"reports written to {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
