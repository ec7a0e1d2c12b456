"""The Playground on a 1280 x 800 projector, measured on the real widgets.

Presentation mode: nothing clipped, every text at least 14 pixels (the network drawing's
words at the zoom they are shown at, the plots' axis numbers and titles), charts at least
150 pixels tall, and every control of the lessons on screen and working. Normal mode at the
same size: nothing clipped and the score table without a scroll bar.
"""

from __future__ import annotations

import gc

import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from gui import theme
from tests.gui.test_playground_consistency import choose

LEFT = QtCore.Qt.MouseButton.LeftButton
MIN_PX = theme.PRESENTATION_MIN_TEXT_PX


@pytest.fixture
def window(qtbot, request):
    """The main window at 1280 x 800 on the Playground, in presentation mode when the test's
    ``presentation`` parameter says so, after 30 trained epochs."""
    from gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show_view("playground")
    win.show()
    if getattr(request, "param", False):
        win.set_presentation(True)
    QtWidgets.QApplication.processEvents()
    win.resize(1280, 800)
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.size() == QtCore.QSize(1280, 800), timeout=2000)
    view = win.views["playground"]
    view.prepare_screenshot(30)
    QtWidgets.QApplication.processEvents()
    yield win
    win.close()


def _inside(win, widget) -> bool:
    """Whether ``widget`` lies wholly inside the window's client area."""
    top_left = widget.mapTo(win, QtCore.QPoint(0, 0))
    return win.rect().contains(QtCore.QRect(top_left, widget.size()))


def _shown_widgets(view):
    """Every widget a person sees: shown, and not inside a scroll area's scrolled content."""
    scrolled = view.data_scroll.widget()
    for w in view.findChildren(QtWidgets.QWidget):
        if w.isVisible() and w.width() > 0 and w.height() > 0 and not scrolled.isAncestorOf(w):
            yield w


def _text_of(w) -> str | None:
    if isinstance(w, QtWidgets.QLabel):
        return w.text() if w.pixmap().isNull() else None
    if isinstance(w, QtWidgets.QAbstractButton):
        return w.text()
    if isinstance(w, QtWidgets.QComboBox):
        return w.currentText()
    if isinstance(w, QtWidgets.QAbstractSpinBox):
        return w.text()
    if isinstance(w, QtWidgets.QHeaderView) or isinstance(w, QtWidgets.QTableWidget):
        return "table"
    return None


def _plot_texts(plot: pg.PlotWidget):
    """``(what, pixel size)`` of every text of a pyqtgraph plot: axis numbers and title."""
    pi = plot.getPlotItem()
    for name in ("left", "bottom"):
        axis = pi.getAxis(name)
        if axis.isVisible():
            font = axis.style.get("tickFont") or axis.font()
            yield f"{name} axis", QtGui.QFontInfo(font).pixelSize()
    if pi.titleLabel.isVisible() and pi.titleLabel.text:
        # the title's size is in its rich text: measure the laid-out line (height = 1.17 em)
        doc = pi.titleLabel.item.document()
        line = doc.firstBlock().layout().lineAt(0)
        yield "title", (line.ascent() + line.descent()) / 1.17


def _tick_labels(plot: pg.PlotWidget, name: str) -> list[tuple[str, QtCore.QRect]]:
    """Every tick label an axis draws, with its rectangle in the plot widget's pixels."""
    axis = plot.getPlotItem().getAxis(name)
    image = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    _axis_spec, _tick_specs, text_specs = specs
    return [(text, plot.mapFromScene(axis.mapRectToScene(rect)).boundingRect()) for rect, _flags, text in text_specs]


def _network_texts(editor):
    view = editor.view
    k = view.transform().m11()
    for item in editor.scene.items():
        if isinstance(item, QtWidgets.QGraphicsSimpleTextItem) and item.text().strip():
            yield item.text(), item.font().pixelSize() * k, view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    gc.collect()


@pytest.mark.parametrize("window", [True], indirect=True)
def test_presentation_at_1280x800_shows_every_text_at_14_px_or_more(window):
    view = window.views["playground"]
    assert view.presentation
    small = []
    for w in _shown_widgets(view):
        text = _text_of(w)
        if text:
            px = QtGui.QFontInfo(w.font()).pixelSize()
            if px < MIN_PX:
                small.append((type(w).__name__, text, px))
    assert not small, small
    for plot in (view.data_plot, view.curves.loss_plot, view.curves.acc_plot):
        for what, px in _plot_texts(plot):
            assert px >= MIN_PX - 0.5, (plot, what, px)
    for text, px, _rect in _network_texts(view.network):
        assert px >= MIN_PX - 0.01, (text, px)
    # the +/- glyphs of the layers are words too
    assert view.network.shown_text_px() >= MIN_PX - 0.01
    assert QtGui.QFontInfo(view.plot_box.legend.font()).pixelSize() >= MIN_PX


@pytest.mark.parametrize("window", [True, False], indirect=True)
def test_at_1280x800_nothing_is_clipped(window):
    view = window.views["playground"]
    assert window.minimumSizeHint().width() <= 1280 and window.minimumSizeHint().height() <= 800
    assert window.size() == QtCore.QSize(1280, 800)
    outside = [(type(w).__name__, _text_of(w)) for w in _shown_widgets(view) if not _inside(window, w)]
    assert not outside, outside
    # labels show their whole text
    cut = []
    for w in _shown_widgets(view):
        if isinstance(w, QtWidgets.QLabel) and w.pixmap().isNull() and not w.wordWrap() and w.text().strip() \
                and w.textFormat() != QtCore.Qt.TextFormat.RichText and "<" not in w.text():
            if w.fontMetrics().horizontalAdvance(w.text().split("\n")[0]) > w.contentsRect().width() + 1:
                cut.append(w.text())
        if isinstance(w, QtWidgets.QAbstractButton) and w.text() and w.sizeHint().width() > w.width() + 1:
            cut.append(w.text())
    assert not cut, cut
    # the data plot gets the whole square it is drawn in, with its axis numbers inside it
    plot, square = view.data_plot, view.plot_box.square
    assert square.rect().contains(plot.geometry())
    for name in ("left", "bottom"):
        labels = _tick_labels(plot, name)
        assert len(labels) >= 3, (name, labels)
        for text, rect in labels:
            assert plot.rect().adjusted(-1, -1, 1, 1).contains(rect), (name, text, rect, plot.rect())
            assert square.rect().contains(rect.translated(plot.pos()))
    # the network drawing's words are inside its view
    vp = view.network.view.viewport().rect().adjusted(-1, -1, 1, 1)
    for text, _px, rect in _network_texts(view.network):
        assert vp.contains(rect), (text, rect, vp)


@pytest.mark.parametrize("window", [True], indirect=True)
def test_presentation_charts_are_tall_enough_to_read(window):
    view = window.views["playground"]
    for plot in (view.curves.loss_plot, view.curves.acc_plot):
        assert plot.isVisible() and plot.height() >= 150, plot.height()
        assert _inside(window, plot)
        # the whole title shows
        title = plot.getPlotItem().titleLabel
        assert title.item.document().idealWidth() <= plot.width(), title.text
    # their key is off the data: above the charts, not inside them
    key = view.curves.key
    assert key.isVisible() and "train" in key.text() and "test" in key.text()
    assert key.mapTo(window, QtCore.QPoint(0, key.height())).y() <= \
        view.curves.loss_plot.mapTo(window, QtCore.QPoint(0, 0)).y()
    assert not any(isinstance(i, pg.LegendItem) for i in view.curves.loss_plot.getPlotItem().items)


@pytest.mark.parametrize("window", [True], indirect=True)
def test_presentation_keeps_every_control_of_the_lessons_at_hand(qtbot, window):
    view = window.views["playground"]
    bar, data = view.settings_bar, view.dataset_panel
    controls = [view.controls.play_button, view.controls.reset_button, view.controls.step_button,
                bar.lr_combo, bar.activation_combo, bar.reg_combo, bar.reg_rate_combo, bar.problem_combo,
                bar.model_combo, bar.speed_slider, bar.speed.max_button, view.plot_box.show_test_check,
                view.plot_box.discretize_check, view.network.add_layer_button, view.network.remove_layer_button,
                data.ratio_slider, data.noise_slider, *data.preset_buttons.values()]
    for w in controls:
        if w in data.preset_buttons.values() and w.isHidden():
            continue  # (the other problem type's presets)
        assert w.isVisible() and _inside(window, w), w.toolTip()[:40]
        # on screen inside the data column's scroll area too
        if view.data_scroll.widget().isAncestorOf(w):
            top = w.mapTo(view.data_scroll.viewport(), QtCore.QPoint(0, 0))
            assert view.data_scroll.viewport().rect().contains(QtCore.QRect(top, w.size()))
    # the overfitting lesson, given from the keyboard and mouse: L2 at 0.01, then the speed
    choose(bar.reg_combo, "l2")
    choose(bar.reg_rate_combo, 0.01)
    assert view.session.spec.train.l2 == 0.01
    qtbot.mouseClick(bar.speed.max_button, LEFT)
    assert view.session.speed is None
    bar.speed_slider.setFocus()
    QTest.keyClick(bar.speed_slider, QtCore.Qt.Key.Key_Home)
    assert view.session.speed == 1.0
    # and back to normal mode: the regularization boxes return to the first row
    window.set_presentation(False)
    assert all(bar.row1.indexOf(box) >= 0 for box in bar.regularization_boxes)
    assert bar.fine_settings.isVisible()


@pytest.mark.parametrize("window", [False], indirect=True)
def test_normal_mode_at_1280x800_shows_the_score_table_without_a_scroll_bar(qtbot, window):
    view = window.views["playground"]
    for kind in ("spiral", "blobs"):
        view.dataset_panel.choose_preset(kind)
        qtbot.waitUntil(lambda: not view.data_pending, timeout=3000)
        view.prepare_screenshot(5)
        QtWidgets.QApplication.processEvents()
        scores = view.confusion.scores
        n = view.session.dataset.n_classes
        assert scores.isVisible() and scores.rowCount() == n
        assert not scores.verticalScrollBar().isVisible() and not scores.horizontalScrollBar().isVisible()
        last = scores.visualRect(scores.model().index(n - 1, 3))
        assert scores.viewport().rect().contains(last)
        assert _inside(window, view.confusion.summary)
