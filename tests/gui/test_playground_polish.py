"""Tooltips that wrap, the colour bar's values, the curves' key off the data, presets on the square."""

from __future__ import annotations

import gc

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from gui.widgets.tooltips import MAX_TIP_PX

LEFT = QtCore.Qt.MouseButton.LeftButton


def _shown_tip():
    labels = [w for w in QtWidgets.QApplication.topLevelWidgets()
              if w.objectName() == "qtooltip_label" and w.isVisible()]
    return labels[0] if labels else None


def _hover(qtbot, widget, pos: QtCore.QPoint):
    """Rest the mouse on ``pos`` of ``widget`` until its tooltip shows; the tooltip label."""
    QtWidgets.QToolTip.hideText()
    widget.window().activateWindow()
    QTest.mouseMove(widget, pos - QtCore.QPoint(3, 3))
    QTest.mouseMove(widget, pos)
    qtbot.waitUntil(lambda: _shown_tip() is not None, timeout=5000)
    return _shown_tip()


def _check_wrapped(tip, text: str) -> None:
    assert tip.text().replace("\n", " ") == text.replace("\n", " ")
    assert "\n" in tip.text()
    metrics = QtGui.QFontMetrics(tip.font())
    assert max(metrics.horizontalAdvance(line) for line in tip.text().split("\n")) <= MAX_TIP_PX
    assert tip.width() <= MAX_TIP_PX + 40  # (the label's margins)


def test_a_long_tooltip_wraps_at_400_pixels(qtbot, playground):
    combo = playground.settings_bar.model_combo
    text = combo.toolTip()
    assert QtGui.QFontMetrics(QtWidgets.QToolTip.font()).horizontalAdvance(text) > 3 * MAX_TIP_PX
    tip = _hover(qtbot, combo, combo.rect().center())
    _check_wrapped(tip, text)


def test_the_network_drawing_s_tooltips_wrap_too(qtbot, playground):
    view = playground.network.view
    item = playground.network.nodes[0][playground.network.all_features.index("x1*x2")].item
    text = item.toolTip()
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    del item
    gc.collect()
    tip = _hover(qtbot, view.viewport(), pos)
    _check_wrapped(tip, text)


def test_a_short_tooltip_stays_on_one_line(qtbot, playground):
    button = playground.controls.reset_button
    tip = _hover(qtbot, button, button.rect().center())
    assert tip.text() == button.toolTip() and "\n" not in tip.text()


def test_the_colour_bar_says_its_values(qtbot, playground):
    bar = playground.plot_box.legend
    assert [t for _, t in bar.ticks()] == ["−1", "0", "1"]
    image = bar.grab().toImage()
    rect = bar.bar_rect()
    left = QtGui.QColor(image.pixel(rect.left() + 1, rect.center().y()))
    right = QtGui.QColor(image.pixel(rect.right() - 1, rect.center().y()))
    assert left.red() > left.blue() and right.blue() > right.red()  # orange negative, blue positive
    # the labels are drawn under the bar: dark pixels below it, none in a blank widget area
    below = [QtGui.QColor(image.pixel(x, y)).lightness() for x in range(image.width())
             for y in range(rect.bottom() + 3, image.height())]
    assert min(below) < 150
    # regression: the bar spans the targets' values
    from gui.playground.combo import set_combo_data
    set_combo_data(playground.settings_bar.problem_combo, "regression")
    qtbot.waitUntil(lambda: playground.session.has_network
                    and playground.session.dataset.task == "regression", timeout=3000)
    scale = playground.data_plot.value_scale
    assert [t for _, t in bar.ticks()] == [f"−{scale:g}", "0", f"{scale:g}"]


def test_the_curves_key_is_off_the_data(qtbot, playground):
    view = playground
    view.prepare_screenshot(60)
    for plot in (view.curves.loss_plot, view.curves.acc_plot):
        assert not any(isinstance(i, pg.LegendItem) for i in plot.getPlotItem().items)
        assert not any(isinstance(i, pg.LegendItem) for i in plot.getPlotItem().vb.allChildren())
    key = view.curves.key
    assert key.isVisible() and "train" in key.text() and "test" in key.text()
    key_bottom = key.mapTo(view, QtCore.QPoint(0, key.height())).y()
    assert key_bottom <= view.curves.loss_plot.mapTo(view, QtCore.QPoint(0, 0)).y()


def test_presets_stay_on_the_plotted_square_at_the_most_noise(qtbot, playground):
    view = playground
    panel = view.dataset_panel
    panel.noise_slider.setValue(panel.noise_slider.maximum())
    for kind in ("gauss", "blobs", "moons", "spiral"):
        qtbot.mouseClick(panel.preset_buttons[kind], LEFT)
        qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
        assert view.dataset_panel.dataset_spec().noise == 0.5
        X = view.store.X
        assert np.all(np.abs(X) <= 6.0), (kind, X.min(axis=0), X.max(axis=0))
        assert view.data_plot.box == (-6.0, 6.0, -6.0, 6.0)  # no refit: the promised square


def test_the_colour_bar_is_the_diverging_ramp_pixel_for_pixel(qtbot, playground):
    from gui import theme

    bar = playground.plot_box.legend
    image = bar.grab().toImage()
    rect = bar.bar_rect()
    lut = np.asarray(theme.diverging_lut(256))
    for x in (0, rect.width() // 2, rect.width() - 1):
        got = QtGui.QColor(image.pixel(rect.left() + x, rect.center().y()))
        want = lut[int(x * 255 / (rect.width() - 1))]
        assert (got.red(), got.green(), got.blue()) == tuple(int(v) for v in want[:3])


def test_the_network_is_drawn_plain_while_training_and_smooth_when_paused(qtbot, playground):
    view = playground
    smooth = QtGui.QPainter.RenderHint.Antialiasing
    network_view = view.network.view
    assert network_view.renderHints() & smooth
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.running and view.session.epoch >= 2, timeout=20_000)
    qtbot.waitUntil(lambda: not (network_view.renderHints() & smooth), timeout=5_000)
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=20_000)
    assert network_view.renderHints() & smooth


def test_regions_are_coarser_only_while_training_at_full_speed(qtbot, playground):
    from gui.playground.frames import DRAFT_GRID_SHAPE, GRID_SHAPE
    from gui.playground.pacing import SPEEDS

    view = playground
    session = view.session

    def run_and_look(speed_index):
        view.settings.set(speed_index=speed_index)
        start = session.epoch
        QTest.mouseClick(view.controls.play_button, LEFT)
        qtbot.waitUntil(lambda: session.running and session.epoch >= start + 3, timeout=20_000)
        shape = session.snapshot.boundary.shape[:2]
        drawn = view.data_plot.image.image.shape[:2]
        QTest.mouseClick(view.controls.play_button, LEFT)
        qtbot.waitUntil(lambda: not session.running, timeout=20_000)
        qtbot.waitUntil(lambda: view.data_plot.image.image.shape[:2] == GRID_SHAPE, timeout=5_000)
        return shape, drawn

    # full speed: a quarter of the grid for every frame while it runs ...
    assert run_and_look(len(SPEEDS) - 1) == (DRAFT_GRID_SHAPE, DRAFT_GRID_SHAPE)
    # ... a paced run (30 epochs/s) keeps the full grid; a paused run is always drawn on it
    assert run_and_look(SPEEDS.index(30.0)) == (GRID_SHAPE, GRID_SHAPE)
    assert session.snapshot.boundary.shape[:2] == GRID_SHAPE
