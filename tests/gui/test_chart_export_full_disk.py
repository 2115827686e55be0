"""A chart export that the disk refuses (full, over quota, read-only, no permission) ends in exactly one clear
message: no "libpng error: Write Error" or other library output on the terminal, no partial or temporary file
left behind, and an older file of the same name kept as it was.

A real full disk without root: `/dev/full` accepts an open and fails every write with ENOSPC. The exporters
write to the temporary file `core.output_files.replacing` hands them; these tests make that temporary file a
symlink to /dev/full, so the write meets a genuine ENOSPC from the kernel (the code is not told about it).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QLabel, QWidget

from core.cli import GuiHooks, main
from core.engine import RunSpec
from core.output_files import replacing as real_replacing
from core.runner import create_runs, drive
from core.store import Project
from gui.cache import RunCache
from gui.export import charts as chart_export
from gui.export.charts import ExportError

ROOT = Path(__file__).resolve().parents[2]
FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full (Linux) for a real ENOSPC")
DISK_FULL = r"the disk is full \(No space left on device\)"


# ---- fixtures ---------------------------------------------------------------------------------------------------
class FullDisk:
    """Patches the module's `replacing` so that, after `succeed` good writes, every temporary file is /dev/full."""

    def __init__(self) -> None:
        self.succeed = 0
        self.failed: list[Path] = []

    @contextmanager
    def replacing(self, path: str | os.PathLike[str], what: str = "file") -> Iterator[Path]:
        with real_replacing(path, what) as tmp:
            if self.succeed > 0:
                self.succeed -= 1
            else:
                tmp.unlink(missing_ok=True)
                tmp.symlink_to(FULL)
                self.failed.append(tmp)
            yield tmp


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> FullDisk:
    if not FULL.exists():
        pytest.skip("needs /dev/full (Linux) for a real ENOSPC")
    disk = FullDisk()
    monkeypatch.setattr(chart_export, "replacing", disk.replacing)
    return disk


@pytest.fixture(scope="module")
def project_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("full-disk-project") / "small.collapse"
    with Project(path, create=True) as p:
        for rid in create_runs(p, RunSpec.build("gaussian", "replace", {}, 6, 200, 1), name="replace"):
            for _ in drive(p, rid):
                pass
    return path


@pytest.fixture
def project(project_path: Path) -> Iterator[Project]:
    p = Project(project_path, readonly=True)
    yield p
    p.close()


class TableChart(pg.PlotWidget):
    """A plot with data (a big PNG: far more than one write buffer) and a table for the CSV export."""

    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(1)
        self.plot(rng.normal(size=4000), pen="b")
        self.plot(rng.normal(size=4000) + 3, pen="r")
        self.resize(640, 400)

    def table(self) -> tuple[list[str], list[list[Any]]]:
        return ["x", "y"], [[i, i * i] for i in range(5000)]


@pytest.fixture
def chart(qtbot) -> TableChart:  # noqa: ANN001
    w = TableChart()
    qtbot.addWidget(w)
    return w


def assert_silent(capfd: pytest.CaptureFixture[str], qtlog: Any) -> None:  # noqa: ANN401
    """Nothing on stdout or stderr, and no library message through Qt's logging (pytest-qt catches those)."""
    out, err = capfd.readouterr()
    assert out == "" and err == "", (out, err)
    noise = [r.message for r in qtlog.records if "png" in r.message.lower() or "write" in r.message.lower()]
    assert noise == []


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- each format on a full disk ---------------------------------------------------------------------------------
WRITERS: dict[str, Callable[[QWidget, Path], Any]] = {
    "png": lambda w, p: chart_export.export_png(w, p, size=(1600, 1200)),
    "png-transparent": lambda w, p: chart_export.export_png(w, p, size=(800, 600), transparent=True),
    "svg": chart_export.export_svg,
    "csv": chart_export.export_csv,
}


@needs_dev_full
@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_full_disk_is_one_clear_message_and_nothing_is_left(kind: str, chart: TableChart, full_disk: FullDisk,
                                                              tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                              qtlog: Any) -> None:  # noqa: ANN401
    target = tmp_path / f"out.{kind.split('-')[0]}"
    with pytest.raises(ExportError, match=DISK_FULL) as info:
        WRITERS[kind](chart, target)
    assert str(info.value) == f"cannot write {target}: the disk is full (No space left on device)"
    assert full_disk.failed, "the write never reached /dev/full"
    assert names(tmp_path) == []  # no partial file, no temporary file, no symlink
    assert_silent(capfd, qtlog)


@needs_dev_full
@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_full_disk_keeps_the_old_file(kind: str, chart: TableChart, full_disk: FullDisk, tmp_path: Path,
                                        capfd: pytest.CaptureFixture[str], qtlog: Any) -> None:  # noqa: ANN401
    target = tmp_path / f"old.{kind.split('-')[0]}"
    target.write_bytes(b"the old export")
    with pytest.raises(ExportError, match=DISK_FULL):
        WRITERS[kind](chart, target)
    assert target.read_bytes() == b"the old export" and names(tmp_path) == [target.name]
    assert_silent(capfd, qtlog)


@needs_dev_full
def test_svg_of_a_plain_widget_on_a_full_disk(qtbot, full_disk: FullDisk, tmp_path: Path,  # noqa: ANN001
                                              capfd: pytest.CaptureFixture[str], qtlog: Any) -> None:  # noqa: ANN401
    label = QLabel("a chart that is not a pyqtgraph view " * 40)  # drawn by QSvgGenerator, not pyqtgraph
    qtbot.addWidget(label)
    label.resize(900, 300)
    with pytest.raises(ExportError, match=DISK_FULL):
        chart_export.export_svg(label, tmp_path / "plain.svg")
    assert names(tmp_path) == []
    assert_silent(capfd, qtlog)
    full_disk.succeed = 1  # the disk has room again: a real SVG, no leftovers
    chart_export.export_svg(label, tmp_path / "plain.svg")
    assert (tmp_path / "plain.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert names(tmp_path) == ["plain.svg"]


def test_the_png_still_comes_out_whole_when_there_is_room(chart: TableChart, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtGui import QImage

    out = chart_export.export_png(chart, tmp_path / "fine.png", size=(333, 222))
    img = QImage(str(out))
    assert (img.width(), img.height()) == (333, 222)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and names(tmp_path) == ["fine.png"]
    assert capfd.readouterr() == ("", "")


# ---- the other refusals ---------------------------------------------------------------------------------------------
REFUSALS = [
    (errno.ENOSPC, "the disk is full"),
    (errno.EROFS, "the disk is read-only"),
    (errno.EACCES, "there is no permission to write there"),
    (errno.EFBIG, "the file is too large for this disk"),
    (errno.EIO, "the disk reported an input/output error"),
    (errno.ENXIO, None),  # no words of our own: the system's text alone
]
if hasattr(errno, "EDQUOT"):
    REFUSALS.append((errno.EDQUOT, "the disk quota is used up"))


@pytest.mark.parametrize(("code", "words"), REFUSALS, ids=[errno.errorcode[c] for c, _ in REFUSALS])
@pytest.mark.parametrize("kind", ["png", "svg", "csv"])
def test_every_refused_write_is_named(kind: str, code: int, words: str | None, chart: TableChart,
                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                      capfd: pytest.CaptureFixture[str], qtlog: Any) -> None:  # noqa: ANN401
    def refusing_open(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(chart_export, "open", refusing_open, raising=False)
    target = tmp_path / f"x.{kind}"
    with pytest.raises(ExportError) as info:
        WRITERS[kind](chart, target)
    expected = f"cannot write {target}: " + (f"{words} ({os.strerror(code)})" if words else os.strerror(code))
    assert str(info.value) == expected
    assert names(tmp_path) == []
    assert_silent(capfd, qtlog)


# ---- animations ---------------------------------------------------------------------------------------------------
@needs_dev_full
@pytest.mark.parametrize("existing_folder", [False, True])
def test_png_frames_on_a_full_disk_leave_no_half_set(existing_folder: bool, qtbot, project: Project,  # noqa: ANN001
                                                     full_disk: FullDisk, tmp_path: Path,
                                                     capfd: pytest.CaptureFixture[str],
                                                     qtlog: Any) -> None:  # noqa: ANN401
    frames = tmp_path / "frames"
    if existing_folder:
        frames.mkdir()
        (frames / "notes.txt").write_text("mine")
    full_disk.succeed = 2  # two frames fit, the third does not
    with pytest.raises(ExportError, match=DISK_FULL) as info:
        chart_export.export_animation_frames(RunCache(project), project.runs()[0], frames, "png", size=(320, 200),
                                             generations=[0, 1, 2, 3, 4])
    assert str(info.value) == f"cannot write {frames / 'frame_00002.png'}: the disk is full (No space left on device)"
    if existing_folder:
        assert names(frames) == ["notes.txt"]  # the user's file stays; the two good frames went with the failure
    else:
        assert names(tmp_path) == []  # the folder this export made is gone again
    assert_silent(capfd, qtlog)


@needs_dev_full
@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_gif_and_mp4_on_a_full_disk(fmt: str, qtbot, project: Project, full_disk: FullDisk,  # noqa: ANN001
                                    tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                    qtlog: Any) -> None:  # noqa: ANN401
    if chart_export.animation_formats()[fmt]:
        pytest.skip(chart_export.animation_formats()[fmt])
    gens = [0, 2, 4, 6]
    if fmt == "mp4":
        full_disk.succeed = len(gens)  # the frames go to the temporary folder; the video meets the full disk
    target = tmp_path / f"anim.{fmt}"
    with pytest.raises(ExportError, match=DISK_FULL) as info:
        chart_export.export_animation_frames(RunCache(project), project.runs()[0], target, fmt, size=(200, 120),
                                             generations=gens)
    assert str(info.value) == f"cannot write {target}: the disk is full (No space left on device)"
    assert names(tmp_path) == []
    assert_silent(capfd, qtlog)


# ---- the command line -----------------------------------------------------------------------------------------------
def partial_of(target: Path) -> Path:
    """The temporary file `core.output_files.replacing` writes for `target` (found by asking it, not guessed)."""

    class _Probe(Exception):
        pass

    seen: list[Path] = []
    try:
        with real_replacing(target, "PNG") as tmp:
            seen.append(tmp)
            raise _Probe
    except _Probe:
        pass
    assert seen and not seen[0].exists()
    return seen[0]


@needs_dev_full
@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_main_export_on_a_full_disk_in_process(suffix: str, qtbot, project_path: Path,  # noqa: ANN001
                                               full_disk: FullDisk, tmp_path: Path,
                                               capfd: pytest.CaptureFixture[str], qtlog: Any) -> None:  # noqa: ANN401
    target = tmp_path / f"chart.{suffix}"
    hooks = GuiHooks(export_chart=chart_export.export_chart_file)
    code = main(["export", str(project_path), f"--{suffix}", str(target), "--size", "1200x800"], hooks)
    out, err = capfd.readouterr()
    assert code == 1 and out == ""
    assert err == f"error: cannot write {target}: the disk is full (No space left on device)\n"
    assert names(tmp_path) == []
    assert not [r.message for r in qtlog.records if "png" in r.message.lower()]


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("COLLAPSE_LAB_DEBUG", None)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=240, env=env, check=False)


@needs_dev_full
@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_main_py_on_a_full_disk_end_to_end(suffix: str, project_path: Path, tmp_path: Path) -> None:
    """The real program in its own process: the only thing prepared is that the file it writes is /dev/full."""
    target = tmp_path / f"out.{suffix}"
    partial_of(target).symlink_to(FULL)
    res = run_main("export", str(project_path), f"--{suffix}", str(target), "--chart", "histogram",
                   "--size", "1600x1000")
    assert res.returncode == 1, res.stderr
    assert res.stdout == ""
    assert res.stderr == f"error: cannot write {target}: the disk is full (No space left on device)\n"
    assert "libpng" not in res.stderr and "Traceback" not in res.stderr
    assert names(tmp_path) == []  # the export removed its temporary file (here: the link to /dev/full)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a read-only folder anyway")
def test_main_py_into_a_read_only_folder(project_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        res = run_main("export", str(project_path), "--png", str(folder / "out.png"))
        assert res.returncode != 0 and res.stdout == ""
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "not writable" in lines[0], res.stderr
        assert "libpng" not in res.stderr and "Traceback" not in res.stderr
        assert names(folder) == []
    finally:
        folder.chmod(0o700)


def test_main_py_still_writes_the_png(project_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "ok.png"
    res = run_main("export", str(project_path), "--png", str(target), "--chart", "histogram", "--size", "400x300")
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == f"wrote histogram chart to {target}"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and names(tmp_path) == ["ok.png"]
