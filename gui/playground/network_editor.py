"""The network drawn as the thing being learnt: features, hidden layers, outputs.

Every neuron is a small picture of its own output over the input plane; every edge is a
curve whose thickness and colour show its weight's magnitude and sign. Hovering an edge
shows its weight, clicking it lets the user type a new one; hovering a neuron asks the
main plot to show that neuron's picture large. ``+`` / ``-`` buttons add and remove
layers and neurons; clicking a layer's caption picks its activation.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.playground.network_items import EDGE_SAMPLES, ROLE, Edge, Neuron, round_button
from gui.playground.tips import ACTIVATION_TIPS, FEATURE_LABELS, FEATURE_TIPS, NETWORK_HEADING_TIP

MAX_LAYERS = 6
MAX_NEURONS = 8
#: the most the network drawing is enlarged to fill a large window
MAX_ZOOM = 1.5
#: the least height of the drawing's words on screen, in pixels (presentation mode: theme's)
NORMAL_MIN_TEXT_PX = 11


class NetworkEditor(QtWidgets.QWidget):
    """Edit the architecture and watch the weights.

    The architecture lives here (``features``, ``hidden``, ``activations``);
    ``architecture_changed`` tells the view to rebuild the model.
    """

    architecture_changed = QtCore.Signal()
    weight_edited = QtCore.Signal(int, int, int, float)
    neuron_hovered = QtCore.Signal(int, int)

    def __init__(self, all_features: tuple[str, ...], activations: tuple[str, ...], parent=None):
        super().__init__(parent)
        self.all_features = tuple(all_features)
        self.activation_names = tuple(activations)
        self.features: list[str] = ["x1", "x2"]
        self.hidden: list[int] = [4, 2]
        self.activations: list[str] = ["tanh", "tanh"]
        self.n_outputs = 2
        self.output_labels: list[str] = []
        self.layers_allowed = True
        self.min_text_px = NORMAL_MIN_TEXT_PX
        #: the words' pixel size in scene units (enlarged when the view shrinks the drawing)
        self.text_px = 12
        #: the activation a new layer gets: the top bar's "Activation" box
        self.default_activation = "tanh"
        self.scale = 1.0
        self.edges: list[list[Edge]] = []
        self.nodes: list[list[Neuron]] = []
        self._feature_pictures: dict[str, np.ndarray] = {}
        #: the weights and neuron pictures last shown, with the network shape they belong to
        self._shown_weights: tuple | None = None
        self._shown_pictures: tuple | None = None

        self.add_layer_button = QtWidgets.QToolButton(text="+")
        self.remove_layer_button = QtWidgets.QToolButton(text="−")
        for b, tip in ((self.add_layer_button, "Add a hidden layer. More layers let the network combine simple "
                        "shapes into complicated ones, but make it slower to train."),
                       (self.remove_layer_button, "Remove the last hidden layer.")):
            b.setProperty("role", "round")
            b.setToolTip(tip)
        self.add_layer_button.clicked.connect(self.add_layer)
        self.remove_layer_button.clicked.connect(self.remove_layer)
        self.layers_label = QtWidgets.QLabel()
        self.layers_label.setProperty("role", "heading")
        self.hint_label = QtWidgets.QLabel(" ")
        self.hint_label.setProperty("role", "hint")

        self.heading = QtWidgets.QLabel("FEATURES  ·  NETWORK")
        self.heading.setProperty("role", "heading")
        self.heading.setToolTip(NETWORK_HEADING_TIP)
        head = QtWidgets.QHBoxLayout()
        head.addStretch(1)
        head.addWidget(self.add_layer_button)
        head.addWidget(self.remove_layer_button)
        head.addWidget(self.layers_label)
        head.addStretch(1)
        self.scene = QtWidgets.QGraphicsScene(self)
        self.view = _NetworkView(self)
        self.view.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        self.view.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.view.setBackgroundBrush(QtGui.QColor(theme.BACKGROUND))
        self.view.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.view.setMouseTracking(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.heading)
        lay.addLayout(head)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.hint_label)
        self.rebuild()

    # ------------------------------------------------------------------ architecture edits
    def set_architecture(self, features, hidden, activations, n_outputs: int, output_labels=(),
                         layers_allowed: bool = True) -> None:
        """Replace the whole architecture (no ``architecture_changed`` is emitted)."""
        self.features = [f for f in self.all_features if f in features]
        self.hidden = list(hidden)
        self.activations = list(activations)
        self.n_outputs = int(n_outputs)
        self.output_labels = list(output_labels)
        self.layers_allowed = layers_allowed
        self.rebuild()

    def show_architecture(self, features, hidden, activations, layers_allowed: bool) -> None:
        """Show this architecture (the outputs stay); nothing is redrawn when it is the one shown."""
        if (list(features), list(hidden), list(activations), layers_allowed) != (
                self.features, self.hidden, self.activations, self.layers_allowed):
            self.set_architecture(features, hidden, activations, self.n_outputs, self.output_labels,
                                  layers_allowed=layers_allowed)

    def set_outputs(self, n_outputs: int, labels) -> None:
        """The output neurons and their captions (they follow the data, not the user)."""
        if n_outputs != self.n_outputs or list(labels) != self.output_labels:
            self.n_outputs = int(n_outputs)
            self.output_labels = list(labels)
            self.rebuild()

    def fit_outputs(self, task: str, class_names, n_outputs: int | None) -> None:
        """Output neurons for the data: one value (regression), one per class, or one for
        two classes ("B vs A") where the model has a single output; ``n_outputs`` None: no model."""
        names = list(class_names)
        n_out = n_outputs if n_outputs is not None else max(len(names), 1)
        if task != "classification":
            n_out, labels = 1, ["value"]
        else:
            labels = names if n_out == len(names) else [f"{names[1]} vs {names[0]}"]
        self.set_outputs(n_out, labels)

    def _changed(self) -> None:
        self.rebuild()
        self.architecture_changed.emit()

    def add_layer(self) -> None:
        if self.layers_allowed and len(self.hidden) < MAX_LAYERS:
            self.hidden.append(self.hidden[-1] if self.hidden else 4)
            self.activations.append(self.default_activation)
            self._changed()

    def remove_layer(self) -> None:
        if self.hidden:
            self.hidden.pop()
            self.activations.pop()
            self._changed()

    def change_neurons(self, layer: int, delta: int) -> None:
        new = self.hidden[layer] + delta
        if 1 <= new <= MAX_NEURONS:
            self.hidden[layer] = new
            self._changed()

    def set_layer_activation(self, layer: int, name: str) -> None:
        if self.activations[layer] != name:
            self.activations[layer] = name
            self._changed()

    def set_all_activations(self, name: str) -> None:
        if any(a != name for a in self.activations):
            self.activations = [name] * len(self.hidden)
            self._changed()

    def toggle_feature(self, name: str) -> None:
        if name in self.features:
            if len(self.features) == 1:
                self.set_hint("At least one input feature must stay on.")
                return
            self.features.remove(name)
        else:
            self.features.append(name)
            self.features = [f for f in self.all_features if f in self.features]
        self._changed()

    def set_hint(self, text: str) -> None:
        self.hint_label.setText(text or " ")

    def edit_weight(self, layer: int, i: int, j: int, current: float) -> None:
        value, ok = QtWidgets.QInputDialog.getDouble(
            self, "Edit weight", f"New value for {self.node_name(layer, i)} → {self.node_name(layer + 1, j)}:",
            current, -1000.0, 1000.0, 4)
        if ok:
            self.weight_edited.emit(layer, i, j, float(value))

    def node_name(self, column: int, unit: int) -> str:
        if column == 0:
            return self.features[unit] if unit < len(self.features) else "?"
        if column == len(self.hidden) + 1:
            return f"output {self.output_labels[unit]}" if unit < len(self.output_labels) else f"output {unit + 1}"
        return f"neuron {column}.{unit + 1}"

    # ------------------------------------------------------------------ drawing
    def set_presentation(self, on: bool) -> None:
        """A larger drawing for a projector, whose words stay at least 14 pixels high on screen;
        no heading."""
        self.min_text_px = theme.PRESENTATION_MIN_TEXT_PX if on else NORMAL_MIN_TEXT_PX
        # (on a 1280-pixel projector the heading would make the column too wide to share the
        # screen; the drawing's inputs and captions say what it is)
        self.heading.setVisible(not on)
        self.set_scale(1.2 if on else 1.0)

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.text_px = self.base_text_px()
        self.rebuild()

    def base_text_px(self) -> int:
        """The words' size in scene units before fitting: they grow faster than the drawing,
        since on a projector the words matter most."""
        s = self.scale
        return round(12 * s * (1.3 if s > 1 else 1.0))

    def shown_text_px(self) -> float:
        """How tall (pixels on screen) the drawing's words are at the view's zoom."""
        return self.text_px * self.view.transform().m11()

    def set_feature_pictures(self, pictures: dict[str, np.ndarray]) -> None:
        """Fixed pictures of every input feature (``(h, w, 3)`` uint8 each)."""
        self._feature_pictures = dict(pictures)
        for unit, item in enumerate(self.nodes[0] if self.nodes else []):
            name = self.all_features[unit]
            if name in pictures:
                item.set_picture(pictures[name])

    def rebuild(self) -> None:
        """Lay out every node and edge for the current architecture."""
        self.edges, self.nodes = [], []
        self.scene.clear()
        hovered_neuron = self.view.forget()
        #: every item of the scene that no other Python object holds: an item whose only
        #: Python wrapper was temporary can be destroyed with it (e.g. after a hit test
        #: through ``scene.items()``), so the editor owns them all until the next rebuild
        self.scene_items: list[QtWidgets.QGraphicsItem] = []
        s = self.scale
        node = round(34 * s)
        gap = round(12 * s)
        font = QtGui.QFont()
        font.setPixelSize(self.text_px)
        fm = QtGui.QFontMetricsF(font)
        line_h = fm.height()
        # the +/- buttons hold a glyph as large as the words
        radius = max(9 * s, 0.75 * self.text_px)
        caption_w = max(fm.horizontalAdvance(f"{MAX_NEURONS} neurons"),
                        *(fm.horizontalAdvance(f"{a} ▾") for a in self.activation_names))
        col_gap = max(round(110 * s), round(node + caption_w + 10))
        n_hidden = len(self.hidden)
        self.layers_label.setText(f"{n_hidden} HIDDEN LAYER{'S' if n_hidden != 1 else ''}")
        self.add_layer_button.setEnabled(self.layers_allowed and n_hidden < MAX_LAYERS)
        self.remove_layer_button.setEnabled(n_hidden > 0)

        heights = [len(self.all_features)] + self.hidden + [self.n_outputs]
        tallest = max(heights) * (node + gap)
        # room for the +/- buttons and the two-line captions above the tallest layer
        top = max(round(66 * s), round(2 * radius + 2 * line_h + 8 + 4 * s))
        positions: list[list[QtCore.QPointF]] = []
        for c, count in enumerate(heights):
            x = c * col_gap
            y0 = top + (tallest - count * (node + gap)) / 2
            positions.append([QtCore.QPointF(x, y0 + k * (node + gap)) for k in range(count)])

        # inputs: all features, the unused ones faded
        inputs = []
        for k, name in enumerate(self.all_features):
            on = name in self.features
            item = Neuron(0, k, node, enabled=on)
            item.item.setPos(positions[0][k])
            item.item.setToolTip(FEATURE_TIPS.get(name, name) + ("" if on else "\n(off: click to use it)")
                                 + ("\n(on: click to turn it off)" if on else ""))
            self._add(item.item)
            if name in self._feature_pictures:
                item.set_picture(self._feature_pictures[name])
            label = QtWidgets.QGraphicsSimpleTextItem(FEATURE_LABELS.get(name, name))
            label.setFont(font)
            br = label.boundingRect()
            label.setPos(positions[0][k].x() - br.width() - 6, positions[0][k].y() + (node - br.height()) / 2)
            label.setBrush(QtGui.QColor(theme.FOREGROUND if on else "#9AA0A6"))
            self._add(label)
            inputs.append(item)
        self.nodes.append(inputs)
        # hidden and output columns
        for c in range(1, len(heights)):
            col = []
            for k in range(heights[c]):
                item = Neuron(c, k, node)
                item.item.setPos(positions[c][k])
                item.item.setToolTip(f"{self.node_name(c, k)}: its output over the input plane "
                                     "(blue positive, orange negative). Hover to see it large.")
                self._add(item.item)
                col.append(item)
            self.nodes.append(col)
        # captions and +/- per hidden layer
        for h in range(n_hidden):
            c = h + 1
            x = positions[c][0].x() + node / 2
            plus = round_button("+", radius, self.hidden[h] < MAX_NEURONS,
                                "Add a neuron to this layer: more neurons, more lines to combine.",
                                ("neurons", h, +1), self.text_px)
            minus = round_button("−", radius, self.hidden[h] > 1, "Remove a neuron from this layer.",
                                 ("neurons", h, -1), self.text_px)
            plus.setPos(x - radius - 3, radius + 1)
            minus.setPos(x + radius + 3, radius + 1)
            self._add(plus)
            self._add(minus)
            caption = QtWidgets.QGraphicsSimpleTextItem(
                f"{self.hidden[h]} neuron{'s' if self.hidden[h] != 1 else ''}\n{self.activations[h]} ▾")
            caption.setData(ROLE, ("caption", h))
            caption.setToolTip("Click to choose this layer's activation function (the bend each neuron applies).")
            caption.setFont(font)
            br = caption.boundingRect()
            caption.setPos(x - br.width() / 2, positions[c][0].y() - br.height() - 4 * s)
            self._add(caption)
        out_c = len(heights) - 1
        cap = QtWidgets.QGraphicsSimpleTextItem("output")
        cap.setFont(font)
        br = cap.boundingRect()
        cap.setPos(positions[out_c][0].x() + node / 2 - br.width() / 2, positions[out_c][0].y() - br.height() - 4)
        self._add(cap)
        # edges: from the used inputs only (the network's real input layer)
        src_cols = [[inputs[self.all_features.index(f)] for f in self.features]] + self.nodes[1:-1]
        for layer, (src, dst) in enumerate(zip(src_cols, self.nodes[1:])):
            row = []
            for i, a in enumerate(src):
                for j, b in enumerate(dst):
                    p0 = a.item.pos() + QtCore.QPointF(node, node / 2)
                    p1 = b.item.pos() + QtCore.QPointF(0, node / 2)
                    e = Edge(self, layer, i, j, p0, p1)
                    e.set_value(0.0, s)
                    self._add(e.item)
                    row.append(e)
            self.edges.append(row)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-10, -10, 10, 10))
        self.view.set_edges([e for row in self.edges for e in row])
        self._redraw_values()
        self.view.fit()
        if hovered_neuron:
            # The neuron shown large in the output plot may be gone (a feature turned off, a
            # layer removed): its picture goes too, until the mouse moves over a neuron again.
            self.neuron_hovered.emit(-1, -1)

    def _add(self, item: QtWidgets.QGraphicsItem) -> None:
        """Put ``item`` in the scene and keep it (with its children) alive until the next rebuild."""
        self.scene.addItem(item)
        self.scene_items.append(item)
        self.scene_items.extend(item.childItems())

    def set_draft(self, on: bool) -> None:
        """Draw the edges without antialiasing while training runs (``on``), smooth otherwise.

        A smooth wide curve costs Qt's rasterizer about three times a plain one: the whole
        drawing takes some 25 ms instead of 8, long enough to stall the window every time the
        weights are redrawn. Moving edges hide the jagged steps; a paused network, which a
        lecturer explains, is drawn smooth again.
        """
        smooth = not on
        hint = QtGui.QPainter.RenderHint.Antialiasing
        if bool(self.view.renderHints() & hint) != smooth:
            self.view.setRenderHint(hint, smooth)
            self.view.viewport().update()

    def show_weights(self, weights: list[dict]) -> None:
        """Recolour every edge from ``weights`` (one ``{"W": (in, out), "b": (out,)}`` per layer)."""
        self._shown_weights = (self._shape(), weights)
        for layer, row in enumerate(self.edges):
            if layer >= len(weights):
                break
            W = np.asarray(weights[layer]["W"])
            for e in row:
                if e.i < W.shape[0] and e.j < W.shape[1]:
                    e.set_value(float(W[e.i, e.j]), self.scale)

    def show_neuron_pictures(self, columns: list[list[np.ndarray]]) -> None:
        """Update thumbnails: ``columns[c][k]`` is unit ``k``'s ``(h, w, 3)`` picture in column ``c + 1``."""
        self._shown_pictures = (self._shape(), columns)
        for c, pictures in enumerate(columns, start=1):
            if c >= len(self.nodes):
                break
            for k, item in enumerate(self.nodes[c]):
                if k < len(pictures):
                    item.set_picture(pictures[k])

    def _shape(self) -> tuple:
        return tuple(self.features), tuple(self.hidden), self.n_outputs

    def _redraw_values(self) -> None:
        """After a new layout of the same network (a resize), show its weights and pictures again."""
        for kept, show in ((self._shown_weights, self.show_weights),
                           (self._shown_pictures, self.show_neuron_pictures)):
            if kept is not None and kept[0] == self._shape():
                show(kept[1])

    def edge(self, layer: int, i: int, j: int) -> Edge:
        for e in self.edges[layer]:
            if e.i == i and e.j == j:
                return e
        raise KeyError((layer, i, j))


class _NetworkView(QtWidgets.QGraphicsView):
    """Shows the whole network (shrunk to fit, enlarged up to ``MAX_ZOOM``) and handles hover and clicks."""

    def __init__(self, editor: NetworkEditor):
        super().__init__(editor.scene)
        self.editor = editor
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._edges: list[Edge] = []
        self._samples = np.zeros((0, EDGE_SAMPLES, 2))
        self._hover: tuple | None = None
        self._pressed: tuple | None = None
        self._fitting = False

    def forget(self) -> bool:
        """The scene is being rebuilt: drop references to its items; whether a neuron was hovered."""
        hovered_neuron = self._hover is not None and self._hover[0] == "neuron"
        self._edges, self._samples, self._hover, self._pressed = [], np.zeros((0, EDGE_SAMPLES, 2)), None, None
        return hovered_neuron

    def set_edges(self, edges: list[Edge]) -> None:
        self._edges = edges
        self._samples = np.array([e.samples for e in edges]) if edges else np.zeros((0, EDGE_SAMPLES, 2))

    def fit(self) -> None:
        """Show the whole drawing as large as the view allows (up to ``MAX_ZOOM``).

        When that shrinks the words below the editor's ``min_text_px``, the drawing is laid
        out again with larger words (which makes it larger, so a few rounds may be needed).
        """
        ed = self.editor
        self._zoom_to_fit()
        if self._fitting:
            return
        self._fitting = True
        try:
            want = ed.base_text_px()
            for _ in range(6):
                k = self.transform().m11()
                if k <= 0:
                    break
                want = max(want, math.ceil(ed.min_text_px / k))
                # Words a pixel larger than needed stay: the view's size moves by a few pixels
                # as labels beside it change while training, and laying the drawing out again
                # for each such move held the window for a tenth of a second.
                if want == ed.text_px or want == ed.text_px - 1:
                    break
                ed.text_px = want
                ed.rebuild()  # (fits again, without coming back here)
        finally:
            self._fitting = False

    def _zoom_to_fit(self) -> None:
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        vp = self.viewport().size()
        # Enlarged a little on a large screen (the pictures stay sharp enough); shrunk as needed.
        k = min(vp.width() / rect.width(), vp.height() / rect.height(), MAX_ZOOM)
        self.setTransform(QtGui.QTransform.fromScale(k, k))
        self.centerOn(rect.center())

    def resizeEvent(self, ev) -> None:  # Qt override
        super().resizeEvent(ev)
        self.fit()

    # ------------------------------------------------------------------ hit testing
    def target_at(self, pos: QtCore.QPoint) -> tuple | None:
        """What is under viewport position ``pos``: a neuron, button, caption or edge."""
        scene_pos = self.mapToScene(pos)
        for item in self.scene().items(scene_pos):
            while item.parentItem() is not None:
                item = item.parentItem()
            role = item.data(ROLE)
            if role and role[0] in ("neuron", "neurons", "caption"):
                return tuple(role)
        if len(self._samples):
            d = np.hypot(self._samples[:, :, 0] - scene_pos.x(), self._samples[:, :, 1] - scene_pos.y()).min(axis=1)
            k = int(np.argmin(d))
            tolerance = 5.0 / max(self.transform().m11(), 1e-6)
            if d[k] <= tolerance:
                e = self._edges[k]
                return ("edge", e.layer, e.i, e.j)
        return None

    def _set_hover(self, target: tuple | None, global_pos: QtCore.QPoint | None = None) -> None:
        if target == self._hover:
            return
        old, self._hover = self._hover, target
        ed = self.editor
        if old is not None and old[0] == "neuron":
            self._neuron(old).set_highlight(False)
            ed.neuron_hovered.emit(-1, -1)
        if old is not None and old[0] == "edge":
            ed.edge(*old[1:]).item.setZValue(0)
            ed.set_hint("")
        if target is not None and target[0] == "neuron":
            self._neuron(target).set_highlight(True)
            ed.neuron_hovered.emit(target[1], target[2])
        if target is not None and target[0] == "edge":
            e = ed.edge(*target[1:])
            e.item.setZValue(5)
            ed.set_hint(e.describe().replace("\n", " — "))
            if global_pos is not None:
                QtWidgets.QToolTip.showText(global_pos, e.describe(), self)
        clickable = target is not None and (target[0] != "neuron" or target[1] == 0)
        self.viewport().setCursor(QtCore.Qt.CursorShape.PointingHandCursor if clickable
                                  else QtCore.Qt.CursorShape.ArrowCursor)

    def _neuron(self, target: tuple) -> Neuron:
        return self.editor.nodes[target[1]][target[2]]

    def mouseMoveEvent(self, ev) -> None:  # Qt override
        self._set_hover(self.target_at(ev.position().toPoint()), ev.globalPosition().toPoint())
        super().mouseMoveEvent(ev)

    def leaveEvent(self, ev) -> None:  # Qt override
        self._set_hover(None)
        super().leaveEvent(ev)

    def mousePressEvent(self, ev) -> None:  # Qt override
        self._pressed = self.target_at(ev.position().toPoint())
        ev.accept()

    def mouseReleaseEvent(self, ev) -> None:  # Qt override
        target = self.target_at(ev.position().toPoint())
        pressed, self._pressed = self._pressed, None
        if target is None or target != pressed or ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        self.activate(target, ev.globalPosition().toPoint())

    def activate(self, target: tuple, global_pos: QtCore.QPoint | None = None) -> None:
        """Do what a click on ``target`` does (deferred: it may rebuild the scene)."""
        ed = self.editor
        kind = target[0]
        if kind == "neurons":
            QtCore.QTimer.singleShot(0, lambda: ed.change_neurons(target[1], target[2]))
        elif kind == "neuron" and target[1] == 0:
            name = ed.all_features[target[2]]
            QtCore.QTimer.singleShot(0, lambda: ed.toggle_feature(name))
        elif kind == "edge":
            e = ed.edge(*target[1:])
            QtCore.QTimer.singleShot(0, lambda: ed.edit_weight(e.layer, e.i, e.j, e.value))
        elif kind == "caption":
            self._activation_menu(target[1], global_pos or QtGui.QCursor.pos())

    def _activation_menu(self, layer: int, global_pos: QtCore.QPoint) -> None:
        ed = self.editor
        menu = QtWidgets.QMenu(self)
        menu.setToolTipsVisible(True)
        for name in ed.activation_names:
            act = menu.addAction(name)
            act.setCheckable(True)
            act.setChecked(name == ed.activations[layer])
            act.setToolTip(ACTIVATION_TIPS.get(name, name))
            act.triggered.connect(lambda _=False, n=name: ed.set_layer_activation(layer, n))
        self.activation_menu = menu  # (kept alive while it is open)
        menu.popup(global_pos)
