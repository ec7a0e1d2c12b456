"""What the Playground draws while it trains, and when: the curves a plot at a time and at
most every ``CURVES_INTERVAL_S``, the ROC tab only when it is shown, and cached axes that
still follow their range."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtCore, QtGui
from PySide6.QtTest import QTest

from engine.metrics import roc_report
from gui.playground.curves import CurvesPanel
from gui.playground.pacing import CURVES_INTERVAL_S, SPEEDS
from gui.playground.roc_panel import RocPanel
from tests.gui.conftest import shown

LEFT = QtCore.Qt.MouseButton.LeftButton


def _records(first: int, count: int) -> list[dict]:
    return [{"epoch": e, "step": 10 * e, "elapsed_s": 0.01 * e, "train_loss": 1.0 / e, "test_loss": 1.1 / e,
             "train_accuracy": 1 - 0.5 / e, "test_accuracy": 1 - 0.6 / e} for e in range(first, first + count)]


def _shown_panel(qtbot) -> CurvesPanel:
    """A curves panel of 500 x 400 on screen."""
    return shown(qtbot, CurvesPanel(), 500, 400)


def test_curves_are_drawn_a_plot_at_a_time_and_neither_waits_for_ever(qtbot):
    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.add_records(_records(1, 10))
    assert panel.redraw_next() is True  # the loss plot now, the accuracy plot still waits
    assert len(panel.curve_data("train_loss")[0]) == 10
    assert len(panel.curve_data("train_accuracy")[0]) == 0
    panel.add_records(_records(11, 5))
    # the accuracy plot has waited longest: it goes first, with every record so far
    assert panel.redraw_next() is True
    np.testing.assert_allclose(panel.curve_data("test_accuracy")[1], [1 - 0.6 / e for e in range(1, 16)])
    assert len(panel.curve_data("train_loss")[0]) == 10
    assert panel.redraw_next() is False  # then the loss plot, and nothing waits
    np.testing.assert_allclose(panel.curve_data("test_loss")[1], [1.1 / e for e in range(1, 16)])
    assert panel.redraw_next() is False and panel.redraw() is False
    # redraw() draws everything at once (paused, finished, a setting changed)
    panel.add_records(_records(16, 3))
    assert panel.redraw() is True
    assert len(panel.curve_data("train_loss")[0]) == len(panel.curve_data("train_accuracy")[0]) == 18
    # a regression has one plot: nothing ever waits
    panel.set_task("regression")
    panel.add_records(_records(19, 2))
    assert panel.redraw_next() is False
    assert len(panel.curve_data("train_loss")[0]) == 20


def test_while_training_the_plots_take_turns_at_most_every_interval(qtbot, playground, monkeypatch):
    view = playground
    curves = view.output.curves
    drawn: list[tuple[str, float, int]] = []
    for plot, name in ((curves.loss_plot, "loss"), (curves.acc_plot, "accuracy")):
        original = plot.show_data

        def spy(x, *args, _original=original, _name=name, **kwargs):
            drawn.append((_name, time.perf_counter(), len(x)))
            return _original(x, *args, **kwargs)

        monkeypatch.setattr(plot, "show_data", spy)
    view.settings.set(speed_index=len(SPEEDS) - 1)
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.running and view.session.epoch >= 20, timeout=20_000)
    drawn.clear()
    qtbot.wait(1500)
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=20_000)
    during = [d for d in drawn if d[1] <= drawn[-1][1]]
    running = during[:-2]  # (the last two: the final drawing after the pause)
    names = [d[0] for d in running]
    assert names.count("loss") >= 5 and names.count("accuracy") >= 5
    # in turns: never the same plot twice in a row while training
    assert all(a != b for a, b in zip(names, names[1:]))
    # each plot at most every CURVES_INTERVAL_S (a timer may fire a little early: 10%)
    for name in ("loss", "accuracy"):
        times = [t for n, t, _ in running if n == name]
        assert min(np.diff(times)) >= 0.9 * CURVES_INTERVAL_S
    # once paused, both plots hold every epoch trained (what they are given: the picture
    # thins it to about a point per pixel)
    last = curves.buffer.column("epoch")[-1]
    qtbot.waitUntil(lambda: curves.acc_plot.test_curve.xData[-1] == last, timeout=5_000)
    assert curves.loss_plot.train_curve.xData[-1] == last


def _report(seed: int, classes: int) -> dict:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, 60)
    scores = rng.random((60, classes)) + np.eye(classes)[y] * 0.5
    return {"roc": roc_report(y, scores, [f"c{i}" for i in range(classes)]), "confusion": []}


def test_a_hidden_roc_tab_draws_its_report_when_shown_with_the_same_curve_items(qtbot):
    panel = RocPanel()
    qtbot.addWidget(panel)
    first = _report(1, 3)
    panel.show_report(first)
    assert panel.roc is None and panel.curves == []  # hidden: nothing drawn yet
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.roc is first["roc"] and len(panel.curves) == 3
    items = list(panel.curves)
    second = _report(2, 3)
    panel.show_report(second)  # shown: drawn at once, into the same items
    assert panel.curves == items
    for item, curve in zip(panel.curves, second["roc"]["curves"]):
        x, y = item.getData()
        np.testing.assert_allclose(x, curve["fpr"])
        np.testing.assert_allclose(y, curve["tpr"])
    assert "macro AUC" in panel.summary.text()
    # fewer classes: the items left over leave the plot
    panel.show_report(_report(3, 2))
    assert len(panel.curves) == 1
    plotted = [c for c in panel.plot.getPlotItem().listDataItems() if c is not panel.diagonal]
    assert plotted == panel.curves
    # a report that waited while hidden is dropped by clear()
    panel.hide()
    panel.show_report(_report(4, 3))
    panel.clear()
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.roc is None and panel.curves == []


@pytest.mark.parametrize("axis", ["left", "bottom"])
def test_cached_axes_are_redrawn_when_their_range_changes(qtbot, axis):
    panel = _shown_panel(qtbot)
    plot = panel.loss_plot
    item = plot.getPlotItem().getAxis(axis)
    assert item.cacheMode() == item.CacheMode.DeviceCoordinateCache

    def axis_pixels() -> QtGui.QImage:
        QtCore.QCoreApplication.processEvents()
        rect = item.mapRectToScene(item.boundingRect())
        return plot.grab(plot.mapFromScene(rect).boundingRect()).toImage()

    plot.setXRange(0, 10, padding=0)
    plot.setYRange(0, 1, padding=0)
    before = axis_pixels()
    plot.setXRange(0, 5000, padding=0)
    plot.setYRange(0, 250, padding=0)
    qtbot.wait(50)
    after = axis_pixels()
    assert before != after  # new tick labels, not the cached picture of the old ones


def test_a_curve_leaving_its_y_range_gets_room_beyond_it(qtbot):
    from gui.playground.curves import Y_HEADROOM

    panel = CurvesPanel()
    qtbot.addWidget(panel)

    def accuracy(first: int, values: list[float]) -> None:
        panel.add_records([{"epoch": first + i, "train_loss": 0.5, "test_loss": 0.5, "train_accuracy": v,
                            "test_accuracy": v} for i, v in enumerate(values)])
        panel.redraw()

    accuracy(1, [0.50, 0.52])
    top = panel.acc_plot.viewRange()[1][1]
    accuracy(3, [top + 0.01])  # out of the range at the top
    lo, hi = panel.acc_plot.viewRange()[1]
    pad = max((top + 0.01) * 0.05, 1e-3)  # the plot's own padding above the highest value
    assert lo == 0.0
    assert hi == pytest.approx(top + 0.01 + pad + Y_HEADROOM * (top + 0.01 + pad))
    # a little higher again: the axis stays where it is
    accuracy(4, [top + 0.02, top + 0.03])
    assert panel.acc_plot.viewRange()[1] == pytest.approx([lo, hi])


def test_a_paced_drawing_merges_requests_and_keeps_its_interval(qtbot):
    from PySide6 import QtWidgets

    from gui.playground.frame_drawer import Paced

    owner = QtWidgets.QWidget()
    qtbot.addWidget(owner)
    drawn: list[tuple[object, float]] = []
    paced = Paced(owner, 0.1, lambda arg: drawn.append((arg, time.perf_counter())))
    paced.request("a")
    paced.request("b")  # before the first one is drawn: only the newest is
    qtbot.waitUntil(lambda: len(drawn) == 1, timeout=2000)
    assert drawn[0][0] == "b"
    paced.request("c")
    qtbot.waitUntil(lambda: len(drawn) == 2, timeout=2000)
    assert drawn[1][0] == "c" and drawn[1][1] - drawn[0][1] >= 0.09
    paced.request("d")
    paced.flush()  # now, not in a later pass
    assert drawn[-1][0] == "d"
    paced.request("e")
    paced.cancel()
    qtbot.wait(250)
    assert [d[0] for d in drawn] == ["b", "c", "d"]
    paced.flush()  # nothing waits: nothing drawn
    assert len(drawn) == 3


def test_paced_drawings_keep_apart_from_each_other_and_from_the_frames(qtbot):
    """Two drawings due at once are painted in stretches of their own, a spacer's gap apart;
    a frame drawn meanwhile pushes the next one back; flush (training stopped) never waits."""
    from PySide6 import QtWidgets

    from gui.playground.frame_drawer import DrawSpacer, Paced

    owner = QtWidgets.QWidget()
    qtbot.addWidget(owner)
    spacer = DrawSpacer(0.05)
    drawn: list[tuple[str, float]] = []
    one = Paced(owner, 0.0, lambda arg: drawn.append(("one", time.perf_counter())), spacer)
    two = Paced(owner, 0.0, lambda arg: drawn.append(("two", time.perf_counter())), spacer)
    one.request()
    two.request()
    qtbot.waitUntil(lambda: len(drawn) == 2, timeout=2000)
    assert drawn[1][1] - drawn[0][1] >= 0.045
    # a frame just drawn: the next paced drawing waits the gap after it
    spacer.mark()
    framed = time.perf_counter()
    one.request()
    qtbot.waitUntil(lambda: len(drawn) == 3, timeout=2000)
    assert drawn[2][1] - framed >= 0.045
    # a drawing whose timer fires while a frame has just been drawn is put off again
    two.request()
    qtbot.wait(20)
    spacer.mark()
    framed = time.perf_counter()
    qtbot.waitUntil(lambda: len(drawn) == 4, timeout=2000)
    assert drawn[3][1] - framed >= 0.045
    spacer.mark()
    one.request()
    one.flush()
    assert drawn[-1][0] == "one" and len(drawn) == 5


def test_while_training_the_paced_drawings_are_painted_apart_from_the_frames(qtbot, playground, monkeypatch):
    """In a real run at full speed: the curves, the counter and the network are each drawn at
    least ``DRAW_GAP_S`` after the last frame or other paced drawing."""
    from gui.playground.pacing import DRAW_GAP_S

    view = playground
    frames = view.frames
    events: list[tuple[str, float]] = []
    for name in ("_redraw_curves", "_draw_texts", "_draw_network"):
        paced = {"_redraw_curves": frames._curves, "_draw_texts": frames._texts, "_draw_network": frames._network}[name]
        original = paced._draw

        def spy(arg, _original=original, _name=name):
            events.append((_name, time.perf_counter()))
            return _original(arg)

        monkeypatch.setattr(paced, "_draw", spy)
    original_mark = frames._spacer.mark

    def mark():
        events.append(("mark", time.perf_counter()))
        original_mark()

    monkeypatch.setattr(frames._spacer, "mark", mark)
    view.settings.set(speed_index=len(SPEEDS) - 1)
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.running and view.session.epoch >= 20, timeout=20_000)
    events.clear()
    qtbot.wait(1500)
    running = list(events)
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=20_000)
    drawings = [(i, t) for i, (name, t) in enumerate(running) if name != "mark"]
    assert {running[i][0] for i, _ in drawings} == {"_redraw_curves", "_draw_texts", "_draw_network"}
    for i, t in drawings:
        before = [u for name, u in running[:i] if name == "mark"]
        if before:
            # (the mark right after a paced drawing is its own: the one before it counts)
            assert t - before[-1] >= DRAW_GAP_S * 0.9


@pytest.mark.parametrize("weight", [0.3, 0.9, 0.99])
def test_smoothing_in_blocks_equals_the_moving_average_value_by_value(weight):
    """TensorBoard's debiased moving average, written out as a loop, against the blocked one:
    over blocks' edges, with values that are not finite (kept, and skipping their turn)."""
    import math

    from gui.playground.curves import _EMA_BLOCK, ema

    rng = np.random.default_rng(3)
    values = rng.normal(size=3 * _EMA_BLOCK + 17)
    values[[0, 5, _EMA_BLOCK, _EMA_BLOCK + 1, 200]] = np.nan
    values[7] = np.inf
    expected = np.empty_like(values)
    last, num = 0.0, 0
    for i, v in enumerate(values):
        if not math.isfinite(v):
            expected[i] = v
            continue
        last = last * weight + (1 - weight) * v
        num += 1
        expected[i] = last / (1 - weight ** num)
    got = ema(values, weight)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert np.isnan(got[0]) and got[7] == np.inf
    assert ema(values, 0.0) is values and len(ema(np.zeros(0), 0.5)) == 0
    # the first finite value is itself (debiased), a constant stays constant
    assert got[1] == pytest.approx(values[1])
    np.testing.assert_allclose(ema(np.full(1000, 2.5), weight), 2.5)


def test_a_range_change_paints_the_curve_plot_once(qtbot, monkeypatch):
    """A curve that leaves its x range changes the axes; the plot is painted once for it (the
    transform and the axes it invalidates are brought up to date with the data), not once
    and then again for the axes, and the new axis labels are on screen."""
    import pyqtgraph as pg

    paints = []
    original = pg.GraphicsView.paintEvent

    def counted(self, event):
        paints.append(self)
        return original(self, event)

    monkeypatch.setattr(pg.GraphicsView, "paintEvent", counted)
    panel = _shown_panel(qtbot)  # (held: the plot belongs to it)
    plot = panel.loss_plot
    x = np.arange(1.0, 401.0)
    plot.show_data(x[:20], 1.0 / x[:20], 1.1 / x[:20])
    qtbot.wait(50)
    first = plot.getPlotItem().getAxis("bottom").tickValues(*plot.viewRange()[0], 400)

    def settle() -> None:
        # until a while passes without a paint (a slow machine may still have one queued)
        for _ in range(100):
            count = len(paints)
            qtbot.wait(30)
            if len(paints) == count:
                return

    for n in (15, 60, 400):  # inside the range, then beyond it twice
        settle()
        x_range = plot.viewRange()[0]
        paints.clear()
        plot.show_data(x[:n], 1.0 / x[:n], 1.1 / x[:n])
        settle()
        assert [p for p in paints if p is plot] == [plot], n
        assert (plot.viewRange()[0] != x_range) == (n > 20)
    assert plot.viewRange()[0][1] >= 400
    assert plot.getPlotItem().getAxis("bottom").tickValues(*plot.viewRange()[0], 400) != first


@pytest.mark.parametrize("presentation", [False, True])
def test_thick_curves_are_drafted_while_training_and_smoothed_once_it_stops(qtbot, playground, presentation):
    """Presentation mode's thick curves are painted without antialiasing while training (a
    wide smoothed line costs three times as much) and smoothed again when training stops;
    the thin curves of the normal mode are always smoothed."""
    view = playground
    view.set_presentation(presentation)
    curves = view.output.curves
    items = [c for plot in (curves.loss_plot, curves.acc_plot) for c in (plot.train_curve, plot.test_curve)]
    seen: set[bool] = set()
    view.settings.set(speed_index=len(SPEEDS) - 1)
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: view.session.running and view.session.epoch >= 20, timeout=20_000)
    for _ in range(10):
        qtbot.wait(30)
        seen |= {c.curve.opts["antialias"] for c in items}
    QTest.mouseClick(view.controls.play_button, LEFT)
    qtbot.waitUntil(lambda: not view.session.running, timeout=20_000)
    qtbot.wait(100)
    assert seen == ({False} if presentation else {True})
    assert all(c.opts["antialias"] and c.curve.opts["antialias"] for c in items)
    assert len(curves.curve_data("train_loss")[0]) >= 20


def test_the_loss_figures_keep_their_width_as_their_digits_change(qtbot, playground):
    """The loss labels are as wide as their widest usual figure from the first one on, so the
    panel (and the network drawing beside it) is not laid out again as the digits change; a
    new font (presentation mode) sets a new width."""
    panel = playground.output
    panel.show_losses({})  # before the first record: the width the figures will need
    widths = {(panel.test_loss_label.minimumWidth(), panel.train_loss_label.minimumWidth())}
    assert panel.test_loss_label.text() == "Test loss —"
    for loss, acc in ((0.6931, 0.5), (0.1949, 0.92), (0.00763, 1.0), (1.37e-07, 1.0), (12.5, 0.07)):
        panel.show_losses({"train_loss": loss * 0.9, "test_loss": loss, "test_accuracy": acc})
        label = panel.test_loss_label
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.minimumWidth()
        widths.add((label.minimumWidth(), panel.train_loss_label.minimumWidth()))
    assert len(widths) == 1
    playground.set_presentation(True)
    large = panel.test_loss_label.minimumWidth()  # set with the new font, before any figure
    assert large > min(widths)[0]
    panel.show_losses({"train_loss": 0.5, "test_loss": 0.6, "test_accuracy": 0.75})
    assert panel.test_loss_label.minimumWidth() == large
    assert "accuracy 75%" in panel.test_loss_label.text()
