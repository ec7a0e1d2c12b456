"""Every 2-D preset stays on the square [-6, 6] x [-6, 6] the Playground draws, at every noise level."""

from __future__ import annotations

import numpy as np
import pytest

from engine.datasets import LIMIT, make_preset
from engine.spec import CLASSIFICATION_PRESETS, REGRESSION_PRESETS


@pytest.mark.parametrize("kind", CLASSIFICATION_PRESETS + REGRESSION_PRESETS)
@pytest.mark.parametrize("noise", [0.0, 0.1, 0.25, 0.5, 2.0])
def test_points_stay_on_the_square(kind, noise):
    for seed in range(3):
        X, _y = make_preset(kind, 2000, noise, seed)
        assert X.shape == (2000, 2)
        assert np.all(np.abs(X) <= LIMIT), (kind, noise, seed, X.min(axis=0), X.max(axis=0))


def test_wide_gaussians_are_truncated_not_piled_on_the_edge():
    """Two Gaussians at the slider's most noise (std 2 around +-2): points that would leave the
    square are drawn again, so none sits on its edge and the clouds keep their shape inside."""
    X, y = make_preset("gauss", 4000, 0.5, 0)
    assert np.count_nonzero(np.abs(X) == LIMIT) == 0
    # the cloud of class 1 around (2, 2): truncation takes little from its near side
    near = X[y == 1][:, 0]
    assert abs(np.median(near) - 2.0) < 0.2
    # the half towards the centre is untouched: a half-normal of std 2, mean distance 2 sqrt(2/pi)
    assert np.mean(2.0 - near[near < 2.0]) == pytest.approx(2.0 * np.sqrt(2 / np.pi), rel=0.06)
    # noiseless and mildly noisy data are exactly what they were: nothing needed a redraw
    rng = np.random.default_rng(0)
    from engine.datasets import _gauss_std
    counts = [2000, 2000]
    labels = np.repeat([0, 1], counts)
    centers = np.array([[-2.0, -2.0], [2.0, 2.0]])
    want = centers[labels] + rng.normal(0.0, _gauss_std(0.0), size=(4000, 2))
    got, got_y = make_preset("gauss", 4000, 0.0, 0)
    order = rng.permutation(4000)
    np.testing.assert_array_equal(got, want[order])
    np.testing.assert_array_equal(got_y, labels[order])
