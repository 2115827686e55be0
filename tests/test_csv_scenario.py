"""`csv`: every bad file gives one clear message (API and CLI), good files run in 1-D and 2-D with every model,
the MLE closed form holds for model=gaussian, results are deterministic and resumable."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.cli import main
from core.engine import RunSpec, Simulation
from core.params import ParamError
from core.runner import create_runs, drive
from core.scenarios import create_scenario, csv_data, scenario_class
from core.scenarios.csv_data import EXAMPLE_CSV, Csv2DScenario, CsvScenario, load_csv
from core.store import Project, ProjectError
from tests.simulate import straight_and_resumed

ROOT = Path(__file__).resolve().parents[1]
GOOD = "a,b,label\n" + "".join(f"{i * 0.5:.1f},{(i * 7) % 11},x{i}\n" for i in range(30))


def _write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> str:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return str(p)


def _build(path: str, **settings: Any) -> RunSpec:
    return RunSpec.build("csv", "replace", {"path": path, **settings}, 3, 50, 0)


def _error(path: str, **settings: Any) -> str:
    with pytest.raises(ParamError) as info:
        _build(path, **settings)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("csv file ")
    return msg


BAD_FILES = [
    ("empty", b"", {}, "is empty"),
    ("blank lines only", "\n  \n\n", {}, "is empty"),
    ("header only", "a,b\n", {}, "has a header row but no data rows"),
    ("no header", "1.5,2\n" * 20, {}, "has no header row"),
    ("non-numeric", GOOD, {"columns": "label"}, "column 'label' is not numeric: line 2 has 'x0'"),
    ("decimal comma", "a;b\n" + "1,5;2\n" * 20, {}, "decimal commas and thousands separators are not supported"),
    ("separators only", ",,\n, ,\n,\n", {}, "is empty (no cell holds anything)"),
    ("unknown column", GOOD, {"columns": "c"}, "has no column named 'c'; its columns are: 'a', 'b', 'label'"),
    ("wrong case", GOOD, {"columns": "A"}, "did you mean 'a'?"),
    ("index out of range", GOOD, {"columns": "3"}, "column index 3 is out of range: the file has 3 columns (0..2)"),
    ("three columns", GOOD, {"columns": "a,b,label"}, "columns must name 1 or 2 columns, got 3"),
    ("same column twice", GOOD, {"columns": "a,0"}, "the two columns are the same column ('a')"),
    ("duplicate names", "a,a\n" + "1,2\n" * 20, {"columns": "a"}, "appears 2 times in the header"),
    ("too few rows", "a\n1\n2\n3\n", {}, "has only 3 usable rows; at least 10 are needed"),
    ("blank cells", "a,b\n" + "1,2\n" * 12 + ",3\n4,NA\n", {"columns": "a,b"},
     "2 rows of 14 have blank or missing (NA) cells in column 'a' or 'b' (first on line 14)"),
    ("blanks leave too few", "a\n" + "1\n2\n\n" + "NaN\n" * 20, {"missing": "drop"},
     "has only 2 usable rows after leaving out 20 with blank cells"),
    ("infinite", "a\n" + "1\n" * 12 + "inf\n", {}, "non-finite value 'inf' on line 14"),
    ("constant", "a\n" + "2.5\n" * 20, {}, "column 'a' holds the same value (2.5) in every row"),
    ("latin-1", "größe\n".encode("latin-1") + b"1\n2\n" * 10, {}, "is not UTF-8 text (byte 0xf6 on line 1)"),
    ("utf-16", "a\n1\n2\n".encode("utf-16"), {}, "is UTF-16 text; save it as UTF-8"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", {}, "does not look like a CSV text file"),
]


@pytest.mark.parametrize(("case", "content", "settings", "expected"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_gives_one_clear_message(tmp_path: Path, case: str, content: str | bytes,
                                          settings: dict[str, Any], expected: str) -> None:
    path = _write(tmp_path, content)
    msg = _error(path, **settings)
    assert path in msg
    assert expected in msg, msg


def test_missing_path_and_directory(tmp_path: Path) -> None:
    assert "not found" in _error(str(tmp_path / "nope.csv"))
    assert "is a directory, not a CSV file" in _error(str(tmp_path))


def test_size_and_row_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, GOOD)
    monkeypatch.setattr(csv_data, "MAX_ROWS", 20)
    assert "has more than 20 data rows (the limit)" in _error(path)
    monkeypatch.setattr(csv_data, "MAX_BYTES", 100)
    assert "is too large" in _error(path) and "the limit is" in _error(path)
    assert csv_data.MAX_BYTES == 100 and (tmp_path / "data.csv").stat().st_size > 100


def test_tolerated_formats(tmp_path: Path) -> None:
    """A UTF-8 BOM, semicolons, tabs, CRLF line ends, quoted cells and blank lines are all fine."""
    rows = [(i * 0.25, (i * 3) % 7) for i in range(20)]
    variants = {
        "bom.csv": "\ufeffx,y\n" + "".join(f"{a},{b}\n" for a, b in rows),
        "semi.csv": "x;y\r\n" + "".join(f"{a};{b}\r\n" for a, b in rows),
        "tab.csv": "x\ty\n\n" + "".join(f'"{a}"\t{b}\n\n' for a, b in rows),
    }
    for name, text in variants.items():
        data = load_csv(_write(tmp_path, text, name), "x,y")
        assert data.names == ("x", "y")
        assert np.array_equal(data.values, np.asarray(rows, dtype=np.float64)), name


def test_missing_drop_leaves_rows_out_and_says_so(tmp_path: Path) -> None:
    path = _write(tmp_path, "a,b\n" + "".join(f"{i},{i % 4}\n" for i in range(15)) + ",1\n7,?\n")
    spec = _build(path, columns="a,b", missing="drop")
    recs = list(Simulation(spec).run())
    assert recs[0].model_params["rows"] == 15 and recs[0].model_params["dropped_rows"] == 2
    sim = Simulation(spec)
    sim.first()
    assert sim.scenario.ref["dropped_rows"] == 2


def test_cli_bad_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "größe\n".encode("latin-1") + b"1\n" * 20)
    code = main(["run", "--scenario", "csv", "--set", f"path={path}", "-o", str(tmp_path / "x.collapse")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: csv file ") and "not UTF-8" in err
    assert "Traceback" not in err


# ---- not a regular file, or more than the limit: refused before (or while) reading, never read unbounded ----------
def _refused_fast(path: str) -> str:
    """The message for `path`, checked to come in well under 2 s without reading much (a device is endless)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        msg = _error(path)
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 2.0, elapsed
    assert peak < 8 * 2**20, peak
    return msg


@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_device_is_refused_before_it_is_opened(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    msg = _refused_fast(device)
    assert msg == f"csv file {device}: is not a regular file (it is a device); choose a CSV file saved on disk"


@pytest.mark.timeout(10)
def test_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    link = tmp_path / "data.csv"
    try:
        os.symlink("/dev/zero", link)
    except (OSError, NotImplementedError):
        pytest.skip("no symbolic links here")
    msg = _refused_fast(str(link))
    assert str(link) in msg and "is not a regular file (it is a device)" in msg


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # no writer: a plain open() would wait for one forever
    msg = _refused_fast(str(fifo))
    assert str(fifo) in msg and "is not a regular file (it is a named pipe)" in msg


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_fifo_swapped_in_after_the_check_does_not_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A path that passed the check but is a FIFO by the time it is opened: opened non-blocking, then refused."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    regular = os.stat(_write(tmp_path, GOOD))
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: regular if str(p) == str(fifo) else real_stat(p, *a, **k))
    with pytest.raises(ParamError, match="is not a regular file \\(it is a named pipe\\)"):
        load_csv(str(fifo), "")


@pytest.mark.timeout(10)
@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.bind(str(path))
        except OSError:
            pytest.skip("cannot bind a Unix socket here")
        assert "is not a regular file (it is a socket)" in _refused_fast(str(path))


@pytest.mark.timeout(10)
def test_sparse_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(GOOD.encode())
        f.truncate(csv_data.MAX_BYTES + 10)  # a hole: no disk used
    msg = _refused_fast(str(path))
    assert str(path) in msg
    assert f"is too large ({csv_data.MAX_BYTES + 10:,} bytes; the limit is {csv_data.MAX_BYTES:,} bytes)" in msg
    with open(path, "r+b") as f:
        f.truncate(3 * csv_data.MAX_BYTES)
    assert "is too large (60.0 MB; the limit is 20 MB); use a sample of it" in _refused_fast(str(path))


def test_file_larger_than_it_claims_is_read_only_to_the_limit(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The size check is not trusted: what the read returns is capped at MAX_BYTES + 1 bytes too."""
    path = _write(tmp_path, GOOD * 20)
    small = os.stat(_write(tmp_path, "a\n1\n", "small.csv"))
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: small if str(p) == path else real_stat(p, *a, **k))
    monkeypatch.setattr(csv_data, "MAX_BYTES", 1000)
    reads: list[int] = []
    real_fdopen = os.fdopen

    class Spy:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return self.fh.read(n)

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Spy(real_fdopen(*a, **k)))
    with pytest.raises(ParamError, match="is too large \\(more than the .* limit could be read from it"):
        load_csv(path, "a")
    assert reads == [1001]


@pytest.mark.skipif(not os.path.isfile("/proc/self/maps"), reason="no /proc here")
def test_proc_file_that_reports_size_zero_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.stat("/proc/self/maps").st_size != 0:
        pytest.skip("/proc reports real sizes here")
    monkeypatch.setattr(csv_data, "MAX_BYTES", 64)
    assert "could be read from it, whatever size it reports" in _error("/proc/self/maps")


@pytest.mark.parametrize("path", ["bad\nname.csv", "nul\x00byte.csv", "tab\there.csv"])
def test_path_with_control_characters_gives_one_line(tmp_path: Path, path: str) -> None:
    msg = _error(str(tmp_path / path))
    assert "\n" not in msg and "\x00" not in msg and "\t" not in msg
    assert "not found" in msg or "cannot be opened" in msg


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_cli_refuses_a_device_and_a_fifo_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "a device"), (str(fifo), "a named pipe")):
        out = tmp_path / "x.collapse"
        code = main(["run", "--scenario", "csv", "--set", f"path={path}", "-o", str(out)])
        err = capsys.readouterr().err
        assert code == 2, err
        assert err == f"error: csv file {path}: is not a regular file (it is {kind}); choose a CSV file saved on disk\n"
        assert not out.exists()
    # and from the real entry point, in its own process: it must end (not wait on the pipe) without a traceback
    res = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--scenario", "csv", "--set",
                          f"path={fifo}", "-o", str(tmp_path / "y.collapse")], capture_output=True, text=True,
                         cwd=ROOT, timeout=50)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "is not a regular file (it is a named pipe)" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "y.collapse").exists()


# ---- below float32 resolution --------------------------------------------------------------------------------
def _column_file(tmp_path: Path, values: list[float], name: str = "x.csv") -> str:
    """A file with a good column `b` and the column `x` holding `values`."""
    return _write(tmp_path, "b,x\n" + "".join(f"{i % 7},{v!r}\n" for i, v in enumerate(values)), name)


FLOAT32_CASES = [
    ("1e8 + thousandths", [1e8 + 0.001 * (i + 1) for i in range(20)], "100000000"),
    ("1.0000001 and 1.0000002", [1.0000001, 1.0000002] * 10, "1"),
    ("negative", [-5e9 + 0.001 * (i % 5) for i in range(20)], "-5000000000"),
    ("1000 +- 5e-4", [1000 + 5e-4 * (-1) ** i for i in range(20)], "1000"),  # 5e-7 of the size: just below
]


@pytest.mark.parametrize(("case", "values", "offset"), FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
@pytest.mark.parametrize("columns", ["x", "b,x"])
def test_column_below_float32_resolution_is_refused(tmp_path: Path, case: str, values: list[float],
                                                     offset: str, columns: str) -> None:
    path = _column_file(tmp_path, values)
    msg = _error(path, columns=columns)
    assert path in msg
    assert "column 'x' varies too little for its size" in msg, msg
    assert "float32 samples keep about 7 significant digits" in msg and "at least 1e-06 is needed" in msg
    assert msg.endswith(f"subtract an offset from the column, such as {offset}"), msg
    # the suggested offset works: the shifted column is accepted
    shifted = _column_file(tmp_path, [v - float(offset) for v in values], "shifted.csv")
    assert load_csv(shifted, columns).values.shape == (len(values), len(columns.split(",")))


def test_column_too_small_in_absolute_terms_is_refused(tmp_path: Path) -> None:
    values = [1e-35 * ((i * 7) % 11 - 5) for i in range(20)]
    msg = _error(_column_file(tmp_path, values), columns="x")
    assert "column 'x' varies too little to be stored" in msg and "below 1e-30" in msg
    assert "rescale the column (e.g. multiply it by 1e35)" in msg
    assert load_csv(_column_file(tmp_path, [v * 1e35 for v in values], "ok.csv"), "x").values.shape == (20, 1)


def test_constant_column_keeps_its_own_message(tmp_path: Path) -> None:
    """Identical in float64: 'nothing to model'; identical only once rounded to float32: the float32 message."""
    assert "holds the same value (1e+08) in every row" in _error(_column_file(tmp_path, [1e8] * 20), columns="x")
    near = _column_file(tmp_path, [1.0, 1.0 + 1e-12] * 10, "near.csv")
    assert "varies too little for its size" in _error(near, columns="x")


@pytest.mark.parametrize(("mean", "std"), [(1000.0, 0.01), (1000.0, 2e-3), (1e8, 300.0), (-1e4, 0.05), (0.0, 1e-20)])
def test_ordinary_data_near_the_threshold_is_accepted(tmp_path: Path, mean: float, std: float) -> None:
    rng = np.random.default_rng(0)
    values = [float(v) for v in mean + std * rng.standard_normal(200)]
    path = _column_file(tmp_path, values)
    data = load_csv(path, "x")
    assert data.values[:, 0].std() == pytest.approx(std, rel=0.2)
    recs = list(Simulation(_build(path, columns="b,x", model="gaussian")).run())
    assert all(np.isfinite(r.metrics["w1"]) for r in recs)
    assert all(np.isfinite(r.metrics["fit_var"]) and r.metrics["fit_var"] > 0 for r in recs[1:])


def test_cli_float32_column_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _column_file(tmp_path, [1e8 + 0.001 * (i + 1) for i in range(20)])
    out = tmp_path / "x.collapse"
    code = main(["run", "--scenario", "csv", "--set", f"path={path}", "--set", "columns=x", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: csv file {path}: column 'x' varies too little")
    assert "Traceback" not in err and not out.exists()


# ---- good files -------------------------------------------------------------------------------------------------
def test_bundled_example_is_the_default() -> None:
    assert EXAMPLE_CSV.is_file()
    data = load_csv("", "")
    assert data.names == ("petal_length",) and data.values.shape == (150, 1)
    spec = RunSpec.build("csv", "replace", {}, 2, 40, 0)
    assert scenario_class("csv").variant(spec.scenario_params) is CsvScenario
    assert scenario_class("csv").variant({"columns": "0, 2"}) is Csv2DScenario


@pytest.mark.parametrize("columns", ["petal_length", "petal_length,sepal_width"])
@pytest.mark.parametrize("model", ["gaussian", "gmm", "kde"])
def test_good_file_runs_every_model(columns: str, model: str) -> None:
    dims = len(columns.split(","))
    spec = RunSpec.build("csv", "replace", {"columns": columns, "model": model}, 4, 120, 5)
    sim = Simulation(spec)
    recs = list(sim.run())
    assert sim.scenario.view == ("hist1d" if dims == 1 else "hist2d")
    assert sim.scenario.regenerable == (model != "kde")
    rows = {r.tobytes() for r in load_csv("", columns).values.astype(np.float32)}
    real = recs[0].samples.reshape(120, dims)
    assert all(r.tobytes() in rows for r in real)  # generation 0: rows of the file (with replacement)
    for r in recs:
        assert r.samples.dtype == np.float32 and r.samples.shape == ((120,) if dims == 1 else (120, 2))
        assert np.isfinite(r.metrics["w1"]) and np.isfinite(r.metrics["nll"])
        assert r.curve is not None and np.all(np.isfinite(r.curve))
    assert np.isfinite(recs[1].metrics["fit_var"])
    assert sim.scenario.ref["columns"] == columns.split(",")


@pytest.mark.parametrize(("policy", "settings"), [
    ("mix", {"alpha": 0.5}),
    ("accumulate", {}),
    ("filter", {"verifier": "likelihood", "threshold": 0.1}),
    ("filter", {"verifier": "ratio"}),
    ("multi-source", {"families": "gaussian,gmm,kde"}),
])
def test_policies_run(policy: str, settings: dict[str, Any]) -> None:
    for columns in ("0", "0,3"):
        recs = list(Simulation(RunSpec.build("csv", policy, {"columns": columns, **settings}, 3, 80, 1)).run())
        assert len(recs) == 4 and all(np.isfinite(r.metrics["var_ratio"]) for r in recs)


def test_gaussian_refit_matches_the_mle_closed_form() -> None:
    """model=gaussian under replace: E[fit_var_n] = var(file) ((M-1)/M)^n (generation 0 bootstraps the file)."""
    m, gens, seeds = 10, 6, 800
    settings = {"model": "gaussian", "columns": "sepal_width"}
    fit_var = np.empty((seeds, gens))
    for s in range(seeds):
        recs = list(Simulation(RunSpec.build("csv", "replace", settings, gens, m, 3000 + s)).run())
        fit_var[s] = [r.metrics["fit_var"] for r in recs[1:]]
    spec = RunSpec.build("csv", "replace", settings, gens, m, 0)
    theory = CsvScenario.theory("fit_var", np.arange(1, gens + 1), spec.theory_run())
    assert theory is not None
    var_file = float(load_csv("", "sepal_width").values.var())
    assert theory == pytest.approx(var_file * (0.9 ** np.arange(1, gens + 1)))
    mean = fit_var.mean(axis=0)
    se = fit_var.std(axis=0, ddof=1) / np.sqrt(seeds)
    for n in range(gens):
        assert abs(mean[n] - theory[n]) <= 4 * se[n], f"generation {n + 1}: {mean[n]:.4f} vs {theory[n]:.4f}"


def test_degenerate_training_sets_do_not_crash() -> None:
    for columns in ("0", "0,1"):
        for model in ("gaussian", "gmm", "kde"):
            params = {**RunSpec.build("csv", "replace", {"columns": columns, "model": model}, 1, 10, 0)
                      .scenario_params}
            sc = create_scenario("csv", params, 0, 0, 10)
            dims = 1 if columns == "0" else 2
            for train in (np.full((7, dims), 1.5, dtype=np.float32), np.ones((1, dims), dtype=np.float32)):
                train = train.ravel() if dims == 1 else train
                fit = sc.fit(train, np.random.default_rng(0))
                x = fit.model.sample(np.random.default_rng(1), 10)
                assert np.all(np.isfinite(x)) and fit.note, (columns, model)


def _dump(project: Project, run_id: int) -> list[Any]:
    info = project.run(run_id)
    out: list[Any] = []
    for g in range(info.last_generation + 1):
        row = project.generation_row(run_id, g)
        out.append((g, project.samples(info, g).tobytes(), row["model"], row["histogram"].tobytes()))
    return out + list(project.metrics_rows([run_id]))


@pytest.mark.parametrize(("columns", "model"), [("0", "gmm"), ("0,1", "gaussian"), ("0,1", "kde")])
def test_deterministic_and_resume_equals_straight(tmp_path: Path, columns: str, model: str) -> None:
    spec = RunSpec.build("csv", "mix", {"columns": columns, "model": model, "alpha": 0.2}, 6, 60, 8)
    budget = 25 if model != "kde" else 10**6  # a reservoir (regenerated on resume) where the model allows it
    straight, resumed = straight_and_resumed(tmp_path, spec, 3, budget, _dump)
    assert resumed == straight


def test_changed_file_stops_a_resumed_run(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    spec = RunSpec.build("csv", "replace", {"path": path, "columns": "a"}, 5, 40, 0)
    out = tmp_path / "c.collapse"
    with Project(out, create=True) as p:
        (rid,) = create_runs(p, spec)
        it = drive(p, rid, group_seconds=0)
        next(it), next(it)
        it.close()
    _write(tmp_path, GOOD.replace("0.0,", "100.0,").replace("1.0,", "101.0,").replace("1.5,", "101.5,"))
    # a file problem (exit code 1 in the CLI), not a bad argument
    with Project(out) as p, pytest.raises(ProjectError, match="changed since this run started"):
        for _ in drive(p, rid):
            pass
    with Project(out) as p:
        assert p.run(rid).status == "interrupted" and "changed since" in p.run(rid).message


def test_cli_run_info_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GOOD)
    out = tmp_path / "c.collapse"
    assert main(["run", "--scenario", "csv", "--set", f"path={path}", "--set", "columns=a,b", "--set",
                 "model=gaussian", "--generations", "4", "--samples", "50", "-q", "-o", str(out)]) == 0
    assert main(["info", str(out)]) == 0
    assert "columns=a,b" in capsys.readouterr().out
    metrics = tmp_path / "m.csv"
    hist = tmp_path / "h.csv"
    assert main(["export", str(out), "--metrics-csv", str(metrics), "--histograms-csv", str(hist)]) == 0
    assert "csv replace,0,4,fit_var," in metrics.read_text(encoding="utf-8")
    assert len(hist.read_text(encoding="utf-8").splitlines()) == 1 + 5 * 60 * 60
    with open(hist, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["run", "replicate", "generation", "bin_left", "bin_right", "count", "bin_bottom",
                             "bin_top"]
    gen0 = [r for r in rows if r["generation"] == "0"]
    edges = {(float(r["bin_left"]), float(r["bin_right"]), float(r["bin_bottom"]), float(r["bin_top"])) for r in gen0}
    assert len(edges) == 60 * 60 and all(a < b and c < d for a, b, c, d in edges)  # numbers, never escaped text
    assert sum(int(r["count"]) for r in gen0) <= 50
