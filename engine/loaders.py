"""Reading and writing data files: CSV, SVMlight/libsvm text and NumPy ``.npz``.

Every reader returns dense ``float64`` features and raw labels (numbers or text) and
raises :class:`DataError` naming the file, the line and the problem on bad input. Turning
raw labels into classes or targets is :func:`engine.data.load_dataset`'s job.
"""

from __future__ import annotations

import csv
import io
import math
import os
import zipfile

import numpy as np

from .fileio import atomic_write
from .spec import SpecError

# A dense libsvm matrix larger than this (800 MB of float64) is refused with a message
# instead of exhausting memory.
MAX_DENSE_VALUES = 100_000_000


class DataError(SpecError):
    """A data file (or the inline points) cannot be used.

    Parameters
    ----------
    path : str or os.PathLike or None
        The file; None for data that is not a file.
    line : int or None
        1-based line number in the file, None when the problem is not on one line.
    message : str
        What is wrong, in words a user understands.
    field : str
        The spec field the data came from: ``"dataset.path"`` for files,
        ``"dataset.points[i]"`` for an inline point.

    ``str(error)`` reads like ``data.csv, line 7: expected 3 columns, got 2``.
    """

    def __init__(self, path, line: int | None, message: str, field: str = "dataset.path"):
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.detail = message
        if self.path is not None:
            where = self.path if line is None else f"{self.path}, line {line}"
            text = f"{where}: {message}"
        else:
            text = message
        super().__init__(field, text)
        self.args = (text if self.path is not None else f"{field}: {text}",)

    def __str__(self) -> str:
        return self.args[0]


# ----------------------------------------------------------------------------- helpers


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except IsADirectoryError:
        raise DataError(path, None, "is a folder, not a data file") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read the file ({exc.strerror or exc})") from None
    return decode_text(raw, path)


def decode_text(raw: bytes, path: str | None = None) -> str:
    """Text of a data file: UTF-8 (with or without BOM), UTF-16 or UTF-32 with BOM, or Latin-1.

    Spreadsheets on Windows still export in their 8-bit code page (Windows-1252, a
    superset of Latin-1's printable characters), and "Unicode text" from Excel is UTF-16
    with a byte-order mark. Text never holds NUL bytes, so bytes that are not UTF-8 and
    hold NULs (UTF-16 without a BOM, or a binary file) cannot be told apart: they get a
    DataError saying so.
    """
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise DataError(path, None, f"starts with a {codec.upper()} byte-order mark but is not valid "
                                            f"{codec.upper()} text (near byte {exc.start})") from None
    if b"\x00" not in raw:
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return raw.decode("cp1252")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
    line = raw[: raw.index(b"\x00")].count(b"\n") + 1
    raise DataError(
            path, line,
            "the text encoding cannot be determined: not UTF-8, not UTF-16 with a byte-order mark, and it holds "
            "NUL bytes, so not Latin-1 text either (is it a binary file, or UTF-16 without a BOM?); "
            "save it as UTF-8",
    )


def _parse_float(text: str) -> float | None:
    """``float(text)`` or None when ``text`` is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def _is_number(text: str) -> bool:
    return _parse_float(text) is not None


# ----------------------------------------------------------------------------- CSV


def _count_outside_quotes(line: str, delimiter: str) -> int:
    if '"' not in line:
        return line.count(delimiter)
    return sum(part.count(delimiter) for part in line.split('"')[::2])


def _sniff_delimiter(lines: list[str]) -> str:
    """The delimiter of the first data lines: ``;``, tab or ``,``.

    A candidate must split every sampled line into the same number (> 1) of cells; among
    those, tab, then ``;`` (which European exports pair with a decimal comma) wins over
    ``,``. So a header name with a ``;`` in it (``"width;cm"``) does not switch a
    comma-separated file, because the data lines hold no ``;``. When no candidate is
    consistent (ragged rows), the first line decides, as before, and the row-length
    check names the bad line.
    """
    sample = lines[:50]
    consistent = []
    for delimiter in ("\t", ";", ","):
        counts = {_count_outside_quotes(line, delimiter) for line in sample}
        if len(counts) == 1 and counts.pop() > 0:
            consistent.append(delimiter)
    if consistent:
        return consistent[0]
    # Ragged or single-line files: the body lines (without the header) decide first.
    for part in (sample[1:], sample):
        for delimiter in ("\t", ";", ","):
            if part and all(_count_outside_quotes(line, delimiter) > 0 for line in part):
                return delimiter
    return ","


def _feature_matrix(path, body, body_lines, feature_index, names, decimal_comma) -> np.ndarray:
    """The feature cells of ``body`` as an (n, d) float64 array, or a DataError at the cell."""
    n, d = len(body), len(feature_index)
    if feature_index == list(range(d)):
        cells = [c for row in body for c in row[:d]]
    elif feature_index == list(range(1, d + 1)):
        cells = [c for row in body for c in row[1:]]
    else:
        cells = [row[i] for row in body for i in feature_index]
    if decimal_comma:
        # European exports pair ';' with a decimal comma.
        cells = [c.replace(",", ".") for c in cells]
    try:
        # Python's float() in one C-level map is several times faster than NumPy's
        # string-to-float conversion, and it ignores surrounding spaces.
        X = np.fromiter(map(float, cells), dtype=np.float64, count=n * d).reshape(n, d)
    except ValueError:
        # Slow path, only to say exactly which cell is wrong.
        for k, cell in enumerate(cells):
            if _parse_float(cell) is None:
                r, j = divmod(k, d)
                text = cell.strip()
                what = "is empty" if text == "" else f"holds {text!r}, not a number"
                raise DataError(path, body_lines[r], f"column {names[feature_index[j]]!r} {what}") from None
        raise  # pragma: no cover - float() failed above, so some cell fails here too
    bad = ~np.isfinite(X)
    if bad.any():
        r, j = np.argwhere(bad)[0]
        raise DataError(
            path, body_lines[r],
            f"column {names[feature_index[j]]!r} holds {cells[r * d + j].strip()!r}; "
            "missing or infinite values are not supported",
        )
    return X


def read_csv(
    path: str | os.PathLike, label_column: int | str | None = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """Read a CSV file of feature columns and one label column.

    The delimiter is ``,``, ``;`` or tab, the one that splits the first lines into
    equally many cells; with ``;`` a decimal comma (``1,5``) is accepted in features and
    in numeric labels. A header row is detected: the first row is a
    header when one of its feature cells is not a number, or when its label cell is text
    while the next row's label is a number. Blank lines and lines starting with ``#``
    are skipped, as is an empty last column left by a delimiter at the end of every line.
    The text is UTF-8 (with or without BOM), UTF-16 or UTF-32 with a BOM, or else the
    Windows code page 1252 / Latin-1 that spreadsheets export (see :func:`decode_text`).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    label_column : int or str or None
        The label column: an index (negative counts from the end) or a header name;
        None means the last column.

    Returns
    -------
    X : ndarray, shape (n, d), float64
        The other columns, in file order.
    y_raw : ndarray, shape (n,)
        ``float64`` when every label is a number, else text (``str`` array).
    header : tuple of str or None
        The header row (all columns, label included), None when the file has none.

    Raises
    ------
    DataError
        Naming the file and line: empty file, one column only, ragged rows, a feature that
        is not a number, NaN or infinite values, an unknown label column.
    """
    path = os.fspath(path)
    text = _read_text(path)
    rows: list[list[str]] = []
    lines: list[int] = []
    delimiter = None
    content = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
               if line.strip() and not line.strip().startswith("#")]
    if content:
        delimiter = _sniff_delimiter([line for _, line in content])
    for number, line in content:
        # One line is one record; the csv module only runs for quoted cells ("a, b").
        if '"' in line:
            cells = [c.strip() for c in next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))]
        else:
            # Cells keep their spaces here: float() ignores them, and the few cells used
            # as text (header, labels) are stripped where they are used.
            cells = line.split(delimiter)
        rows.append(cells)
        lines.append(number)
    if not rows:
        raise DataError(path, None, "the file is empty (no data rows)")
    if len(rows[0]) > 2 and all(row[-1].strip() == "" for row in rows):
        # Some exporters end every line with a delimiter: an empty last column.
        rows = [row[:-1] for row in rows]
    n_cols = len(rows[0])
    where = "tab" if delimiter == "\t" else repr(delimiter)
    if n_cols < 2:
        raise DataError(
            path, lines[0],
            f"only one column found (delimiter {where}); need feature columns and a label column",
        )

    first = [c.strip() for c in rows[0]]
    if isinstance(label_column, str):
        if label_column not in first:
            if all(_is_number(c) or c == "" for c in first):
                message = f"label column {label_column!r} needs a header row, but the first row holds data"
            else:
                message = f"no column named {label_column!r} (columns: {', '.join(first)})"
            raise DataError(path, lines[0], message)
        label_index = first.index(label_column)
        has_header = True
    else:
        index = -1 if label_column is None else int(label_column)
        if not -n_cols <= index < n_cols:
            raise DataError(
                path, lines[0], f"label column {index} is out of range for {n_cols} columns"
            )
        label_index = index % n_cols
        feature_text = any(not _is_number(c) for i, c in enumerate(first) if i != label_index)
        label_text = not _is_number(first[label_index])
        next_label_number = len(rows) > 1 and len(rows[1]) == n_cols and _is_number(rows[1][label_index])
        has_header = feature_text or (label_text and next_label_number)

    header = tuple(first) if has_header else None
    body = rows[1:] if has_header else rows
    body_lines = lines[1:] if has_header else lines
    if not body:
        raise DataError(path, lines[0], "the file has a header row but no data rows")
    names = list(header) if header else [f"column {i + 1}" for i in range(n_cols)]

    for row, number in zip(body, body_lines):
        if len(row) != n_cols:
            raise DataError(path, number, f"expected {n_cols} columns, got {len(row)}")

    feature_index = [i for i in range(n_cols) if i != label_index]
    X = _feature_matrix(path, body, body_lines, feature_index, names, decimal_comma=delimiter == ";")

    labels = [row[label_index].strip() for row in body]
    for label, number in zip(labels, body_lines):
        if label == "":
            raise DataError(path, number, f"the label (column {names[label_index]!r}) is empty")
    y_raw = _numeric_labels(labels, decimal_comma=delimiter == ";")
    if y_raw is not None:
        bad_labels = np.flatnonzero(~np.isfinite(y_raw))
        if len(bad_labels):
            r = bad_labels[0]
            raise DataError(path, body_lines[r], f"the label {labels[r]!r} is not a finite number")
    else:
        y_raw = np.array(labels, dtype=str)
    return X, y_raw, header


def _numeric_labels(labels: list[str], decimal_comma: bool) -> np.ndarray | None:
    """The labels as float64 when every one is a number (``2,5`` too with a decimal comma), else None."""
    try:
        return np.fromiter(map(float, labels), dtype=np.float64, count=len(labels))
    except ValueError:
        pass
    if decimal_comma:
        try:
            return np.fromiter((float(v.replace(",", ".")) for v in labels), dtype=np.float64, count=len(labels))
        except ValueError:
            pass
    return None


def _label_text(value) -> str:
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    return str(value)


def write_csv(
    path: str | os.PathLike,
    X: np.ndarray,
    y: np.ndarray,
    class_names=None,
    header=("x1", "x2", "label"),
) -> None:
    """Write samples as CSV that :func:`read_csv` reads back exactly.

    Parameters
    ----------
    path : str or os.PathLike
        The file; written atomically (a crash never leaves half a file).
    X : ndarray, shape (n, d)
        Features, written with full (round-trip) precision.
    y : ndarray, shape (n,)
        Labels: class indices (written as ``class_names[y]`` when names are given),
        numbers or text.
    class_names : sequence of str, optional
        Names of the classes 0..C-1.
    header : sequence of str or None
        Column names, features then label; the default names ``x1``, ``x2``, ...,
        ``label`` for any number of features. None writes no header.
    """
    path = os.fspath(path)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
    d = X.shape[1]
    if header is not None:
        header = tuple(header)
        if header == ("x1", "x2", "label") and d != 2:
            header = tuple(f"x{i + 1}" for i in range(d)) + ("label",)
        if len(header) != d + 1:
            raise ValueError(f"header has {len(header)} names for {d} features and a label")
    if class_names is not None:
        names = [str(c) for c in class_names]
        labels = [names[int(i)] for i in y]
    else:
        labels = [_label_text(v) for v in y.tolist()]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for row, label in zip(X.tolist(), labels):
        writer.writerow([repr(v) for v in row] + [label])
    atomic_write(path, buffer.getvalue())


# ----------------------------------------------------------------------------- libsvm


def read_libsvm(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read an SVMlight / libsvm text file into dense arrays.

    Each line is ``label index:value index:value ...``; ``#`` starts a comment and
    ``qid:N`` is ignored. Indices are 1-based as SVMlight defines them; a file that uses
    index 0 anywhere is taken as 0-based (what scikit-learn's ``dump_svmlight_file``
    writes by default). Missing indices are zeros.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    X : ndarray, shape (n, d), float64
        d is the largest index used (plus one when 0-based).
    y : ndarray, shape (n,), float64
        The labels.

    Raises
    ------
    DataError
        Naming the file and line: a label or value that is not a finite number, a token
        that is not ``index:value``, a repeated index, an empty file.
    """
    path = os.fspath(path)
    text = _read_text(path)
    labels: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].split()
        if not content:
            continue
        head = content[0]
        if "," in head:
            raise DataError(path, number, f"multi-label lines ({head!r}) are not supported")
        label = _parse_float(head)
        if label is None or not math.isfinite(label):
            raise DataError(path, number, f"the label {head!r} is not a finite number")
        row = len(labels)
        labels.append(label)
        seen: set[int] = set()
        for token in content[1:]:
            index_text, sep, value_text = token.partition(":")
            if not sep:
                raise DataError(path, number, f"expected index:value, got {token!r}")
            if index_text == "qid":
                continue
            try:
                index = int(index_text)
            except ValueError:
                raise DataError(path, number, f"the feature index {index_text!r} is not a whole number") from None
            if index < 0:
                raise DataError(path, number, f"the feature index {index} is negative")
            if index in seen:
                raise DataError(path, number, f"the feature index {index} appears twice")
            seen.add(index)
            value = _parse_float(value_text)
            if value is None or not math.isfinite(value):
                raise DataError(path, number, f"the value {value_text!r} of feature {index} is not a finite number")
            rows.append(row)
            cols.append(index)
            vals.append(value)
    if not labels:
        raise DataError(path, None, "the file is empty (no data lines)")
    col = np.array(cols, dtype=np.int64)
    zero_based = bool(len(col)) and int(col.min()) == 0
    if not zero_based:
        col -= 1
    d = int(col.max()) + 1 if len(col) else 1
    n = len(labels)
    if n * d > MAX_DENSE_VALUES:
        raise DataError(
            path, None,
            f"{n} rows x {d} features is too large to hold as a dense array "
            f"(limit {MAX_DENSE_VALUES:,} values)",
        )
    X = np.zeros((n, d), dtype=np.float64)
    X[np.array(rows, dtype=np.int64), col] = np.array(vals, dtype=np.float64)
    return X, np.array(labels, dtype=np.float64)


# ----------------------------------------------------------------------------- npz


def read_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read arrays ``X`` and ``y`` from a NumPy ``.npz`` file (never unpickling).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    X : ndarray, shape (n, d), float64
    y : ndarray, shape (n,)
        Numbers (``float64``) or text (``str``).

    Raises
    ------
    DataError
        Not an ``.npz`` file, ``X`` or ``y`` missing, object arrays, shapes that do not
        match, non-numeric or non-finite features.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise DataError(path, None, "is a folder, not a data file")
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(path, None, "no such file") from None
    except OSError as exc:
        raise DataError(path, None, f"cannot read the file ({exc.strerror or exc})") from None
    except (ValueError, zipfile.BadZipFile, EOFError):
        raise DataError(path, None, "not a NumPy .npz file") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(path, None, "holds a single array (.npy); expected an .npz with arrays X and y")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            have = ", ".join(archive.files) or "none"
            raise DataError(path, None, f"array {missing[0]!r} is missing (arrays in the file: {have})")
        arrays = {}
        for key in ("X", "y"):
            try:
                arrays[key] = archive[key]
            except ValueError:
                # np.load refuses object arrays without pickle, which is what we want.
                raise DataError(path, None, f"array {key!r} holds Python objects; only numbers (and text labels) are read") from None
            except (zipfile.BadZipFile, OSError, EOFError):
                raise DataError(path, None, f"array {key!r} is damaged") from None
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2:
        raise DataError(path, None, f"X has shape {X.shape}; expected 2-D (samples, features)")
    if X.dtype.kind not in "biuf":
        raise DataError(path, None, f"X has dtype {X.dtype}; expected numbers")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(path, None, f"y has shape {y.shape}; expected 1-D (one label per sample)")
    if len(y) != len(X):
        raise DataError(path, None, f"X has {len(X)} rows but y has {len(y)} labels")
    if len(X) == 0 or X.shape[1] == 0:
        raise DataError(path, None, f"X has shape {X.shape}; it holds no data")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        r, j = np.argwhere(~np.isfinite(X))[0]
        raise DataError(path, None, f"X[{r}, {j}] is {X[r, j]}; missing or infinite values are not supported")
    if y.dtype.kind in "biuf":
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            r = int(np.flatnonzero(~np.isfinite(y))[0])
            raise DataError(path, None, f"y[{r}] is {y[r]}; labels must be finite")
    elif y.dtype.kind == "U":
        y = y.astype(str)
    elif y.dtype.kind == "S":
        try:
            y = np.char.decode(y, "utf-8").astype(str)
        except UnicodeDecodeError:
            raise DataError(path, None, "y holds bytes that are not UTF-8 text") from None
    else:
        raise DataError(path, None, f"y has dtype {y.dtype}; expected numbers or text")
    return X, y


# ----------------------------------------------------------------------------- writers for libsvm and npz


def write_libsvm(path: str | os.PathLike, X: np.ndarray, y: np.ndarray) -> None:
    """Write samples as an SVMlight / libsvm file that :func:`read_libsvm` reads back exactly.

    Parameters
    ----------
    path : str or os.PathLike
        The file; written atomically.
    X : ndarray, shape (n, d)
        Features; zeros are left out (the format's sparse convention), indices are 1-based.
    y : ndarray, shape (n,)
        Numeric labels (class indices or regression targets).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ValueError("libsvm labels must be numbers")
    lines = []
    for row, label in zip(X.tolist(), y.tolist()):
        cells = [_label_text(label)]
        cells.extend(f"{j + 1}:{v!r}" for j, v in enumerate(row) if v != 0.0)
        lines.append(" ".join(cells))
    atomic_write(os.fspath(path), "\n".join(lines) + "\n")


def write_npz(path: str | os.PathLike, X: np.ndarray, y: np.ndarray) -> None:
    """Write arrays ``X`` (n, d) float64 and ``y`` (n,) as an ``.npz`` that :func:`read_npz` reads."""
    from .fileio import atomic_write_with

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"expected X (n, d) and y (n,), got {X.shape} and {y.shape}")

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, X=X, y=y)

    atomic_write_with(os.fspath(path), write)
