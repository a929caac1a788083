"""Report names are one folder name: a bad --name (or a name made from the inputs) is refused before a kernel
starts, in one line, and leaves nothing behind; a good one lands inside --reports-dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from forecast.cli.main import main
from forecast.core.errors import ForecastError
from forecast.reporting import runner

BAD = ["../x", "../../x", "a/b", "a\\b", "..", ".", ".hidden", "", "a..b", "a\x00b", "a\nb", "a\tb", "x" * 101,
       "é" * 101, "\U0001f600" * 60]  # the last: 60 characters but 240 bytes, too long for most file systems


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture()
def no_kernel(monkeypatch):
    """A stand-in for papermill and nbconvert: a refused name must never get this far."""
    calls = []

    def execute(notebook, out, parameters):
        calls.append(out)
        out.write_text("{}", encoding="utf-8")

    monkeypatch.setattr(runner, "_execute", execute)
    monkeypatch.setattr(runner, "render_html", lambda executed, html: html.write_text("<html></html>"))
    return calls


def _escape_to(reports: Path, target: Path) -> str:
    """'/../../..<target>': from reports/self-hosting up to / and down to target (the issue's example)."""
    return "/" + "../" * len((reports / "self-hosting").parts) + str(target).lstrip("/")


def _bad_names(tmp_path: Path, reports: Path) -> list[str]:
    return [*BAD, _escape_to(reports, tmp_path / "outside"), str(tmp_path / "outside")]


def test_cli_refuses_a_name_that_is_not_one_folder_name_before_any_work(tmp_path, monkeypatch, capsys, no_kernel):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    reports = work / "reports"
    before = _tree(tmp_path)
    for name in _bad_names(tmp_path, reports):
        argv = ["report", "self-hosting", "--prices", "none", "--name", name, "--reports-dir", str(reports)]
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code
        err = capsys.readouterr().err
        assert status == 2, name
        assert err.count("\n") == 1 and err.startswith("error: forecast report self-hosting: argument --name: "), err
        assert repr(name) in err, err
        assert _tree(tmp_path) == before, f"{name!r} left {set(_tree(tmp_path)) - set(before)}"
    assert no_kernel == []
    # and a plain name lands in its folder, with no temporary folder left
    assert main(["report", "self-hosting", "--prices", "none", "--name", "q3-plan", "--reports-dir", "reports"]) == 0
    assert _tree(reports) == ["self-hosting", "self-hosting/q3-plan", "self-hosting/q3-plan/manifest.json",
                              "self-hosting/q3-plan/q3-plan.xlsx", "self-hosting/q3-plan/self_hosting.html",
                              "self-hosting/q3-plan/self_hosting.ipynb"]


def test_a_name_made_from_the_inputs_is_checked_too(tmp_path, monkeypatch, capsys, no_kernel):
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    assert main(["report", "self-hosting", "--prices", "none", "--model", "../../x"]) == 2
    err = capsys.readouterr().err
    assert err == ("error: forecast report self-hosting: the report name '../../x-h100' (from --model, --gpu) must "
                   "not contain '/' or '\\'; give --name NAME\n")
    assert _tree(tmp_path) == before and no_kernel == []


def test_run_report_refuses_a_bad_name_and_leaves_nothing(tmp_path, no_kernel):
    reports = tmp_path / "work" / "reports"
    reports.mkdir(parents=True)
    before = _tree(tmp_path)
    for name in _bad_names(tmp_path, reports):
        with pytest.raises(ForecastError, match=r"^report name "):
            runner.run_report("self-hosting", name, {}, [], reports)
        assert _tree(tmp_path) == before, f"{name!r} left {set(_tree(tmp_path)) - set(before)}"
    assert no_kernel == []
    out = runner.run_report("self-hosting", "plain", {}, [], reports)
    assert out.resolve().parent == (reports / "self-hosting").resolve() and out.name == "plain"
    assert runner.run_report("self-hosting", "plain", {}, [], reports).name == "plain-v2"
    assert _tree(reports / "self-hosting") == sorted(
        [f"{d}{f}" for d in ("plain", "plain-v2") for f in ("", "/manifest.json", "/plain.xlsx",
                                                               "/self_hosting.html", "/self_hosting.ipynb")])


def test_free_report_dir_stays_inside_its_folder(tmp_path):
    (tmp_path / "reports" / "kind").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "reports" / "kind" / "linked").symlink_to(tmp_path / "elsewhere")  # taken: the next version
    got = runner.free_report_dir(tmp_path / "reports", "kind", "linked")
    assert got == tmp_path / "reports" / "kind" / "linked-v2" and not any((tmp_path / "elsewhere").iterdir())
    for name in ("../x", "/x", ".x", "a\\b", "a\x00b", "x" * 300):
        with pytest.raises(ForecastError, match=r"^report name "):
            runner.free_report_dir(tmp_path / "reports", "kind", name)
    assert sorted(p.name for p in (tmp_path / "reports" / "kind").iterdir()) == ["linked", "linked-v2"]


def test_an_empty_reports_dir_is_refused_not_taken_for_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["report", "self-hosting", "--reports-dir", ""])
    assert stop.value.code == 2 and "--reports-dir: '' is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
