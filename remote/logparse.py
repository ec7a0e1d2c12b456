"""Turn a training job's output into loss-curve records.

Three kinds of text are understood:

* Keras progress output as it lands in a job's output file (:func:`parse_keras_log`):
  Keras 2 ``[=====]`` bars and Keras 3 ``━━━━`` bars, ``verbose=2`` lines, carriage-return
  and backspace progress updates (only the last state of a line counts), ``Epoch 3/10``
  headers, step timings, ``ETA`` lines, warnings and callback messages in between, and
  ``evaluate`` lines after training (kept apart from the epochs).
* A Keras ``CSVLogger`` file (:func:`parse_csv_log`).
* Our own ``metrics.jsonl`` (:func:`parse_jsonl`).

:func:`parse_metrics_file` picks the right one by file name and content and returns
records in our naming (``train_loss``, ``test_loss``, ...; see :func:`to_metrics_records`).
Everything here is a pure function of text; :class:`KerasLogParser` also takes the text in
chunks, as a file being tailed delivers it, and gives the same result.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from typing import Iterable

__all__ = [
    "KerasLogParser",
    "parse_keras_log",
    "parse_keras_evaluations",
    "parse_csv_log",
    "parse_jsonl",
    "decode_json_lines",
    "parse_metrics_file",
    "detect_log_format",
    "keras_name_to_ours",
    "to_metrics_records",
    "LOG_FORMATS",
]

LOG_FORMATS = ("jsonl", "csv", "keras")

# A number as Keras prints it: ``0.2118``, ``3.8914e-04``, ``20443820.0000``, ``nan``, ``inf``.
_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf|infinity)"
_METRIC_RE = re.compile(r"^\s*([A-Za-z_][\w.\-/]*)\s*:\s*(" + _NUMBER + r")\s*$")
_HEADER_RE = re.compile(r"^\s*Epoch\s+(\d+)\s*/\s*(\d+)\s*$")
# ``118/118``, `` 32/32``, ``118/Unknown`` at the start of a progress line.
_COUNTER_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+|Unknown)\b")
# The whole-epoch time Keras prints (``62s``), as opposed to per-step (``500ms/step``).
_EPOCH_TIME_RE = re.compile(r"(?<![\w/.])(\d+(?:\.\d+)?)(ms|s|m|h)(?![\w/])")
# Timing tokens: ``62s``, ``500ms/step``, ``62s/epoch``, and Keras 3's ETA (``1:02``, ``10s``).
_TIME_SEGMENT_RE = re.compile(
    r"^\s*(?:(?:\d+(?:\.\d+)?(?:us|µs|ms|s|m|h)(?:/\w+)?|\d+:\d\d(?::\d\d)?)\s*)+$"
)
_BAR3_CHARS = "━─╸╺ "
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TIME_UNITS_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _to_float(text: str) -> float:
    low = text.lower().lstrip("+")
    if low in ("nan", "-nan"):
        return math.nan
    if low in ("inf", "infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    return float(text)


def _final_state(raw_line: str) -> str:
    """What a terminal would show for ``raw_line``: the last carriage-return state.

    Keras rewrites its bar in place: a run of ``\\b``, a ``\\r`` and the new state, with
    ANSI colour codes (Keras 3); in a file all those states are on one physical line.
    """
    raw_line = _ANSI_RE.sub("", raw_line)
    states = [s for s in raw_line.split("\r") if s.replace("\b", "").strip()]
    if not states:
        return ""
    state = states[-1]
    if "\b" in state:
        out: list[str] = []
        for ch in state:
            if ch == "\b":
                if out:
                    out.pop()
            else:
                out.append(ch)
        state = "".join(out)
    return state.rstrip("\n")


class _ProgressLine:
    """One Keras progress line, split into counter, timing, metrics."""

    __slots__ = ("current", "target", "has_eta", "metrics", "epoch_time_s")

    def __init__(self) -> None:
        self.current: int | None = None
        self.target: int | None = None
        self.has_eta = False
        self.metrics: dict[str, float] = {}
        self.epoch_time_s: float | None = None

    @property
    def complete(self) -> bool:
        """The bar reached its end (or has no counter, as old ``verbose=2`` lines)."""
        if self.has_eta:
            return False
        if self.current is None:
            return True
        return self.target is not None and self.current >= self.target


def _parse_progress(line: str) -> _ProgressLine | None:
    """Split a Keras progress line; ``None`` when the line is something else.

    A progress line is a counter (``118/118``) and/or a bar, timing tokens, then
    `` - name: value`` segments. Any part that is neither bar, timing, ``ETA`` nor a
    metric means the line is something else (a warning, a print of the user's).
    """
    segments = line.split(" - ")
    out = _ProgressLine()
    m = _COUNTER_RE.match(segments[0])
    if m:
        out.current = int(m.group(1))
        out.target = None if m.group(2) == "Unknown" else int(m.group(2))
        rest = segments[0][m.end():].strip()
    else:
        rest = segments[0].strip()
        if rest or len(segments) == 1:
            # Without a counter only the old ``verbose=2`` form `` - 62s - loss: ...``
            # (nothing before the first dash) is progress.
            return None
    # After the counter: a Keras 2 ``[=====>....]`` or Keras 3 ``━━━━`` bar, then timing.
    if rest.startswith("[") and "]" in rest:
        rest = rest[rest.index("]") + 1:].strip()
    else:
        rest = rest.lstrip(_BAR3_CHARS).strip()
    if rest:
        if not _TIME_SEGMENT_RE.match(rest):
            return None
        _take_epoch_time(out, rest)
    for seg in segments[1:]:
        s = seg.strip()
        if not s:
            continue
        if s.startswith("ETA"):
            out.has_eta = True
            continue
        if _TIME_SEGMENT_RE.match(s):
            _take_epoch_time(out, s)
            continue
        mm = _METRIC_RE.match(s)
        if mm is None:
            return None
        out.metrics[mm.group(1)] = _to_float(mm.group(2))
    return out


_STEP_TIME_RE = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s)/step")
_STEP_UNITS_S = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def _take_epoch_time(out: _ProgressLine, text: str) -> None:
    if out.epoch_time_s is not None:
        return
    for token in text.split():
        if "/" in token and not token.endswith("/epoch"):
            continue  # a per-step time
        mm = _EPOCH_TIME_RE.fullmatch(token.split("/")[0])
        if mm:
            out.epoch_time_s = float(mm.group(1)) * _TIME_UNITS_S[mm.group(2)]
            break
    # Keras rounds the epoch time down to whole seconds: "0s 5ms/step" is an epoch under a
    # second, not one of no time; steps x time per step says how long.
    step = _STEP_TIME_RE.search(text)
    if step and out.target and out.epoch_time_s == 0:
        estimate = out.target * float(step.group(1)) * _STEP_UNITS_S[step.group(2)]
        if estimate < 1.0:
            out.epoch_time_s = estimate


class KerasLogParser:
    """Incremental parser of Keras ``fit``/``evaluate`` output.

    Feed it text in any chunks (a line may be split anywhere); only whole lines are
    parsed, so the result does not depend on how the text was cut. Call :meth:`finish`
    at the end of a file that has no final newline.

    Attributes
    ----------
    records : list of dict
        One dict per finished epoch: ``epoch`` (as printed in ``Epoch k/N``), every
        metric of the epoch's final line under its Keras name, and ``epoch_time_s``
        when Keras printed the epoch's duration.
    evaluations : list of dict
        Complete progress lines with metrics that belong to no epoch (``evaluate``
        after or between fits), each with the metrics under their Keras names.
    total_epochs : int or None
        ``N`` of the last ``Epoch k/N`` header.
    offset : int
        How much input was consumed as whole lines (bytes, or characters for text).
    safe_offset : int
        Where a *fresh* parser may resume after the last record and find exactly the
        records that follow: the end of the line that completed it, or the start of the
        header line that did. A tail that keeps this offset (e.g. in the job store)
        neither loses nor repeats an epoch across restarts.
    """

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.evaluations: list[dict] = []
        self.total_epochs: int | None = None
        self.offset = 0
        self.safe_offset = 0
        self._text_buffer = ""
        self._byte_buffer = b""
        self._header: int | None = None  # epoch of the header still waiting for its line
        self._pending: _ProgressLine | None = None  # an unknown-length epoch's last state
        # Evaluation-like lines since the last epoch, in case a header was lost.
        self._orphans_since_epoch: list[tuple[int, float | None]] = []

    def feed(self, data: str | bytes) -> list[dict]:
        """Parse more output; return the epoch records it completed (possibly none).

        ``bytes`` are split into lines before decoding (a newline byte never occurs
        inside a UTF-8 character), so a chunk may end in the middle of a ``━``. Use one
        kind of input per parser: :attr:`offset` counts bytes for bytes, characters for
        text.
        """
        before = len(self.records)
        if isinstance(data, (bytes, bytearray)):
            self._byte_buffer += bytes(data)
            *lines, self._byte_buffer = self._byte_buffer.split(b"\n")
            for raw in lines:
                self._advance(raw.decode("utf-8", errors="replace"), len(raw) + 1)
        else:
            self._text_buffer += data
            *texts, self._text_buffer = self._text_buffer.split("\n")
            for text in texts:
                self._advance(text, len(text) + 1)
        return self.records[before:]

    def finish(self) -> list[dict]:
        """Treat what is left as a last whole line (end of file); return new records."""
        before = len(self.records)
        if self._byte_buffer:
            raw, self._byte_buffer = self._byte_buffer, b""
            self._advance(raw.decode("utf-8", errors="replace"), len(raw))
        if self._text_buffer:
            text, self._text_buffer = self._text_buffer, ""
            self._advance(text, len(text))
        if self._close_header():
            self.safe_offset = self.offset
        return self.records[before:]

    def _advance(self, line: str, size: int) -> None:
        start = self.offset
        self.offset += size
        self._line(line, start, self.offset)

    # ------------------------------------------------------------------ internals

    def _line(self, raw: str, start: int, end: int) -> None:
        line = _final_state(raw)
        if not line.strip():
            return
        header = _HEADER_RE.match(line)
        if header:
            closed = self._close_header()
            epoch = int(header.group(1))
            self.total_epochs = int(header.group(2))
            if self._recover_lost_header(epoch) or closed:
                # A fresh parser started at this header's line continues correctly.
                self.safe_offset = start
            self._header = epoch
            return
        progress = _parse_progress(line)
        if progress is None or not progress.metrics:
            return
        if self._header is not None:
            if progress.complete:
                self._commit(self._header, progress)
                self.safe_offset = end
            elif not progress.has_eta:
                # ``118/Unknown`` while Keras does not yet know the epoch length: the
                # last such state is the epoch's result if no complete line comes.
                self._pending = progress
            return
        if progress.complete:
            self.evaluations.append(dict(progress.metrics))
            self._orphans_since_epoch.append((len(self.evaluations) - 1, progress.epoch_time_s))

    def _commit(self, epoch: int, progress: _ProgressLine) -> None:
        record: dict = {"epoch": epoch}
        record.update(progress.metrics)
        if progress.epoch_time_s is not None:
            record["epoch_time_s"] = progress.epoch_time_s
        self.records.append(record)
        self._header = None
        self._pending = None
        self._orphans_since_epoch = []

    def _close_header(self) -> bool:
        committed = self._header is not None and self._pending is not None
        if committed:
            self._commit(self._header, self._pending)
        self._header = None
        self._pending = None
        return committed

    def _recover_lost_header(self, epoch: int) -> bool:
        """An ``Epoch k/N`` header right after a single headerless line for epoch k-1.

        Logging written to the same file (XLA, absl) can swallow a header; a single
        complete line between epoch k-2 and the header of epoch k was epoch k-1.
        """
        last = self.records[-1]["epoch"] if self.records else 0
        recovered = False
        if epoch >= 2 and last == epoch - 2 and len(self._orphans_since_epoch) == 1:
            index, epoch_time_s = self._orphans_since_epoch[0]
            if index == len(self.evaluations) - 1:
                record = {"epoch": epoch - 1, **self.evaluations.pop(index)}
                if epoch_time_s is not None:
                    record["epoch_time_s"] = epoch_time_s
                self.records.append(record)
                recovered = True
        self._orphans_since_epoch = []
        return recovered


def parse_keras_log(text: str) -> list[dict]:
    """Epoch records from Keras output.

    Parameters
    ----------
    text : str
        A job's output file (or any part of it that starts at a line boundary).

    Returns
    -------
    list of dict
        One dict per epoch, in order: ``epoch`` and every metric on the epoch's final
        line under its Keras name (``loss``, ``accuracy``, ``val_loss``, ``lr``,
        ``dense_1_loss``, ...), plus ``epoch_time_s`` when printed. Values are floats;
        ``nan`` stays ``nan``. ``evaluate`` lines are not included (see
        :func:`parse_keras_evaluations`).
    """
    parser = KerasLogParser()
    parser.feed(text)
    parser.finish()
    return parser.records


def parse_keras_evaluations(text: str) -> list[dict]:
    """The ``evaluate`` lines of Keras output (complete bars with metrics outside any epoch)."""
    parser = KerasLogParser()
    parser.feed(text)
    parser.finish()
    return parser.evaluations


def _number_or_none(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return _to_float(text)
    except ValueError:
        return None


def parse_csv_log(text: str) -> list[dict]:
    """Records from a Keras ``CSVLogger`` file.

    The header names the columns (``epoch,accuracy,loss,val_accuracy,val_loss``); the
    separator (``,``, ``;`` or tab) is taken from the header line. CSVLogger counts epochs
    from 0; records count from 1 like the ``Epoch 1/N`` lines, so both plots of one run
    line up. Empty or non-numeric cells are left out of their record, a repeated header
    (a resumed run appending) is skipped, and a last line without a newline that is
    shorter than the header (a write in progress) is ignored.

    Returns
    -------
    list of dict
        ``epoch`` (int, from 1) and one float per other column.
    """
    lines = text.split("\n")
    partial_last = not text.endswith("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return []
    header_line = lines[0].rstrip("\r")
    sep = max((",", ";", "\t"), key=header_line.count)
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=sep))]
    if "epoch" not in header:
        return []
    epoch_col = header.index("epoch")
    records: list[dict] = []
    body = lines[1:]
    for i, line in enumerate(body):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        cells = next(csv.reader([line], delimiter=sep))
        if [c.strip() for c in cells] == header:
            continue
        if partial_last and i == len(body) - 1 and len(cells) < len(header):
            continue
        epoch_value = _number_or_none(cells[epoch_col]) if epoch_col < len(cells) else None
        if epoch_value is None or not math.isfinite(epoch_value):
            continue
        record: dict = {"epoch": int(epoch_value) + 1}
        for name, cell in zip(header, cells):
            if name == "epoch" or not name:
                continue
            value = _number_or_none(cell)
            if value is not None:
                record[name] = value
        records.append(record)
    return records


def parse_jsonl(text: str) -> list[dict]:
    """Records from a JSON-lines metrics file (one JSON object per line).

    A last line that does not parse is a write in progress and is ignored; so is any
    other line that is not a JSON object (a file cut or concatenated by hand).
    """
    return decode_json_lines(text.split("\n"))


def decode_json_lines(lines: Iterable[str]) -> list[dict]:
    """The JSON objects among ``lines``; blank lines, broken JSON and non-objects are skipped."""
    records: list[dict] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def detect_log_format(name: str, text: str) -> str:
    """``"jsonl"``, ``"csv"`` or ``"keras"`` for a file called ``name`` holding ``text``.

    The extension decides (``.jsonl``/``.ndjson``, ``.csv``/``.tsv``); otherwise the
    first non-empty line does: a JSON object, a header starting with ``epoch``, or else
    Keras output.
    """
    ext = os.path.splitext(name or "")[1].lower()
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("{"):
            return "jsonl"
        if re.match(r"^\"?epoch\"?\s*[,;\t]", s):
            return "csv"
        break
    return "keras"


# Keras name -> ours. Accuracy variants count only where plain ``accuracy`` is absent.
_NAME_MAP = {
    "loss": "train_loss",
    "val_loss": "test_loss",
    "accuracy": "train_accuracy",
    "acc": "train_accuracy",
    "val_accuracy": "test_accuracy",
    "val_acc": "test_accuracy",
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
}
_ACCURACY_ALIASES = (
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
)


def keras_name_to_ours(name: str) -> str:
    """Our name for a Keras metric name (``val_loss`` -> ``test_loss``); others unchanged."""
    if name in _NAME_MAP:
        return _NAME_MAP[name]
    if name in _ACCURACY_ALIASES:
        return "train_accuracy"
    if name.startswith("val_") and name[4:] in _ACCURACY_ALIASES:
        return "test_accuracy"
    return name


def to_metrics_records(records: Iterable[dict]) -> list[dict]:
    """Keras-named records -> our metrics records.

    ``loss`` -> ``train_loss``, ``val_loss`` -> ``test_loss``, ``accuracy``/``acc`` ->
    ``train_accuracy``, ``val_accuracy``/``val_acc`` -> ``test_accuracy``, ``lr`` ->
    ``learning_rate`` (``sparse_categorical_accuracy`` and friends count as accuracy
    when no plain one is there); other names are kept. Where every record has
    ``epoch_time_s``, their running sum becomes ``elapsed_s`` (a wall-time axis).
    """
    records = list(records)
    timed = bool(records) and all("epoch_time_s" in rec for rec in records)
    out: list[dict] = []
    elapsed_s = 0.0
    for rec in records:
        mapped: dict = {}
        for key, value in rec.items():
            ours = keras_name_to_ours(key)
            if ours in mapped and key not in _NAME_MAP:
                continue  # a plain ``accuracy`` wins over an alias
            mapped[ours] = value
        if timed and "elapsed_s" not in rec:
            elapsed_s += float(rec["epoch_time_s"])
            mapped["elapsed_s"] = elapsed_s
        out.append(mapped)
    return out


def parse_metrics_file(name: str, text: str) -> list[dict]:
    """Records, in our naming, from any metrics or output file a job writes.

    Parameters
    ----------
    name : str
        The file's name (its extension helps pick the format).
    text : str
        Its content.

    Returns
    -------
    list of dict
        Our records (``epoch``, ``train_loss``, ``test_loss``, ``train_accuracy``,
        ``test_accuracy``, ...). JSON lines are returned as written.
    """
    kind = detect_log_format(name, text)
    if kind == "jsonl":
        return parse_jsonl(text)
    if kind == "csv":
        return to_metrics_records(parse_csv_log(text))
    return to_metrics_records(parse_keras_log(text))
