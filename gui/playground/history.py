"""The curves' history as a saved playground keeps it (no Qt).

A saved setup holds the metrics records its weights were trained through, column by column
(``{"epoch": [...], "train_loss": [...], ...}``, ``null`` for a value a record did not
have), so that reopening it shows the same curves and the same losses in the header.
"""

from __future__ import annotations

import math

import numpy as np

from engine.spec import SpecError

#: the record fields kept, in the curves' column order
HISTORY_COLUMNS = ("epoch", "elapsed_s", "train_loss", "test_loss", "train_accuracy", "test_accuracy")
#: the most records a file may bring (a run of a million epochs would not be drawn sensibly anyway)
MAX_HISTORY = 1_000_000


def history_of(columns: dict[str, np.ndarray]) -> dict[str, list] | None:
    """The columns ``{name: (n,) array}`` as JSON-ready lists; None when there are no records."""
    n = len(columns.get("epoch", ()))
    if n == 0:
        return None
    out = {}
    for name in HISTORY_COLUMNS:
        values = np.asarray(columns[name], dtype=np.float64)
        if np.isnan(values).all():
            continue
        out[name] = [None if math.isnan(v) else (int(v) if name == "epoch" else float(v)) for v in values]
    return out


def records_from_history(history) -> list[dict]:
    """The metrics records of a saved history, oldest first.

    Raises
    ------
    SpecError
        The history is not columns of numbers of one length (naming ``meta.playground.history``).
    """
    where = "meta.playground.history"
    if not isinstance(history, dict) or not isinstance(history.get("epoch"), list):
        raise SpecError(where, "expected columns of numbers with an 'epoch' column")
    n = len(history["epoch"])
    if n > MAX_HISTORY:
        raise SpecError(where, f"{n:,} records; at most {MAX_HISTORY:,} are kept")
    columns = {}
    for name, values in history.items():
        if name not in HISTORY_COLUMNS:
            raise SpecError(f"{where}.{name}", f"unknown column; expected some of {', '.join(HISTORY_COLUMNS)}")
        if not isinstance(values, list) or len(values) != n:
            raise SpecError(f"{where}.{name}", f"expected a list of {n} values like the 'epoch' column")
        for i, v in enumerate(values):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise SpecError(f"{where}.{name}[{i}]", f"expected a finite number or null, got {v!r}")
        columns[name] = values
    return [{name: values[i] for name, values in columns.items() if values[i] is not None} for i in range(n)]
