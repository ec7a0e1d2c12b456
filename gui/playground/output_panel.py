"""The output column: the test and training losses, errors, the plot box, the curves and why training stopped."""

from __future__ import annotations

from PySide6 import QtWidgets

from engine.metrics import format_metrics
from gui.playground.curves import CurvesPanel
from gui.playground.plot_box import PlotBox
from gui.playground.tips import CRITERION_NAMES, CRITERION_SHORT_NAMES, CRITERION_TIPS, DIVERGED_TEXT, TIPS

#: the widest figure a loss label usually shows (format_metrics: four digits, or an exponent)
WIDEST_VALUE = "8.888e-08"


class OutputPanel(QtWidgets.QWidget):
    """What the network does: numbers on top, the picture in the middle, the curves below."""

    def __init__(self, plot_box: PlotBox, curves: CurvesPanel, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.plot_box = plot_box
        self.curves = curves
        #: what the model minimizes, as the numbers are labelled: "loss" or "criterion"
        self.criterion = "loss"
        #: whether the test figures include an accuracy (classification): the labels' width
        #: is kept for it from the start, before the first record brings one
        self.with_accuracy = True
        self._last_losses: dict = {}
        self.test_loss_label = QtWidgets.QLabel()
        self.test_loss_label.setProperty("role", "metric")
        self.test_loss_label.setToolTip(TIPS["test_loss"])
        self.train_loss_label = QtWidgets.QLabel()
        self.train_loss_label.setProperty("role", "hint")
        self.train_loss_label.setToolTip(TIPS["train_loss"])
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setProperty("role", "hint")
        self.status_label.setWordWrap(True)
        self.error_banner = QtWidgets.QLabel("")
        self.error_banner.setProperty("role", "error")
        self.error_banner.setWordWrap(True)
        self.error_banner.setVisible(False)

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.heading = QtWidgets.QLabel("OUTPUT")
        self.heading.setProperty("role", "heading")
        lay.addWidget(self.heading)
        # Side by side, or one under the other in presentation mode (a 1280-pixel projector).
        self.losses_row = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.LeftToRight)
        self.losses_row.addWidget(self.test_loss_label)
        self.losses_row.addSpacing(16)
        self.losses_row.addWidget(self.train_loss_label)
        self.losses_row.addStretch(1)
        lay.addLayout(self.losses_row)
        lay.addWidget(self.error_banner)
        lay.addWidget(plot_box.square, 5)
        lay.addWidget(plot_box.options)
        lay.addWidget(curves, 4)
        # (the status line stays in presentation mode: why training stopped, or why play does
        # nothing, matters most when the class is watching)
        lay.addWidget(self.status_label)

    def set_model(self, model_kind: str, task: str) -> None:
        """Name what the model minimizes: a loss (cross-entropy, squared error) or, for the
        perceptron, Rosenblatt's criterion, which is no loss of the same scale."""
        # (a model with a criterion of its own is named by it; networks by their task's loss)
        key = model_kind if model_kind in CRITERION_NAMES else task
        self.criterion = "criterion" if key == "perceptron" else "loss"
        self.with_accuracy = task == "classification"
        name = CRITERION_NAMES.get(key, "loss")
        self.test_loss_label.setToolTip(TIPS["test_loss"] + " " + CRITERION_TIPS.get(key, ""))
        self.train_loss_label.setToolTip(TIPS["train_loss"] + " " + CRITERION_TIPS.get(key, ""))
        self.curves.set_loss_title(name, CRITERION_SHORT_NAMES.get(key, name))
        self.show_losses(self._last_losses)

    def show_losses(self, rec: dict) -> None:
        """The test loss (and accuracy) and the training loss of a metrics record; dashes for ``{}``.

        Both losses are written in one notation (:func:`engine.metrics.format_metrics`).
        """
        self._last_losses = rec
        train, test = format_metrics([rec.get("train_loss"), rec.get("test_loss")])
        text = f"Test {self.criterion} {test}"
        template = f"Test {self.criterion} {WIDEST_VALUE}"
        if self.with_accuracy:
            template += "  ·  accuracy 100%"
        if rec.get("test_accuracy") is not None:
            text += f"  ·  accuracy {rec['test_accuracy']:.0%}"
        self._set_metric(self.test_loss_label, text, template)
        self._set_metric(self.train_loss_label, f"Training {self.criterion} {train}",
                         f"Training {self.criterion} {WIDEST_VALUE}")

    @staticmethod
    def _set_metric(label: QtWidgets.QLabel, text: str, template: str) -> None:
        """Set a label whose text changes with every frame while training. It is as wide as
        ``template``, the widest text its figures usually make, from the first figure on (a
        label that follows its text re-lays out the panel, and the network drawing beside it,
        whenever the text grows); a wider text still widens it."""
        label.setText(text)
        fm = label.fontMetrics()
        floor = fm.horizontalAdvance(template) + 2
        if label.property("metric_floor") != floor:  # a new font or criterion: from the template
            label.setProperty("metric_floor", floor)
            label.setMinimumWidth(floor)
        wanted = fm.horizontalAdvance(text) + 2
        if wanted > label.minimumWidth():
            label.setMinimumWidth(wanted)

    def show_error(self, text: str, detail: str | None = None) -> None:
        self.error_banner.setText(text)
        self.error_banner.setToolTip(detail if detail is not None else text)
        self.error_banner.setVisible(True)

    def hide_error(self) -> None:
        self.error_banner.setVisible(False)

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def status(self) -> str:
        return self.status_label.text()

    def show_state(self, state: str, snapshot) -> None:
        """Say why training stopped (diverged, completed) or clear the line when it runs again."""
        if state == "diverged":
            detail = snapshot.message if snapshot is not None else ""
            self.show_error(DIVERGED_TEXT, detail)
            self.set_status(detail)
        elif state == "completed" and snapshot is not None:
            self.set_status(snapshot.message)
        elif state == "running":
            self.set_status("")

    def set_presentation(self, on: bool) -> None:
        """The two losses one under the other, no heading; the plot box and curves in their presentation mode."""
        self.losses_row.setDirection(QtWidgets.QBoxLayout.Direction.TopToBottom if on
                                     else QtWidgets.QBoxLayout.Direction.LeftToRight)
        self.heading.setVisible(not on)  # (the large test loss heads the column instead)
        self.plot_box.set_presentation(on)
        self.curves.set_presentation(on)
        # the loss labels' width for the figures to come, in the new font (not at the first record)
        for label in (self.test_loss_label, self.train_loss_label):
            label.ensurePolished()
        self.show_losses(self._last_losses)
