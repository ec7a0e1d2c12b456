"""The network editor driven with the mouse: hover and click edges, neurons, buttons, captions."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

LEFT = QtCore.Qt.MouseButton.LeftButton


def _viewport_pos(view, scene_point: QtCore.QPointF) -> QtCore.QPoint:
    return view.mapFromScene(scene_point)


def _edge_midpoint(edge) -> QtCore.QPointF:
    return edge.item.path().pointAtPercent(0.2)  # the middle is where crossing edges meet


def test_hover_an_edge_shows_its_weight_and_a_click_edits_it(qtbot, playground, monkeypatch):
    net = playground.network
    view = net.view
    # before any training the edges already show the random initial weights
    W = playground.session.snapshot.weights[0]["W"]
    assert [e.value for e in net.edges[0]] == [float(W[e.i, e.j]) for e in net.edges[0]]
    assert len({round(e.pen().widthF(), 3) for e in net.edges[0]}) > 3
    edge = net.edge(1, 2, 3)
    pos = _viewport_pos(view, _edge_midpoint(edge))
    assert view.target_at(pos) == ("edge", 1, 2, 3)
    qtbot.mouseMove(view.viewport(), pos)
    qtbot.waitUntil(lambda: "neuron 1.3 → neuron 2.4" in net.hint_label.text(), timeout=2000)
    w = playground.session.snapshot.weights[1]["W"][2, 3]
    assert f"{w:.4f}" in net.hint_label.text()

    monkeypatch.setattr(QtWidgets.QInputDialog, "getDouble", staticmethod(lambda *a, **k: (-1.75, True)))
    qtbot.mouseClick(view.viewport(), LEFT, pos=pos)
    qtbot.waitUntil(lambda: playground.session.snapshot.weights[1]["W"][2, 3] == -1.75, timeout=2000)
    playground.draw_frame()
    assert net.edge(1, 2, 3).value == -1.75
    assert net.edge(1, 2, 3).pen().color().red() > net.edge(1, 2, 3).pen().color().blue()  # negative: orange


def test_hover_a_neuron_shows_it_large(qtbot, playground):
    net = playground.network
    view = net.view
    neuron = net.nodes[2][1]
    pos = _viewport_pos(view, neuron.item.sceneBoundingRect().center())
    qtbot.mouseMove(view.viewport(), pos)
    qtbot.waitUntil(lambda: playground.data_plot.preview_shown, timeout=2000)
    assert "neuron 2.2" in playground.data_plot.caption.textItem.toPlainText()
    shown = playground.data_plot.image.image
    assert shown.shape[:2] == (100, 100)
    assert np.allclose(playground.data_plot.image_extent(), playground.data_plot.box)  # fills the plot
    qtbot.mouseMove(view.viewport(), QtCore.QPoint(2, 2))
    qtbot.waitUntil(lambda: not playground.data_plot.preview_shown, timeout=2000)
    assert playground.data_plot.image.image.shape[:2] == (200, 200)
    assert np.allclose(playground.data_plot.image_extent(), playground.data_plot.box)


def test_neuron_buttons_inputs_and_layer_activation_menu(qtbot, playground):
    net = playground.network
    view = net.view
    before = list(net.hidden)
    minus = next(i for i in net.scene.items() if i.data(0) == ("neurons", 0, -1))
    pos = _viewport_pos(view, minus.sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), LEFT, pos=pos)
    qtbot.waitUntil(lambda: net.hidden[0] == before[0] - 1, timeout=2000)
    assert playground.session.snapshot.weights[0]["W"].shape[1] == before[0] - 1

    x1sq = net.nodes[0][net.all_features.index("x1^2")]
    assert "x1^2" not in net.features
    qtbot.mouseClick(view.viewport(), LEFT, pos=_viewport_pos(view, x1sq.item.sceneBoundingRect().center()))
    qtbot.waitUntil(lambda: "x1^2" in net.features, timeout=2000)
    assert playground.session.snapshot.weights[0]["W"].shape[0] == len(net.features)

    caption = next(i for i in net.scene.items() if i.data(0) == ("caption", 1))
    qtbot.mouseClick(view.viewport(), LEFT, pos=_viewport_pos(view, caption.sceneBoundingRect().center()))
    menu = view.activation_menu
    relu = next(a for a in menu.actions() if a.text() == "relu")
    relu.trigger()
    menu.close()
    assert net.activations[1] == "relu"
    assert playground.current_spec().model.activation == ("tanh", "relu")


def test_edges_are_hit_anywhere_along_their_curve(qtbot, playground):
    """The points hit testing measures lie on the drawn curve, close enough together that a
    point anywhere on it is within the editor's 5-pixel reach of one of them."""
    net = playground.network
    for edge in (e for row in net.edges for e in row):
        path = edge.item.path()
        dense = np.array([[path.pointAtPercent(t).x(), path.pointAtPercent(t).y()] for t in np.linspace(0, 1, 400)])
        d = np.hypot(*(edge.samples[:, None, :] - dense[None, :, :]).transpose(2, 0, 1))
        assert d.min(axis=1).max() < 0.5  # every sample on the curve
        assert d.min(axis=0).max() < 5.0  # every point of the curve near a sample
    # a steep edge, clicked a third of the way along, at the view's zoom
    edge = max((e for row in net.edges for e in row), key=lambda e: abs(e.samples[-1, 1] - e.samples[0, 1]))
    pos = net.view.mapFromScene(edge.item.path().pointAtPercent(0.33))
    target = net.view.target_at(pos)
    assert target is not None and target[0] in ("edge", "neuron")


def test_a_few_pixels_of_resize_do_not_lay_the_drawing_out_again(qtbot, playground, monkeypatch):
    """While training, labels beside the drawing change and move its size by a few pixels; the
    drawing keeps its layout then (rebuilding it held the window for a tenth of a second), and
    its words never fall under the presentation minimum."""
    from gui import theme

    view = playground
    view.resize(1280, 800)
    view.set_presentation(True)
    view.resize(1280, 800)
    qtbot.wait(50)
    net = view.network
    rebuilds = []
    original = net.rebuild
    monkeypatch.setattr(net, "rebuild", lambda *a, **k: (rebuilds.append(1), original(*a, **k))[1])
    size = net.view.size()
    for dw in (3, -2, 4, -3, 1, 0):
        net.view.resize(size.width() + dw, size.height())
        qtbot.wait(10)
        assert net.shown_text_px() >= theme.PRESENTATION_MIN_TEXT_PX - 0.01
    assert len(rebuilds) <= 1
    # a shrink that takes the words under the minimum still lays the drawing out again, with
    # larger words (just under: much smaller views cannot show the whole drawing with 14-pixel
    # words at any zoom)
    f = (theme.PRESENTATION_MIN_TEXT_PX - 0.3) / net.shown_text_px()
    net.view.resize(round(size.width() * f), round(size.height() * f))
    qtbot.wait(10)
    assert rebuilds and net.shown_text_px() >= theme.PRESENTATION_MIN_TEXT_PX - 0.01
