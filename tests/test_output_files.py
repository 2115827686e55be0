"""Exports never destroy what they must not: projects, devices, read-only files, the old file on failure."""

import csv
import os
import stat
from pathlib import Path

import pytest

from core.cli import main
from core.output_files import OutputError, check_output_path, replacing
from core.store import Project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("proj") / "p.collapse"
    assert main(["run", "--generations", "4", "--samples", "30", "-q", "-o", str(path)]) == 0
    return path


def _fingerprint(path: Path) -> bytes:
    return path.read_bytes()


def test_an_export_never_overwrites_the_project_or_its_journal_name(project: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = _fingerprint(project)
    for target in (project, project.with_name(project.name + "-journal"), project.with_name(project.name + "-wal")):
        assert main(["export", str(project), "--metrics-csv", str(target)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "project file" in err
    assert _fingerprint(project) == before
    with Project(project, readonly=True) as p:
        assert len(p.runs()) == 1


def test_refusals_name_the_reason(tmp_path: Path) -> None:
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    cases = {
        str(tmp_path): "is a folder",
        "/dev/null": "not a regular file",
        str(a_file / "under.csv"): "is a file, not a folder",
        str(tmp_path / "missing" / "x.csv"): "does not exist",
        "": "needs a file name",
    }
    for path, fragment in cases.items():
        with pytest.raises(OutputError, match=fragment):
            check_output_path(path)
    assert a_file.read_text() == "x"


def test_a_read_only_file_is_left_alone(tmp_path: Path) -> None:
    ro = tmp_path / "ro.csv"
    ro.write_text("keep me")
    ro.chmod(0o444)
    try:
        with pytest.raises(OutputError, match="read-only"), replacing(ro) as tmp:
            tmp.write_text("new")
        assert ro.read_text() == "keep me"
        assert [p.name for p in tmp_path.iterdir()] == ["ro.csv"]
    finally:
        ro.chmod(0o644)


def test_a_failure_keeps_the_old_file_and_leaves_no_partial(tmp_path: Path) -> None:
    old = tmp_path / "out.csv"
    old.write_text("old contents")
    with pytest.raises(RuntimeError), replacing(old) as tmp:
        tmp.write_text("half")
        raise RuntimeError("cancelled half way")
    assert old.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_symlink_is_written_through_and_permissions_kept(tmp_path: Path, project: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert main(["export", str(project), "--metrics-csv", str(link)]) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text().startswith("run,replicate,generation,metric,value")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_dash_writes_the_csv_to_standard_output(project: Path, capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(project), "--metrics-csv", "-"]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == ["run", "replicate", "generation", "metric", "value"]
    assert f"wrote {len(rows) - 1} metric rows to standard output" in err
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--metrics-csv", "{d}/a.csv", "--histograms-csv", "{d}/a.csv"], "given for two outputs"),
        (["--metrics-csv", "-", "--samples-csv", "-"], "only one CSV can go to standard output"),
        (["--png", "-"], "need a file name"),
        (["--metrics-csv", "{d}/a.csv", "--generation", "2"], "--generation only applies to --samples-csv"),
        (["--samples-csv", "{d}/a.csv", "--generation", "99"], "beyond the last stored generation (4)"),
        (["--metrics-csv", "{d}/a.csv", "--png", "{d}/a.png", "--size", "9x9"], "--size"),
    ],
)
def test_bad_export_requests_write_nothing(project: Path, tmp_path: Path, extra: list[str], fragment: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    args = [a.format(d=tmp_path) for a in extra]
    assert main(["export", str(project), *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
