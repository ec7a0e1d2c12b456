"""Inline points that carry their train/test flag: the split is theirs, not a random draw."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data import load_dataset
from engine.spec import RunSpec, SpecError


def _spec(points):
    return RunSpec.from_dict({"dataset": {"kind": "points", "points": points, "test_fraction": 0.5, "seed": 3},
                              "model": {"kind": "mlp", "hidden": [3]}})


def test_each_point_goes_where_its_flag_says():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    flags = np.zeros(40, int)
    flags[[1, 2, 3, 30]] = 1
    ds = load_dataset(_spec([[*x, int(c), int(f)] for x, c, f in zip(X, y, flags)]))
    np.testing.assert_array_equal(ds.X_test, X[flags == 1])
    np.testing.assert_array_equal(ds.X_train, X[flags == 0])
    np.testing.assert_array_equal(ds.y_test, y[flags == 1])
    # the same points without flags: the seeded draw of half of them
    assert load_dataset(_spec([[*x, int(c)] for x, c in zip(X, y)])).n_test == 20
    # and the flags survive the spec's round trip
    assert _spec([[0, 0, 0, 1], [1, 1, 1, 0]]).to_dict()["dataset"]["points"] == [[0, 0, 0, 1], [1, 1, 1, 0]]


@pytest.mark.parametrize("rows, words", [
    ([[0, 0, 0, 2], [1, 1, 1, 0]], "points[0]: the test flag must be 0 (training) or 1 (test)"),
    ([[0, 0, 0, 1], [1, 1, 1]], "points[1]: expected [x, y, label, test]"),
])
def test_a_bad_flag_is_named(rows, words):
    with pytest.raises(SpecError, match=words.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        _spec(rows)
