"""`csv`: bring your own data. One or two numeric columns of a CSV file are the real data; a Gaussian, a
Gaussian mixture or a KDE is refitted to its own samples generation after generation.

Real data. The real distribution is the file's rows themselves (their empirical distribution): generation 0
is M rows drawn from the file with replacement (a bootstrap), and so is fresh real data (mix policy) and the
held-out sample. Where a density of the real data is needed (held-out NLL of generation 0, the likelihood and
ratio verifiers, the drawn curve) it is a Gaussian KDE of the file's rows (Scott's rule per column, at most
``REFERENCE_ROWS`` rows, chosen evenly).

The file. UTF-8 text (a byte-order mark is fine), a header row with column names, cells separated by commas,
semicolons or tabs (whichever the header line uses most; commas by default), a decimal point. Columns are
chosen by header name or 0-based index. Every problem stops the run before it starts with one message naming
the file: missing, a directory, not a regular file (a device, named pipe or socket: refused before it is
opened, as the path may come from a project file someone sent), empty, over ``MAX_BYTES`` (never more is
read, whatever size the file claims) or ``MAX_ROWS`` data rows, not UTF-8 (UTF-16 and binary files are
recognised), no header row, unknown column or index, non-numeric or infinite cells (with the line), blank/NA
cells (``missing=refuse``, the default: the message gives the count and first line; ``missing=drop`` leaves
those rows out instead), fewer than ``MIN_ROWS`` usable rows, a constant column, a column whose spread float32
samples cannot hold (below ``MIN_RELATIVE_SPREAD`` of its size, or below ``MIN_SPREAD`` in absolute terms).

Resuming. A run reads the file again when resumed; if generation 0's stored rows are no longer all in the
file, the run stops with a message rather than mix two data sets. Relative paths are resolved against the
working directory of the process that runs (or resumes) the run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.params import Param, ParamError
from core.scenarios.base import (
    TEMPERATURE,
    DegenerateFit,
    FitResult,
    MetricInfo,
    Model,
    Scenario,
    json_floats,
)
from core.scenarios.continuous import CONTINUOUS_METRICS, Continuous1D
from core.scenarios.continuous2d import CONTINUOUS2D_METRICS, Continuous2D
from core.scenarios.gaussian import GaussianModel
from core.scenarios.gmm import MixtureModel, fit_mixture
from core.scenarios.kde import KdeModel, fit_kde
from core.threads import one_blas_thread

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "resources" / "iris.csv"
# At most this much of a file is read (checked on its size before opening, and again on what a read returns:
# a file may grow, or claim a size it does not have). 20 MB is ~100 bytes for each of MAX_ROWS rows, and the
# text is held several times over while it is parsed (bytes, str, lines, cells), so a file at the limit costs
# a few hundred MB at most.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
MIN_ROWS = 10
MAX_ABS_VALUE = 1e15  # samples are float32 and their moments must not overflow
# Samples are float32: 24 significant bits, eps = 2**-23 ~ 1.19e-7, so neighbouring float32 values near x are
# at most eps |x| apart (about 7 significant digits). A column whose standard deviation is below
# MIN_RELATIVE_SPREAD (~8.4 eps) of its largest |value| spans fewer than ~8 float32 steps: rounding alone then
# merges most distinct values and changes the variance by more than ~0.1% (rounding adds step^2 / 12), and a
# collapsing model's shrinking spread hits the float32 floor almost at once, so the run would measure rounding,
# not model collapse. The `gaussian` scenario asks for more headroom (|mu0| <= 1000 sigma0) because its real
# data is drawn afresh; a user's data is what it is, so only data float32 cannot hold at all is refused (mean
# 1000 with std 0.01, 1e-5 of the size, is fine). Subtracting an offset (not rescaling) fixes such a column.
MIN_RELATIVE_SPREAD = 1e-6
# Below this absolute standard deviation the histograms' 1 / bin width and the densities (~1 / std) overflow
# float32 (max ~3.4e38; measured to break near 1e-36), so such a column must be rescaled.
MIN_SPREAD = 1e-30
REFERENCE_ROWS = 5000
NA_MARKERS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})
DELIMITERS = (",", ";", "\t")
_CACHE: dict[tuple[Any, ...], CsvData] = {}
_CACHE_SIZE = 8


@dataclass(frozen=True)
class CsvData:
    """The chosen columns of a CSV file as float64 values (rows x 1 or 2), with what was left out."""

    label: str
    names: tuple[str, ...]
    values: np.ndarray
    dropped: int
    sha256: str


def _fail(label: str, text: str) -> ParamError:
    return ParamError(f"csv file {label}: {text}", param="path")


def _decode(raw: bytes, label: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(label, "is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8') and try again")
    if b"\x00" in raw:
        raise _fail(label, "does not look like a CSV text file (it contains NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(label, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save it as UTF-8 "
                    "(in Excel: 'CSV UTF-8'), or convert it, e.g. iconv -f latin1 -t utf-8 in.csv > out.csv") from None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _resolve_columns(header: list[str], columns: str, label: str) -> list[int]:
    tokens = [t.strip() for t in columns.split(",")] if columns.strip() else []
    if len(tokens) > 2:
        raise _fail(label, f"columns must name 1 or 2 columns, got {len(tokens)} ({columns!r})")
    if not tokens:
        return [0]
    shown = ", ".join(repr(h) for h in header[:12]) + (", ..." if len(header) > 12 else "")
    out = []
    for t in tokens:
        if not t:
            raise _fail(label, f"columns has an empty entry ({columns!r})")
        hits = [i for i, h in enumerate(header) if h == t]
        if len(hits) > 1:
            raise _fail(label, f"column name {t!r} appears {len(hits)} times in the header; choose it by index "
                        f"(0-based: {', '.join(map(str, hits))})")
        if hits:
            out.append(hits[0])
        elif re.fullmatch(r"-?\d+", t):
            i = int(t)
            if not 0 <= i < len(header):
                raise _fail(label, f"column index {i} is out of range: the file has {len(header)} column"
                            f"{'s' * (len(header) != 1)} (0..{len(header) - 1})")
            out.append(i)
        else:
            near = [h for h in header if h.lower() == t.lower()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise _fail(label, f"has no column named {t!r}{hint}; its columns are: {shown}")
    if len(out) == 2 and out[0] == out[1]:
        raise _fail(label, f"the two columns are the same column ({header[out[0]]!r}); choose two different ones")
    return out


def _parse(text: str, label: str, columns: str, missing: str) -> tuple[tuple[str, ...], np.ndarray, int]:
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise _fail(label, "is empty")
    counts = {d: first.count(d) for d in DELIMITERS}
    delim = max(DELIMITERS, key=lambda d: counts[d]) if max(counts.values()) > 0 else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header: list[str] | None = None
    cols: list[int] = []
    values: list[list[float]] = []
    n_rows = 0
    blank_rows, first_blank = 0, 0
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                if all(_number(c) is not None for c in header):
                    raise _fail(label, f"has no header row: its first line holds numbers ({first.strip()[:60]!r}); "
                                "add a first line with column names")
                cols = _resolve_columns(header, columns, label)
                continue
            n_rows += 1
            if n_rows > MAX_ROWS:
                raise _fail(label, f"has more than {MAX_ROWS:,} data rows (the limit); use a sample of it")
            cells = [row[i].strip() if i < len(row) else "" for i in cols]
            parsed = []
            for cell, i in zip(cells, cols):
                if cell.lower() in NA_MARKERS:
                    parsed.append(None)
                    continue
                v = _number(cell)
                if v is None:
                    hint = " (decimal commas and thousands separators are not supported: write 1234.5)" if \
                        re.fullmatch(r"-?[\d.]+,\d+", cell) else ""
                    raise _fail(label, f"column {header[i]!r} is not numeric: line {reader.line_num} has "
                                f"{cell[:40]!r}{hint}")
                if not math.isfinite(v):
                    raise _fail(label, f"column {header[i]!r} has a non-finite value {cell!r} on line "
                                f"{reader.line_num}")
                if abs(v) > MAX_ABS_VALUE:
                    raise _fail(label, f"column {header[i]!r} has {cell!r} on line {reader.line_num}, beyond the "
                                "1e15 in size that samples can hold; rescale the column (e.g. to thousands or "
                                "millions)")
                parsed.append(v)
            if any(v is None for v in parsed):
                blank_rows += 1
                first_blank = first_blank or reader.line_num
                continue
            values.append(parsed)  # type: ignore[arg-type]
    except csv.Error as exc:
        raise _fail(label, f"cannot be read as CSV on line {reader.line_num}: {exc}") from None
    if header is None:  # only separators, no text in any cell
        raise _fail(label, "is empty (no cell holds anything)")
    names = tuple(header[i] or f"column {i}" for i in cols)
    if n_rows == 0:
        raise _fail(label, "has a header row but no data rows")
    which = " or ".join(repr(n) for n in names)
    if blank_rows and missing == "refuse":
        raise _fail(label, f"{blank_rows} row{'s' * (blank_rows != 1)} of {n_rows} have blank or missing (NA) "
                    f"cells in column {which} (first on line {first_blank}); fill them in, or set missing=drop "
                    "to leave those rows out")
    if len(values) < MIN_ROWS:
        extra = f" after leaving out {blank_rows} with blank cells" if blank_rows else ""
        raise _fail(label, f"has only {len(values)} usable row{'s' * (len(values) != 1)}{extra}; at least "
                    f"{MIN_ROWS} are needed")
    arr = np.asarray(values, dtype=np.float64)
    for j, name in enumerate(names):
        _check_spread(arr[:, j], name, label)
    return names, arr, blank_rows


def _offset_for(col: np.ndarray, std: float) -> str:
    """The roundest offset (fewest significant digits of the mean) that, subtracted, leaves a spread of at least
    1e-3 of the largest |value| (the headroom the gaussian scenario asks for), as text."""
    mean = float(col.mean())
    for digits in range(1, 18):
        offset = float(f"{mean:.{digits}g}")
        if std >= 1e-3 * float(np.max(np.abs(col - offset))):
            break
    else:  # the mean itself: max |x - mean| <= sqrt(n) std, at least 1/448 of it within MAX_ROWS
        offset = mean
    return np.format_float_positional(offset, trim="-")


def _check_spread(col: np.ndarray, name: str, label: str) -> None:
    """Refuse a constant column and one whose spread the float32 samples cannot hold (see MIN_RELATIVE_SPREAD)."""
    if np.all(col == col[0]):
        raise _fail(label, f"column {name!r} holds the same value ({col[0]:g}) in every row: there is nothing to "
                    "model")
    std = float(col.std())
    size = float(np.max(np.abs(col)))
    if std < MIN_SPREAD:
        raise _fail(label, f"column {name!r} varies too little to be stored: its standard deviation {std:.3g} is "
                    f"below {MIN_SPREAD:g}, where float32 samples and densities fail; rescale the column (e.g. "
                    f"multiply it by 1e{-math.floor(math.log10(std)) if std > 0 else 30})")
    if std < MIN_RELATIVE_SPREAD * size:
        raise _fail(label, f"column {name!r} varies too little for its size: its standard deviation {std:.3g} is "
                    f"{std / size:.2g} of its largest |value| ({size:.10g}), and float32 samples keep about 7 "
                    f"significant digits, so rounding would erase the spread (at least {MIN_RELATIVE_SPREAD:g} is "
                    f"needed); subtract an offset from the column, such as {_offset_for(col, std)}")


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _not_regular(label: str, mode: int) -> ParamError:
    return _fail(label, f"is not a regular file (it is {_file_kind(mode)}); choose a CSV file saved on disk")


def _too_large(label: str, size: int | None) -> ParamError:
    """``size``: the size the file gives; None when reading it gave more than the limit."""
    limit = f"{MAX_BYTES / 2**20:g} MB"
    if size is None:
        told = f"more than the {limit} limit could be read from it, whatever size it reports"
    elif size >= MAX_BYTES + 2**20 // 10:
        told = f"{size / 2**20:.1f} MB; the limit is {limit}"
    else:  # just over: in MB the two would read alike
        told = f"{size:,} bytes; the limit is {MAX_BYTES:,} bytes"
    return _fail(label, f"is too large ({told}); use a sample of it")


def _read_limited(file: Path, label: str) -> tuple[bytes, os.stat_result]:
    """At most MAX_BYTES of a regular file, and its status: refused if it turns out to be more, or not a regular
    file after all (swapped since it was checked). Opened non-blocking, so even a FIFO put in its place cannot
    hang the open (a FIFO with no writer blocks a plain open forever); a device cannot become the terminal."""
    nonblock = getattr(os, "O_NONBLOCK", 0)
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOCTTY", 0) | nonblock
    try:
        fd = os.open(file, flags)
    except OSError as exc:
        raise _fail(label, f"cannot be opened: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(label, st.st_mode)
        if nonblock:
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _fail(label, f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise _too_large(label, None)
    return raw, st


def load_csv(path: str, columns: str, missing: str = "refuse") -> CsvData:
    """The chosen columns of a CSV file (empty path: the bundled example); ParamError with one clear message."""
    file = Path(os.path.expanduser(path)) if path.strip() else EXAMPLE_CSV
    # the path may come from a project file: control characters are shown escaped, so the message stays one line
    label = (path if path.isprintable() else repr(path)) if path.strip() else \
        f"{EXAMPLE_CSV.name} (the bundled example)"
    try:
        st = os.stat(file)  # follows symbolic links: a link to a device is refused as the device
    except FileNotFoundError:
        raise _fail(label, "not found" + (f" (looked in {os.getcwd()})" if not file.is_absolute() else "")) from None
    except OSError as exc:
        raise _fail(label, f"cannot be opened: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character, or text the file system cannot encode
        raise _fail(label, "cannot be opened: the path holds a character no file name can have") from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(label, "is a directory, not a CSV file")
    if not stat.S_ISREG(st.st_mode):  # checked before opening: opening a FIFO blocks, a device never ends
        raise _not_regular(label, st.st_mode)
    if st.st_size > MAX_BYTES:
        raise _too_large(label, st.st_size)
    key = (str(file.resolve()), st.st_size, st.st_mtime_ns, columns, missing)
    if key in _CACHE:
        return _CACHE[key]
    raw, st = _read_limited(file, label)
    if not raw.strip():
        raise _fail(label, "is empty")
    names, values, dropped = _parse(_decode(raw, label), label, columns, missing)
    values.setflags(write=False)
    data = CsvData(label, names, values, dropped, hashlib.sha256(raw).hexdigest())
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[(str(file.resolve()), st.st_size, st.st_mtime_ns, columns, missing)] = data
    return data


def _column_count(params: dict[str, Any]) -> int:
    return 2 if len([t for t in str(params.get("columns", "")).split(",") if t.strip()]) == 2 else 1


# ---- models ---------------------------------------------------------------------------------------------------
class KdeNDModel(Model):
    """A Gaussian KDE with one bandwidth per axis: a training point plus N(0, diag(h^2) x temperature).
    Samples have shape (n, d), or (n,) when ``flat`` (1-D data)."""

    def __init__(self, points: np.ndarray, bandwidths: np.ndarray, temperature: float = 1.0,
                 flat: bool = False) -> None:
        self.bandwidths = np.asarray(bandwidths, dtype=np.float64).ravel()
        self.points = np.asarray(points, dtype=np.float32).reshape(-1, len(self.bandwidths))
        self.temperature = float(temperature)
        self.flat = flat and len(self.bandwidths) == 1

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = rng.integers(0, len(self.points), n)
        noise = rng.standard_normal((n, len(self.bandwidths))) * (self.bandwidths * np.sqrt(self.temperature))
        x = (self.points[idx].astype(np.float64) + noise).astype(np.float32)
        return x.ravel() if self.flat else x

    def to_params(self) -> dict[str, Any]:
        return {"family": "kde", "bandwidth": json_floats(self.bandwidths), "n_points": int(len(self.points))}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        h = self.bandwidths
        if np.any(h <= 0):
            raise NotImplementedError
        q = np.asarray(x, dtype=np.float64).reshape(-1, len(h)) / h
        p = self.points.astype(np.float64) / h
        pp = 0.5 * np.einsum("ij,ij->i", p, p)
        const = -np.log(len(p)) - np.sum(np.log(h)) - 0.5 * len(h) * np.log(2 * np.pi)
        out = np.empty(len(q))
        step = max(1, 1_000_000 // max(len(p), 1))
        for s in range(0, len(q), step):
            qs = q[s:s + step]
            # -|q - p|^2 / 2 = q.p - |p|^2/2 - |q|^2/2, the last term outside the sum
            a = qs @ p.T
            a -= pp
            top = a.max(axis=1, keepdims=True)
            np.subtract(a, top, out=a)
            np.exp(a, out=a)
            out[s:s + step] = np.log(a.sum(axis=1)) + top[:, 0] - 0.5 * np.einsum("ij,ij->i", qs, qs) + const
        return out


    def sampling_logpdf(self, x: np.ndarray) -> np.ndarray:
        if self.temperature == 1.0:
            return self.logpdf(x)
        return KdeNDModel(self.points, self.bandwidths * np.sqrt(self.temperature), flat=self.flat).logpdf(x)


def scott_bandwidths(x: np.ndarray) -> np.ndarray:
    """Scott's rule per column for a d-dimensional Gaussian KDE: std_j n^(-1/(d+4))."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return x.std(axis=0) * max(len(x), 1) ** (-1.0 / (x.shape[1] + 4))


def fit_kde2d(train: np.ndarray, bandwidth: float, temperature: float) -> FitResult:
    x = np.asarray(train, dtype=np.float32).reshape(-1, 2)
    h = np.full(2, float(bandwidth)) if bandwidth > 0 else scott_bandwidths(x)
    note = "collapsed: zero bandwidth on an axis (all training values equal there)" if np.any(h == 0) else None
    return FitResult(KdeNDModel(x, h, temperature), note)


class RealRowsModel(Model):
    """The real process: rows of the file drawn with replacement; density = a KDE of the file's rows."""

    def __init__(self, data: CsvData) -> None:
        self.data = data
        self.dims = data.values.shape[1]
        v = data.values
        if len(v) > REFERENCE_ROWS:
            v = v[np.linspace(0, len(v) - 1, REFERENCE_ROWS).round().astype(np.int64)]
        self.density = KdeNDModel(v, scott_bandwidths(v), flat=self.dims == 1)
        self._rows32 = data.values.astype(np.float32)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        x = self._rows32[rng.integers(0, len(self._rows32), n)]
        return x[:, 0].copy() if self.dims == 1 else x

    def to_params(self) -> dict[str, Any]:
        return {"family": "real", "rows": int(len(self.data.values)), "dropped_rows": self.data.dropped,
                "columns": list(self.data.names), "sha256": self.data.sha256}

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        return self.density.logpdf(x)


def model_variance(model: Model) -> float | None:
    """Total variance (trace of the covariance) of a fitted model, untempered; None when unknown."""
    if isinstance(model, GaussianModel):
        return model.std**2
    if isinstance(model, MixtureModel):
        w, mu = model.weights, model.means
        mean = w @ mu
        second = np.einsum("k,kii->", w, model.covs) + np.einsum("k,ki,ki->", w, mu, mu)
        return float(second - mean @ mean)
    if isinstance(model, KdeModel):
        return float(np.var(model.points, dtype=np.float64) + model.bandwidth**2)
    if isinstance(model, KdeNDModel):
        return float(np.sum(np.var(model.points, axis=0, dtype=np.float64)) + np.sum(model.bandwidths**2))
    return None


CSV_SCHEMA = (
    Param("path", "path", "", "CSV file with a header row (UTF-8; comma, semicolon or tab separated; decimal "
          "point). Empty = the bundled example, Fisher's iris measurements (resources/iris.csv). A relative path is "
          "taken from the working directory and stored absolute.", label="CSV file"),
    Param("columns", "str", "", "One or two columns by header name or 0-based index, comma-separated (e.g. "
          "'petal_length' or '0,1'); empty = the first column. Two columns give the 2-D view.",
          label="columns"),
    Param("model", "choice", "gmm", "Model refitted every generation: gaussian (mean and covariance, MLE), gmm "
          "(Gaussian mixture with `components` components) or kde (Gaussian kernel density, `bandwidth`).",
          choices=("gaussian", "gmm", "kde"), label="model family"),
    Param("components", "int", 2, "Mixture components (model=gmm).", minimum=1, maximum=20,
          label="mixture components"),
    Param("bandwidth", "float", 0.0, "Kernel bandwidth in data units, on both axes in 2-D (model=kde); 0 = "
          "Scott's rule per column, refitted every generation.", minimum=0.0, maximum=1e12,
          label="kernel bandwidth"),
    Param("missing", "choice", "refuse", "Rows with blank or NA cells in the chosen columns: refuse (the run does "
          "not start; the message says how many and where) or drop (leave those rows out).",
          choices=("refuse", "drop"), label="rows with missing cells"),
    TEMPERATURE,
)

CSV_MODEL_METRICS = (
    MetricInfo("fit_var", "Fitted variance", "Total variance of this generation's fitted model (trace of its "
               "covariance; for a KDE the points' variance plus the squared bandwidth). With model=gaussian under "
               "replace its expectation is var(file) ((M-1)/M)^n temperature^(n-1).", log_scale=True),
    MetricInfo("components", "Active components", "Mixture components with weight >= 0.01 (model=gmm)."),
    MetricInfo("bandwidth", "Bandwidth", "Kernel bandwidth of this generation's KDE (the first axis's in 2-D)."),
)


class _CsvMixin:
    """What the 1-D and 2-D csv scenarios share: loading, the real model, fitting and the closed forms."""

    params: dict[str, Any]
    dims: int

    def _init_csv(self) -> None:
        self._data: CsvData | None = None
        self._real: RealRowsModel | None = None
        # A KDE is its training set: it cannot be rebuilt from stored parameters.
        self.regenerable = self.params["model"] != "kde"

    @property
    def data(self) -> CsvData:
        if self._data is None:
            self._data = load_csv(self.params["path"], self.params["columns"], self.params["missing"])
        return self._data

    def real_model(self) -> Model:
        if self._real is None:
            self._real = RealRowsModel(self.data)
        return self._real

    def fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None = None) -> FitResult:
        # One BLAS thread: scikit-learn's mixture fit on a few hundred points is several times faster so, and
        # its results do not depend on the machine's thread settings.
        if (family or self.params["model"]) == "gaussian":
            return self._fit(train, rng, family)
        with one_blas_thread():
            return self._fit(train, rng, family)

    def _fit(self, train: np.ndarray, rng: np.random.Generator, family: str | None) -> FitResult:
        kind = family or self.params["model"]
        tau = self.params["temperature"]
        x = np.asarray(train, dtype=np.float64).reshape(-1, self.dims)
        if len(x) == 0:
            raise DegenerateFit("no training data left")
        if kind == "gmm":
            if len(np.unique(x, axis=0)) == 1:  # scikit-learn refuses a single training point
                cov = 1e-6 * np.eye(self.dims)[None]  # the covariance regulariser fit_mixture uses
                return FitResult(MixtureModel(np.ones(1), x[:1], cov, tau, flat=self.dims == 1),
                                 "collapsed to a point (one distinct value)")
            return fit_mixture(train, rng, self.params["components"], tau, self.dims)
        if kind == "kde":
            if self.dims == 1:
                return fit_kde(train, rng, self.params["bandwidth"], tau)
            return fit_kde2d(train, self.params["bandwidth"], tau)
        mean = x.mean(axis=0)
        if self.dims == 1:
            std = float(x[:, 0].std())
            return FitResult(GaussianModel(float(mean[0]), std, tau), "collapsed to a point (zero variance)"
                             if std == 0.0 else None)
        cov = np.cov(x.T, bias=True) if len(x) > 1 else np.zeros((2, 2))
        rank = int(np.linalg.matrix_rank(cov)) if np.any(cov) else 0
        note = None if rank == 2 else ("collapsed to a point (zero covariance)" if rank == 0 else
                                       "collapsed onto a line (singular covariance)")
        return FitResult(MixtureModel(np.ones(1), mean[None, :], cov[None], tau, flat=False), note)

    def model_from_params(self, params: dict[str, Any]) -> Model:
        family = params.get("family")
        if family == "real":
            return self.real_model()
        if family == "kde":
            raise NotImplementedError("a KDE is its training set; it is not rebuilt from parameters")
        if "weights" in params:
            return MixtureModel.from_params(params, self.params["temperature"])
        return GaussianModel(params["mean"], params["std"], self.params["temperature"])

    def model_metrics(self, model: Model) -> dict[str, float]:
        out: dict[str, float] = {}
        var = model_variance(model)
        if var is not None:
            out["fit_var"] = var
        if isinstance(model, MixtureModel) and self.params["model"] == "gmm":
            out["components"] = float(model.active_components())
        if isinstance(model, KdeModel):
            out["bandwidth"] = model.bandwidth
        if isinstance(model, KdeNDModel):
            out["bandwidth"] = float(model.bandwidths[0])
        return out

    def _check_same_file(self, real: np.ndarray) -> None:
        """Generation 0's rows must all come from the file (a resumed run whose file changed stops here)."""
        rows = self.data.values.astype(np.float32)
        got = np.asarray(real, dtype=np.float32).reshape(-1, self.dims)
        if self.dims == 1:
            ok = bool(np.all(np.isin(got[:, 0], rows[:, 0])))
        else:
            known = {tuple(r) for r in rows.tolist()}
            ok = all(tuple(r) in known for r in got.tolist())
        if not ok:
            raise ParamError(f"csv file {self.data.label} changed since this run started: generation 0's rows are "
                             "not all in it any more; restore the file or start a new run")

    @classmethod
    def check_files(cls, params: dict[str, Any]) -> None:
        load_csv(params["path"], params["columns"], params["missing"])

    @classmethod
    def check(cls, params: dict[str, Any], samples: int) -> None:
        if samples < 2:
            raise ParamError("csv needs at least 2 samples per generation", param="samples")

    @classmethod
    def theory(cls, metric: str, generations: np.ndarray, run: dict[str, Any]) -> np.ndarray | None:
        """model=gaussian under replace: MLE refitting shrinks the expected variance by (M-1)/M per generation;
        the first fit sees untempered real rows, later ones tempered samples (as for the gaussian scenario)."""
        p = run["params"]
        if run["policy"] != "replace" or p.get("model") != "gaussian" or metric not in ("fit_var", "var_ratio"):
            return None
        m = int(run["samples"])
        a = (m - 1) / m
        tau = float(p.get("temperature", 1.0))
        n = np.asarray(generations, dtype=np.float64)
        if metric == "var_ratio":
            return np.where(n > 0, (a * tau) ** n, 1.0)
        try:
            v = load_csv(p["path"], p["columns"], p["missing"]).values
        except ParamError:
            return None
        total = float(np.sum(v.var(axis=0)))
        return np.where(n > 0, total * a**n * tau ** np.maximum(n - 1, 0), total)


class CsvScenario(_CsvMixin, Continuous1D):
    name = "csv"
    title = "Your CSV data"
    summary = ("Bring your own data: one or two numeric columns of a CSV file are the real data (resampled with "
               "replacement); a Gaussian, Gaussian mixture or KDE is refitted to its own samples every generation.")
    schema = CSV_SCHEMA
    metric_infos = CONTINUOUS_METRICS + CSV_MODEL_METRICS
    families = ("gaussian", "gmm", "kde")
    default_samples = 500
    max_samples = 500_000
    dims = 1

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        super().__init__(params, seed, replicate, samples)
        self._init_csv()

    @classmethod
    def variant(cls, params: dict[str, Any]) -> type[Scenario]:
        return Csv2DScenario if _column_count(params) == 2 else cls

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        self._check_same_file(real)
        super().set_reference(real, heldout)
        self.ref.update({"columns": list(self.data.names), "file_rows": int(len(self.data.values)),
                         "dropped_rows": self.data.dropped})


class Csv2DScenario(_CsvMixin, Continuous2D):
    """The 2-D variant of `csv` (chosen by naming two columns); registered under the same name."""

    name = "csv"
    title = CsvScenario.title
    summary = CsvScenario.summary
    schema = CSV_SCHEMA
    metric_infos = CONTINUOUS2D_METRICS + CSV_MODEL_METRICS
    families = CsvScenario.families
    default_samples = 500
    max_samples = 500_000
    dims = 2

    def __init__(self, params: dict[str, Any], seed: int, replicate: int, samples: int) -> None:
        super().__init__(params, seed, replicate, samples)
        self._init_csv()

    def set_reference(self, real: np.ndarray, heldout: np.ndarray) -> None:
        self._check_same_file(real)
        super().set_reference(real, heldout)
        self.ref.update({"columns": list(self.data.names), "file_rows": int(len(self.data.values)),
                         "dropped_rows": self.data.dropped})
