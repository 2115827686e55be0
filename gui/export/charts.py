"""Chart export: PNG (any size, optionally transparent), SVG, CSV of the drawn data, the clipboard, animation
frames of a run's generations, and the headless chart files the command line writes.

Every function takes one of `GenerationPanel.charts()` (or any widget): a chart that knows its plot
(`export_target()`) is exported without its controls.

What is possible offline with the pinned stack: PNG and SVG always (Qt and pyqtgraph's SVG exporter, which
works with PySide6 6.10). Animated GIF uses Pillow and MP4 the ffmpeg binary that the imageio-ffmpeg wheel
ships (or an ``ffmpeg`` on the PATH); both are dependencies, and if either is missing the frames are written as
numbered PNGs with a note saying why. The Qt Essentials wheel has no video encoder of its own.

Every file is encoded in memory first (Qt's PNG and SVG writers, Pillow's GIF) and then written with Python's own
file I/O to a temporary file beside the target that replaces it only when complete. So a full disk, a quota, a
read-only disk or a folder without write permission never reaches libpng (which would print "libpng error: Write
Error" on the terminal and report nothing useful): the user gets one ExportError that says what went wrong,
and no partial file is left behind.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import (
    QBuffer,
    QIODevice,
    QMessageLogContext,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QRegion, QResizeEvent
from PySide6.QtWidgets import QApplication, QWidget

from core.export import escape_cell
from core.output_files import OutputError, check_output_path, replacing
from core.params import ParamError
from core.store import Project, RunInfo

MAX_ANIMATION_FRAMES = 400
_APP: QApplication | None = None  # the offscreen application created for headless export


ExportError = OutputError  # one error type for every export that cannot be written (checked target or drawing)


# ---- writing files ----------------------------------------------------------------------------------------------
_WRITE_FAILURES: dict[int, str] = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "there is no permission to write there",
    errno.EPERM: "there is no permission to write there",
    errno.EFBIG: "the file is too large for this disk",
    errno.EIO: "the disk reported an input/output error",
}
if hasattr(errno, "EDQUOT"):  # not on every platform
    _WRITE_FAILURES[errno.EDQUOT] = "the disk quota is used up"


def _write_failure(path: str | os.PathLike[str], exc: OSError) -> ExportError:
    """One clear message for an OSError while writing `path`: what happened in words, then the system's text."""
    detail = exc.strerror or str(exc)
    reason = _WRITE_FAILURES.get(exc.errno or 0)
    return ExportError(f"cannot write {os.fspath(path)}: {reason} ({detail})" if reason
                       else f"cannot write {os.fspath(path)}: {detail}")


def _write_file(path: str | os.PathLike[str], data: bytes, what: str) -> Path:
    """Write `data` whole to `path` (through a temporary file beside it) or raise one clear ExportError."""
    with replacing(path, what) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                try:
                    os.fsync(fh.fileno())  # a quota or network disk may only say "full" here
                except OSError as exc:
                    if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # this file system has no fsync
                        raise
        except OSError as exc:
            raise _write_failure(path, exc) from None
    return Path(path)


def _png_bytes(img: QImage) -> bytes:
    """The image encoded as PNG in memory (so libpng never meets the disk)."""
    if img.isNull():
        raise ExportError("the image could not be drawn (too large for the memory available?)")
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    try:
        ok = img.save(buf, "PNG")
        data = bytes(buf.data().data())
    finally:
        buf.close()
    if not ok or not data:
        raise ExportError("the image could not be encoded as PNG")
    return data


# ---- helpers --------------------------------------------------------------------------------------------------
def export_target(widget: QWidget) -> QWidget:
    """The widget that is rendered for `widget`: its chart without controls, when it names one."""
    seen = set()
    target = widget
    while hasattr(target, "export_target") and id(target) not in seen:
        seen.add(id(target))
        nxt = target.export_target()
        if nxt is None or nxt is target:
            break
        target = nxt
    return target


def _table_provider(widget: QWidget) -> Callable[[], tuple[list[str], list[Sequence[Any]]]] | None:
    for w in (widget, export_target(widget)):
        t = getattr(w, "table", None)
        if callable(t):
            return t
    return None


def _background(widget: QWidget) -> QColor:
    if isinstance(widget, pg.GraphicsView):
        brush = widget.backgroundBrush()
        if brush.style() != Qt.BrushStyle.NoBrush:
            return QColor(brush.color())
    return QColor(widget.palette().color(widget.backgroundRole()))


def _send_resize(widget: QWidget, new: QSize, old: QSize) -> None:
    """Deliver a resize now: a hidden widget only gets it when shown, and pyqtgraph lays out on resize."""
    if not widget.isVisible():
        QApplication.sendEvent(widget, QResizeEvent(new, old))


@contextmanager
def _sized(widget: QWidget, size: tuple[int, int] | None) -> Iterator[QSize]:
    """Temporarily give the widget this size (layouts re-apply theirs on the next event-loop pass)."""
    old = QSize(widget.size())
    if size is None:
        yield old
        return
    w, h = int(size[0]), int(size[1])
    if w < 1 or h < 1:
        raise ExportError(f"cannot export an image of {w}x{h} pixels")
    new = QSize(w, h)
    if new == old:
        yield new
        return
    min_size, max_size = widget.minimumSize(), widget.maximumSize()
    widget.setMinimumSize(0, 0)
    widget.setMaximumSize(16777215, 16777215)
    widget.resize(new)
    _send_resize(widget, new, old)
    try:
        yield new
    finally:
        widget.resize(old)
        _send_resize(widget, old, new)
        widget.setMinimumSize(min_size)
        widget.setMaximumSize(max_size)


def render_image(widget: QWidget, size: tuple[int, int] | None = None, transparent: bool = False) -> QImage:
    """The chart rendered into an image of exactly `size` pixels (default: its current size)."""
    target = export_target(widget)
    with _sized(target, size) as sz:
        img = QImage(sz.width(), sz.height(), QImage.Format.Format_ARGB32_Premultiplied)
        img.setDevicePixelRatio(1.0)
        img.fill(QColor(0, 0, 0, 0) if transparent else _background(target))
        painter = QPainter(img)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            if isinstance(target, pg.GraphicsView):
                # the scene only (the view's background is the fill above, or nothing when transparent)
                source = target.mapToScene(target.viewport().rect()).boundingRect()
                target.scene().render(painter, QRectF(0, 0, sz.width(), sz.height()), source,
                                      Qt.AspectRatioMode.IgnoreAspectRatio)
            else:
                flags = QWidget.RenderFlag.DrawChildren
                if not transparent:
                    flags |= QWidget.RenderFlag.DrawWindowBackground
                # QWidget.render explicitly: QGraphicsView overrides render() with a scene-rendering variant
                QWidget.render(target, painter, QPoint(0, 0), QRegion(QRect(0, 0, sz.width(), sz.height())),
                               flags)
        finally:
            painter.end()
    return img


# ---- the contract ----------------------------------------------------------------------------------------------
def export_png(widget: QWidget, path: str | os.PathLike[str], size: tuple[int, int] | None = None,
               transparent: bool = False) -> Path:
    """Write the chart as a PNG of exactly `size` (width, height) pixels; default its size on screen."""
    check_output_path(path, "PNG")
    data = _png_bytes(render_image(widget, size, transparent))
    return _write_file(path, data, "PNG")


def _svg_bytes(target: QWidget) -> bytes:
    """The chart as an SVG document, made in memory."""
    data: bytes
    if isinstance(target, pg.GraphicsView):  # PlotWidget included: export its plot item, else the scene
        from pyqtgraph.exporters import SVGExporter

        item = target.plotItem if isinstance(target, pg.PlotWidget) else target.scene()
        data = bytes(SVGExporter(item).export(toBytes=True) or b"")
    else:
        from PySide6.QtSvg import QSvgGenerator

        buf = QBuffer()
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        gen = QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(target.size())
        gen.setViewBox(QRect(0, 0, target.width(), target.height()))
        gen.setTitle("Collapse Lab chart")
        painter = QPainter(gen)
        try:
            QWidget.render(target, painter, QPoint(0, 0))
        finally:
            painter.end()
        data = bytes(buf.data().data())
        buf.close()
    if not data:
        raise ExportError("the chart could not be drawn as SVG")
    return data


def export_svg(widget: QWidget, path: str | os.PathLike[str]) -> Path:
    """Write the chart as SVG (vector lines and text; images such as the heatmap are embedded)."""
    check_output_path(path, "SVG")
    return _write_file(path, _svg_bytes(export_target(widget)), "SVG")


def export_csv(widget: QWidget, path: str | os.PathLike[str]) -> int:
    """Write the data the chart draws as CSV (UTF-8, header row, formula-like text escaped); returns rows."""
    check_output_path(path, "CSV")
    provider = _table_provider(widget)
    if provider is None:
        raise ExportError("this chart has no data to export as CSV")
    header, rows = provider()
    if not header or not rows:
        raise ExportError("the chart shows no data yet, so there is nothing to export")
    with replacing(path, "CSV") as tmp:
        try:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow([escape_cell(h) for h in header])
                for row in rows:
                    w.writerow([escape_cell(c) for c in row])
        except OSError as exc:
            raise _write_failure(path, exc) from None
    return len(rows)


def copy_to_clipboard(widget: QWidget, size: tuple[int, int] | None = None) -> QImage:
    """Put the chart on the clipboard as an image (and return it)."""
    img = render_image(widget, size)
    QGuiApplication.clipboard().setImage(img)
    return img


# ---- animation --------------------------------------------------------------------------------------------------
@dataclass
class AnimationOptions:
    """The choices of an animation export (see `Dialogs.animation_options`): frame size in pixels, frames per
    second, the generations first..last (inclusive; last None: the run's last one) and the histogram mode the
    frames are drawn in (a key of `animation_modes()`; None: the view's default)."""

    size: tuple[int, int] = (960, 540)
    fps: int = 15
    first: int = 0
    last: int | None = None
    mode: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `export_animation_frames` for these options."""
        return {"size": (int(self.size[0]), int(self.size[1])), "fps": int(self.fps), "first": int(self.first),
                "last": None if self.last is None else int(self.last), "mode": self.mode}


def animation_modes() -> list[tuple[str, str]]:
    """(key, readable name) of the histogram modes an animation can be drawn in (the 1-D histogram's)."""
    from gui.views.hist1d import MODES

    return [(str(k), str(t)) for k, t in MODES]


@dataclass
class AnimationResult:
    """What `export_animation_frames` wrote: the files, their format and a note when it had to fall back."""

    paths: list[Path] = field(default_factory=list)
    format: str = "png"
    note: str | None = None


def ffmpeg_executable() -> str | None:
    """An ffmpeg program: the one on the PATH, else the one the imageio-ffmpeg package ships, else None."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def animation_formats() -> dict[str, str | None]:
    """Format -> None when available here, or the reason it is not."""
    out: dict[str, str | None] = {"png": None}
    try:
        import PIL  # noqa: F401

        out["gif"] = None
    except ImportError:
        out["gif"] = "Pillow is not installed (frames are written as numbered PNGs instead)"
    out["mp4"] = None if ffmpeg_executable() else "MP4 needs the ffmpeg program (or the imageio-ffmpeg package)"
    return out


def _frame_generations(last: int, generations: Sequence[int] | None, stride: int | None, first: int = 0) -> list[int]:
    """The generations drawn: `generations` within first..last, else first..last every `stride`-th (by default
    every one, or every n-th so that at most MAX_ANIMATION_FRAMES are drawn), always ending at `last`."""
    if generations is not None:
        gens = sorted({int(g) for g in generations if first <= int(g) <= last})
    else:
        step = stride or max(1, math.ceil((last - first + 1) / MAX_ANIMATION_FRAMES))
        gens = list(range(first, last + 1, step))
        if gens and gens[-1] != last:
            gens.append(last)
    return gens


def _frame_range(run: RunInfo, computed: int, first: int | None, last: int | None) -> tuple[int, int]:
    """first..last clipped to the computed generations 0..computed, or an ExportError for an empty range."""
    lo = 0 if first is None else int(first)
    hi = computed if last is None else min(int(last), computed)
    if lo < 0:
        raise ExportError(f"the first generation of an animation cannot be negative ({lo})")
    if lo > hi:
        raise ExportError(f"run {run.name!r} has no generation from {lo} to {hi if last is None else last} "
                          f"(generations 0 to {computed} are computed)")
    return lo, hi


def export_animation_frames(cache, run: RunInfo, directory_or_path: str | os.PathLike[str],  # noqa: ANN001
                            fmt: str = "gif", *, size: tuple[int, int] = (960, 540), fps: int = 15,
                            first: int | None = None, last: int | None = None,
                            generations: Sequence[int] | None = None, stride: int | None = None,
                            mode: str | None = None, log_y: bool = False,
                            progress: Callable[[int, int], bool | None] | None = None) -> AnimationResult:
    """Render the distribution view generation by generation, each frame titled "<run> — generation k".

    `size` (width, height) is every frame's size in pixels, `fps` the frame rate (GIF and MP4), `first` and
    `last` the generations animated (inclusive; default the whole run, clipped to what is computed), `mode` the
    histogram mode the frames are drawn in (see `animation_modes`; ignored by views without modes).
    `AnimationOptions.as_kwargs()` gives size, fps, first, last and mode.

    fmt ``gif``: one animated GIF at `directory_or_path` (needs Pillow). ``mp4``: one video (needs ``ffmpeg``
    on the PATH). When the encoder is missing, numbered PNG frames are written to the folder
    ``<name>_frames`` beside the path instead and the result's `note` says so. ``png``: numbered frames
    ``frame_00000.png`` ... in the folder `directory_or_path`.
    Every generation of the range by default, but at most 400 frames (every n-th generation) unless `stride`
    or `generations` (a subset, within the range) say otherwise; `progress(i, total)` returning False cancels.
    """
    from gui.views.distribution import DistributionView

    fmt = fmt.lower().lstrip(".")
    if fmt not in ("gif", "png", "mp4"):
        raise ExportError(f"unknown animation format {fmt!r} (gif, png or mp4)")
    out_path = Path(directory_or_path)
    computed = cache.last_generation(run)
    if computed < 0:
        raise ExportError(f"run {run.name!r} has no generation to animate yet")
    w, h = int(size[0]), int(size[1])
    if w < 1 or h < 1:
        raise ExportError(f"cannot export frames of {w}x{h} pixels")
    if int(fps) < 1:
        raise ExportError(f"an animation needs at least 1 frame per second, not {fps}")
    lo, hi = _frame_range(run, computed, first, last)
    gens = _frame_generations(hi, generations, stride, lo)
    if not gens:
        raise ExportError(f"none of the chosen generations of run {run.name!r} lies in {lo} to {hi}")
    formats = animation_formats()
    frames_dir: Path | None
    if fmt in ("gif", "mp4") and formats[fmt]:
        reason = "Pillow is not installed, so no GIF was made" if fmt == "gif" else \
            "no ffmpeg program was found on the PATH, so no MP4 was made"
        note = (f"{reason}: wrote {len(gens)} numbered PNG frames to {{dir}} instead"
                + (f" (ffmpeg -framerate {int(fps)} -i frame_%05d.png -pix_fmt yuv420p out.mp4 makes the video)"
                   if fmt == "mp4" else ""))
        fmt_out, frames_dir = "png", out_path.with_name(out_path.stem + "_frames")
    elif fmt == "png":
        note, fmt_out, frames_dir = None, "png", out_path
    else:
        note, fmt_out, frames_dir = None, fmt, None
        check_output_path(out_path, fmt.upper())  # before any frame is drawn

    view = DistributionView()
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.set_cache(cache)
    view.set_run(run)
    if view.view is None:
        raise ExportError(f"run {run.name!r} cannot be drawn: {view.message}")
    combo = getattr(view.view, "mode_combo", None)
    if mode and combo is not None:
        index = combo.findData(mode)
        if index < 0:
            known = ", ".join(str(combo.itemData(i)) for i in range(combo.count()))
            raise ExportError(f"unknown histogram mode {mode!r} (use {known})")
        combo.setCurrentIndex(index)
    if log_y and hasattr(view.view, "log_check"):
        view.view.log_check.setChecked(True)
    view.resize(w, h + 40)
    view.show()
    QApplication.processEvents()
    images: list[QImage] = []
    result = AnimationResult(format=fmt_out)
    tmpdir: tempfile.TemporaryDirectory[str] | None = None
    made_dir = False  # the frames folder was created here (removed again when the export fails)
    written: list[Path] = []  # frames written to the frames folder by this call
    try:
        if frames_dir is None:  # gif / mp4 collect frames first
            if fmt == "mp4":
                tmpdir = tempfile.TemporaryDirectory(prefix="collapse-frames-")
                out_dir = Path(tmpdir.name)
            else:
                out_dir = None
        else:
            if frames_dir.exists() and not frames_dir.is_dir():
                raise ExportError(f"{frames_dir}: is a file, not a folder; choose a folder for the frames")
            made_dir = not frames_dir.exists()
            try:
                frames_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                made_dir = False
                raise ExportError(f"{frames_dir}: cannot create the folder ({exc.strerror or exc})") from None
            out_dir = frames_dir
        for i, g in enumerate(gens):
            view.set_generation(g)
            _title_frame(view, f"{run.name} — generation {g}")
            img = render_image(view, (w, h))
            if out_dir is not None:
                p = out_dir / f"frame_{i:05d}.png"
                _write_file(p, _png_bytes(img), "PNG")
                if frames_dir is not None:
                    written.append(p)
                    result.paths.append(p)
            else:
                images.append(img)
            if progress is not None and progress(i + 1, len(gens)) is False:
                result.note = f"cancelled after {i + 1} of {len(gens)} frames"
                break
        if fmt_out == "gif":
            _write_gif(images, out_path, fps)
            result.paths = [out_path]
        elif fmt_out == "mp4":
            assert tmpdir is not None
            _write_mp4(Path(tmpdir.name), out_path, fps)
            result.paths = [out_path]
        if note:
            result.note = note.format(dir=frames_dir)
    except BaseException:
        _remove_frames(written, frames_dir if made_dir else None)  # a failed export leaves no half set of frames
        raise
    finally:
        view.hide()
        view.deleteLater()
        if tmpdir is not None:
            tmpdir.cleanup()
    return result


def _title_frame(view: QWidget, title: str) -> None:
    """Title the frame's chart (inside its plot item, so the rendered image carries it)."""
    plot = export_target(view)
    if isinstance(plot, pg.PlotWidget):
        colors = getattr(plot, "colors", None)
        color = colors.foreground.name() if colors is not None else \
            plot.palette().color(plot.foregroundRole()).name()
        plot.plotItem.setTitle(title, color=color, size="11pt")


def _remove_frames(paths: Sequence[Path], folder: Path | None) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass
    if folder is not None:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass


def _write_gif(images: list[QImage], path: Path, fps: int) -> None:
    from PIL import Image  # only called when Pillow is importable

    frames = []
    for img in images:
        rgba = img.convertToFormat(QImage.Format.Format_RGBA8888)
        data = bytes(rgba.constBits())[: rgba.sizeInBytes()]
        frame = Image.frombuffer("RGBA", (rgba.width(), rgba.height()), data, "raw", "RGBA",
                                 rgba.bytesPerLine(), 1)
        frames.append(frame.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    if not frames:
        raise ExportError("no frames to write")
    buf = io.BytesIO()  # encoded in memory; written below with one clear message when the disk refuses
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(20, int(1000 / max(fps, 1))), loop=0, optimize=False)
    _write_file(path, buf.getvalue(), "GIF")


def _write_mp4(frames_dir: Path, path: Path, fps: int) -> None:
    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        raise ExportError("MP4 needs the ffmpeg program on the PATH")
    with replacing(path, "MP4") as tmp:
        cmd = [ffmpeg, "-y", "-loglevel", "error", "-framerate", str(max(fps, 1)), "-i",
               str(frames_dir / "frame_%05d.png"), "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-pix_fmt", "yuv420p",
               "-c:v", "libx264", "-f", "mp4", str(tmp)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv)
        if done.returncode != 0:
            for code in _WRITE_FAILURES:  # ffmpeg names the system error in its own words
                if os.strerror(code) in done.stderr:
                    raise _write_failure(path, OSError(code, os.strerror(code)))
            raise ExportError(f"{path}: ffmpeg failed: {done.stderr.strip()[:300]}")


# ---- headless chart files (the command line) ---------------------------------------------------------------------
def ensure_app() -> QApplication:
    """The running QApplication, or an offscreen one for headless export."""
    global _APP
    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        qInstallMessageHandler(_quiet_offscreen)
        _APP = QApplication(["collapse-lab-export"])
        app = _APP
    return app  # type: ignore[return-value]


def _quiet_offscreen(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Headless export: drop the offscreen platform's harmless notices; print everything else."""
    if "propagateSizeHints" in message:
        return
    if mode in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
        print(message, file=sys.stderr)


HISTOGRAM_CHARTS = ("histogram", "distribution")
HEATMAP_CHARTS = ("heatmap", "drift")


def build_chart(project: Project, runs: Sequence[RunInfo], chart: str, size: tuple[int, int],
                generation: int | None = None) -> QWidget:
    """A chart widget drawn from the store (offscreen), shown at `size` and ready to export."""
    from gui.cache import RunCache
    from gui.views.distribution import DistributionView
    from gui.views.heatmap import HeatmapView
    from gui.views.timeline import TimelineView

    ensure_app()
    runs = list(runs)
    if not runs:
        raise ExportError(f"{project.path}: there are no runs to chart")
    cache = RunCache(project)
    with_data = [r for r in runs if cache.last_generation(r) >= 0]
    if not with_data:
        raise ExportError(f"{project.path}: none of the selected runs has a generation yet")
    name = chart.strip().lower()
    widget: QWidget
    if name in HISTOGRAM_CHARTS or name in HEATMAP_CHARTS:
        run = with_data[0]
        last = cache.last_generation(run)
        k = last if generation is None else min(max(generation, 0), last)
        if name in HISTOGRAM_CHARTS:
            dist = DistributionView()
            dist.set_cache(cache)
            dist.set_run(run)
            if dist.view is None:
                raise ExportError(f"run {run.name!r} cannot be drawn: {dist.message}")
            dist.set_generation(k)
            title = f"{run.name}: generation {k} of {last}"
            widget = dist
        else:
            heat = HeatmapView()
            heat.set_cache(cache)
            heat.set_run(run)
            heat.set_generation(k)
            title = f"{run.name}: drift over {last + 1} generations"
            widget = heat
    else:
        tl = TimelineView()
        tl.set_cache(cache)
        tl.set_runs(with_data)
        metric = chart if name != "timeline" else tl.metric
        if not tl.set_metric(metric):
            known = [tl.metric_combo.itemData(i) for i in range(tl.metric_combo.count())]
            raise ParamError(f"unknown chart {chart!r}: use histogram, heatmap, or a metric of the selected runs "
                             f"({', '.join(known)})")
        title = None  # the timeline titles itself (the metric's name); its legend, above the plot, names the runs
        widget = tl
    cursor = getattr(widget, "cursor", None)
    if isinstance(cursor, pg.InfiniteLine):
        cursor.hide()  # a standalone chart has no current generation
    target = export_target(widget)
    if title is not None and isinstance(target, pg.PlotWidget):
        target.plotItem.setTitle(title, color=target.palette().color(target.foregroundRole()).name(), size="11pt")
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.resize(size[0], size[1] + 60)
    widget.show()
    QApplication.processEvents()
    return widget


def export_chart_file(project: Project, runs: Sequence[RunInfo], chart: str, path: str | os.PathLike[str],
                      size: tuple[int, int] = (1200, 800)) -> Path:
    """Build a chart headless from the store and write it: PNG, SVG or CSV (by the path's suffix).

    `chart`: ``histogram`` (the first run's last generation), ``heatmap`` (the first run), ``timeline`` or a
    metric name (every given run; replicate groups as mean and 95% band).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg", ".csv"):
        raise ParamError(f"{path}: chart files must end in .png, .svg or .csv")
    widget = build_chart(project, runs, chart, size)
    try:
        if suffix == ".png":
            export_png(widget, path, size)
        elif suffix == ".svg":
            with _sized(export_target(widget), size):
                export_svg(widget, path)
        else:
            export_csv(widget, path)
    finally:
        widget.hide()
        widget.deleteLater()
    return path
