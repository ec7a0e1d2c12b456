"""Decision grids and per-neuron pictures against the network's own predictions."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.features import Preprocessor
from engine.grid import decision_grid, grid_points, neuron_grids
from engine.model import Network

BOX = (-6.0, 6.0, -5.0, 4.0)


def test_grid_points_row_zero_is_ymin():
    pts = grid_points(BOX, (3, 4)).reshape(3, 4, 2)
    np.testing.assert_allclose(pts[0, :, 0], np.linspace(-6, 6, 4))
    np.testing.assert_allclose(pts[:, 0, 1], [-5.0, -0.5, 4.0])


@pytest.mark.parametrize("hidden, act, n_classes", [((8, 8), "relu", 2), ((64, 64), "tanh", 2), ((5,), "sigmoid", 4)])
def test_decision_grid_equals_predict_proba(hidden, act, n_classes):
    pre = Preprocessor(("x1", "x2", "x1*x2", "sin(x1)"))
    net = Network(4, hidden, (act,) * len(hidden), n_classes, seed=1)
    shape = (37, 53)  # not a multiple of anything: the last chunk is ragged
    grid = decision_grid(net, pre, BOX, shape)
    assert grid.shape == (37, 53, n_classes) and grid.dtype == np.float32
    ref = net.predict_proba(pre(grid_points(BOX, shape))).reshape(37, 53, n_classes)
    np.testing.assert_allclose(grid, ref, rtol=1e-5, atol=1e-6)
    # the weights change between frames: the cached inputs must not hide that
    net.params *= 0.5
    grid2 = decision_grid(net, pre, BOX, shape)
    ref2 = net.predict_proba(pre(grid_points(BOX, shape))).reshape(37, 53, n_classes)
    np.testing.assert_allclose(grid2, ref2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(grid2, ref)


def test_large_grid_in_chunks_with_out_buffer():
    pre = Preprocessor(("x1", "x2"), mean=[1.0, -1.0], std=[2.0, 3.0])
    net = Network(2, (8, 8), ("relu", "relu"), 2, seed=0)
    out = np.empty((200, 200, 2), np.float32)
    res = decision_grid(net, pre, BOX, (200, 200), out=out)
    assert res is out
    ref = net.predict_proba(pre(grid_points(BOX, (200, 200))))
    np.testing.assert_allclose(out.reshape(-1, 2), ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        decision_grid(net, pre, BOX, (200, 200), out=np.empty((200, 200, 3), np.float32))


def test_regression_grid_is_values():
    pre = Preprocessor(("x1", "x2"))
    net = Network(2, (6,), ("tanh",), 1, seed=0)
    grid = decision_grid(net, pre, BOX, (10, 12))
    assert grid.shape == (10, 12)
    np.testing.assert_allclose(grid.reshape(-1), net.predict(pre(grid_points(BOX, (10, 12)))), rtol=1e-5, atol=1e-6)


def test_perceptron_grid_is_its_decision():
    pre = Preprocessor(("x1", "x2"))
    net = Network(2, (), (), 2, "perceptron")
    net.layers[0].W[:, 0] = [1.0, 0.0]  # class 1 right of x = 0
    grid = decision_grid(net, pre, (-1, 1, -1, 1), (2, 2))
    np.testing.assert_array_equal(grid[..., 1], [[0, 1], [0, 1]])
    np.testing.assert_array_equal(grid[..., 0] + grid[..., 1], np.ones((2, 2)))


def test_grid_from_threads_is_consistent():
    pre = Preprocessor(("x1", "x2"))
    net = Network(2, (16, 16), ("tanh", "tanh"), 3, seed=2)
    ref = decision_grid(net, pre, BOX, (64, 64)).copy()
    errors = []

    def worker():
        for _ in range(20):
            if not np.allclose(decision_grid(net, pre, BOX, (64, 64)), ref, atol=1e-6):
                errors.append(1)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_neuron_grids_are_inputs_hidden_layers_and_output():
    pre = Preprocessor(("x1", "x2", "x1^2"))
    net = Network(3, (5, 4), ("tanh", "relu"), 3, seed=3)
    pics = neuron_grids(net, pre, BOX, (6, 7))
    assert [p.shape for p in pics] == [(3, 6, 7), (5, 6, 7), (4, 6, 7), (3, 6, 7)]
    F = pre(grid_points(BOX, (6, 7)))
    np.testing.assert_allclose(pics[0][2], (F[:, 2]).reshape(6, 7), rtol=1e-6)
    h1, h2 = net.hidden_outputs(F)
    np.testing.assert_allclose(pics[1][4], h1[:, 4].reshape(6, 7), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pics[2][0], h2[:, 0].reshape(6, 7), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pics[3].sum(axis=0), 1.0, rtol=1e-5)
