"""Orange's Paint Data tools in the Playground: jitter, magnet and the airbrush's intensity, by mouse."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from gui.playground.painter import jitter_step, magnet_step
from tests.gui.conftest import click_data, drag_data

LEFT = QtCore.Qt.MouseButton.LeftButton


def _grid_of_points(qtbot, view) -> None:
    """Clear the data and put a 5 x 5 grid of points (spacing 0.4 around the origin) with Put."""
    paint = view.dataset_panel.paint
    qtbot.mouseClick(paint.clear_button, LEFT)
    qtbot.mouseClick(paint.tool_buttons["put"], LEFT)
    for a in np.linspace(-0.8, 0.8, 5):
        for b in np.linspace(-0.8, 0.8, 5):
            click_data(qtbot, view, a, b)
    assert len(view.store) == 25


def test_magnet_pulls_the_points_under_the_brush_toward_the_pointer_and_undoes_in_one_step(qtbot, playground):
    view = playground
    _grid_of_points(qtbot, view)
    click_data(qtbot, view, 4.0, 4.0)  # one point far from the brush
    before = view.store.X.copy()
    labels, test = view.store.y.copy(), view.store.test.copy()
    paint = view.dataset_panel.paint
    qtbot.mouseClick(paint.tool_buttons["magnet"], LEFT)
    assert view.data_plot.tool == "magnet"
    # hold the button at the centre for a few moves
    drag_data(qtbot, view, [(0.0, 0.0)] + [(0.01 * (k % 2), 0.0) for k in range(12)])
    after = view.store.X
    d_before = np.hypot(*before[:25].T)
    d_after = np.hypot(*after[:25].T)
    inside = d_before < view.data_plot.brush_r
    assert inside.sum() >= 9
    assert np.all(d_after[inside] < d_before[inside] - 1e-6)  # every point under the brush came closer
    assert np.array_equal(after[25], before[25])  # the far one did not move
    assert np.array_equal(view.store.y, labels) and np.array_equal(view.store.test, test)
    view.undo_stack.undo()  # the whole stroke, one undo
    assert np.array_equal(view.store.X, before)
    view.undo_stack.redo()
    assert np.allclose(view.store.X, after)


def test_jitter_shakes_only_the_points_under_the_brush_and_intensity_sets_how_hard(qtbot, playground):
    view = playground
    _grid_of_points(qtbot, view)
    before = view.store.X.copy()
    paint = view.dataset_panel.paint
    qtbot.mouseClick(paint.tool_buttons["jitter"], LEFT)
    # the lowest intensity, by keyboard on the slider
    paint.intensity_slider.setFocus()
    qtbot.keyClick(paint.intensity_slider, QtCore.Qt.Key.Key_Home)
    assert view.data_plot.intensity == 1
    drag_data(qtbot, view, [(-0.8, -0.8), (-0.8, -0.79), (-0.8, -0.8)])
    gentle = np.hypot(*(view.store.X - before).T)
    r = view.data_plot.brush_r
    far = np.hypot(*(before - (-0.8, -0.8)).T) > r + 0.05
    assert gentle[~far].max() > 0 and np.all(gentle[far] == 0)
    view.undo_stack.undo()
    assert np.array_equal(view.store.X, before)
    qtbot.keyClick(paint.intensity_slider, QtCore.Qt.Key.Key_End)
    assert view.data_plot.intensity == 10
    drag_data(qtbot, view, [(-0.8, -0.8), (-0.8, -0.79), (-0.8, -0.8)])
    hard = np.hypot(*(view.store.X - before).T)
    assert np.all(hard[far] == 0)
    assert hard[~far].mean() > 3 * gentle[~far].mean()


def test_airbrush_intensity_sets_how_many_points_a_click_sprays(qtbot, playground):
    view = playground
    paint = view.dataset_panel.paint
    qtbot.mouseClick(paint.clear_button, LEFT)
    qtbot.mouseClick(paint.tool_buttons["airbrush"], LEFT)
    paint.intensity_slider.setFocus()
    qtbot.keyClick(paint.intensity_slider, QtCore.Qt.Key.Key_Home)
    click_data(qtbot, view, 0.0, 0.0)
    sparse = len(view.store)
    qtbot.keyClick(paint.intensity_slider, QtCore.Qt.Key.Key_End)
    click_data(qtbot, view, 2.0, 2.0)
    dense = len(view.store) - sparse
    assert sparse == 2 and dense == 24


def test_the_tools_arithmetic():
    rng = np.random.default_rng(0)
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [3.0, 3.0]])
    idx, new = magnet_step(X, (0.0, 0.0), 1.0, 5)
    assert list(idx) == [0, 1, 2]
    # pull share 0.12 * (1 - d / r): none at the rim, 6 % of the way at half the radius
    np.testing.assert_allclose(new, [[0.0, 0.0], [1.0, 0.0], [0.5 - 0.5 * 0.06, 0.0]])
    idx, new = magnet_step(X, (0.0, 0.0), 1.0, 10_000)
    np.testing.assert_allclose(new[0], [0.0, 0.0])  # never past the centre
    idx, new = jitter_step(np.zeros((4000, 2)), (0.0, 0.0), 2.0, 5, rng)
    assert len(idx) == 4000 and abs(new.std() - 0.06 * 2.0) < 0.005
    idx, new = jitter_step(np.zeros((50, 2)), (0.0, 0.0), 2.0, 10, rng, box=(0.0, 1.0, 0.0, 1.0))
    assert new.min() >= 0.0
