"""The regions picture: one table lookup per pixel, the colours of the closed form within one step."""

from __future__ import annotations

import numpy as np
import pytest

from gui.playground.render import REGION_STRENGTH, WHITE, boundary_rgb
from gui.theme import class_rgb


def _closed_form(probs: np.ndarray, discretize: bool) -> np.ndarray:
    """white + (class colour - white) * strength * confidence, rounded, per pixel."""
    h, w, c = probs.shape
    if c == 1:
        probs = np.concatenate([1.0 - probs, probs], axis=-1)
        c = 2
    winner = probs.argmax(axis=-1)  # the first of a tie
    conf = np.ones((h, w)) if discretize else np.clip((probs.max(axis=-1) - 1.0 / c) / (1.0 - 1.0 / c), 0, 1)
    colors = class_rgb(max(c, 2)).astype(np.float64)
    rgb = WHITE + (colors[winner] - WHITE) * (REGION_STRENGTH * conf)[..., None]
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("classes", [1, 2, 3, 8, 9, 40])
@pytest.mark.parametrize("discretize", [False, True])
def test_regions_match_the_closed_form_within_one_step(classes, discretize):
    rng = np.random.default_rng(classes)
    probs = rng.random((30, 40, classes)).astype(np.float32)
    if classes > 1:
        probs /= probs.sum(axis=-1, keepdims=True)
    probs[0, 0] = 1.0 / classes  # a tie of every class: class 0, white
    probs[0, 1] = 0.0
    probs[0, 1, -1] = 1.0  # certain of the last class: its full region colour
    got = boundary_rgb(probs, discretize)
    want = _closed_form(probs.astype(np.float64), discretize)
    assert got.shape == (30, 40, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # the winner is exact: no pixel takes another class's colour
    np.testing.assert_array_equal(got[0, 1], want[0, 1])
    if not discretize and classes > 1:
        np.testing.assert_array_equal(got[0, 0], [255, 255, 255])
