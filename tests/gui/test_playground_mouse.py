"""The network editor's small buttons and captions, driven with the real mouse.

Each target's position is read from the scene once and every reference to it is dropped
before the mouse moves: the test holds nothing that could keep an item alive, as a user's
mouse does not.
"""

from __future__ import annotations

import gc

from PySide6 import QtCore
from PySide6.QtTest import QTest

LEFT = QtCore.Qt.MouseButton.LeftButton


def _target_positions(view) -> dict[tuple, QtCore.QPoint]:
    """Viewport position of every +/- button and caption, by role (no item kept)."""
    found = {}
    for item in view.scene().items():
        role = item.data(0)
        if role and role[0] in ("neurons", "caption"):
            found[tuple(role)] = view.mapFromScene(item.sceneBoundingRect().center())
    del item
    gc.collect()
    return found


def _roles_in_scene(view) -> set:
    roles = {item.data(0) for item in view.scene().items()}
    gc.collect()
    return {tuple(r) for r in roles if r}


def _hover_then_click(qtbot, view, pos: QtCore.QPoint, role: tuple) -> None:
    QTest.mouseMove(view.viewport(), pos)
    qtbot.wait(30)
    gc.collect()
    # hovering neither hides nor destroys the target
    assert role in _roles_in_scene(view), f"{role} vanished under the mouse"
    assert view.target_at(pos) == role
    QTest.mouseClick(view.viewport(), LEFT, pos=pos)


def test_plus_and_minus_of_every_layer_with_the_mouse(qtbot, playground):
    net = playground.network
    view = net.view
    assert net.hidden == [8, 6]
    for layer in range(len(net.hidden)):
        before = net.hidden[layer]
        for delta, want in ((-1, before - 1), (-1, before - 2), (+1, before - 1)):
            pos = _target_positions(view)[("neurons", layer, delta)]
            _hover_then_click(qtbot, view, pos, ("neurons", layer, delta))
            qtbot.waitUntil(lambda: net.hidden[layer] == want, timeout=2000)
            assert playground.session.snapshot.weights[layer]["W"].shape[1] == want
            assert playground.settings.hidden[layer] == want
            # the caption says so
            caption = [i.text() for i in view.scene().items() if i.data(0) == ("caption", layer)]
            gc.collect()
            assert caption == [f"{want} neurons\ntanh ▾"]
    assert net.hidden == [7, 5]


def test_every_caption_picks_its_layers_activation_with_the_mouse(qtbot, playground):
    net = playground.network
    view = net.view
    assert net.activations == ["tanh", "tanh"]
    for layer, name in ((0, "relu"), (1, "sigmoid")):
        pos = _target_positions(view)[("caption", layer)]
        _hover_then_click(qtbot, view, pos, ("caption", layer))
        qtbot.waitUntil(lambda: getattr(view, "activation_menu", None) is not None
                        and view.activation_menu.isVisible(), timeout=2000)
        menu = view.activation_menu
        action = next(a for a in menu.actions() if a.text() == name)
        QTest.mouseMove(menu, menu.actionGeometry(action).center())
        QTest.mouseClick(menu, LEFT, pos=menu.actionGeometry(action).center())
        qtbot.waitUntil(lambda: net.activations[layer] == name, timeout=2000)
        assert playground.settings.activations[layer] == name
        model = playground.session.spec.model
        assert model.activations[layer] == name
        caption = [i.text() for i in view.scene().items() if i.data(0) == ("caption", layer)]
        assert caption and caption[0].endswith(f"{name} ▾")
        del caption
    assert net.activations == ["relu", "sigmoid"]


def test_add_and_remove_layers_then_neurons_of_the_new_layer(qtbot, playground):
    net = playground.network
    qtbot.mouseClick(net.add_layer_button, LEFT)
    qtbot.waitUntil(lambda: len(net.hidden) == 3, timeout=2000)
    view = net.view
    pos = _target_positions(view)[("neurons", 2, +1)]
    before = net.hidden[2]
    _hover_then_click(qtbot, view, pos, ("neurons", 2, +1))
    qtbot.waitUntil(lambda: net.hidden[2] == before + 1, timeout=2000)
    assert playground.session.snapshot.weights[2]["W"].shape[1] == before + 1
