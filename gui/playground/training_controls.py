"""Reset, play/pause and step buttons with the epoch counter (the left of the top bar)."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.playground.combo import labeled
from gui.playground.tips import TIPS


class TrainingControls(QtWidgets.QWidget):
    """The run's buttons and counter; it shows the session's state, the view decides what to do."""

    play_clicked = QtCore.Signal()
    step_clicked = QtCore.Signal()
    reset_clicked = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.reset_button = QtWidgets.QToolButton(text="↺")
        self.reset_button.setProperty("role", "round")
        self.reset_button.setToolTip(TIPS["reset"])
        self.play_button = QtWidgets.QToolButton(text="▶")
        self.play_button.setProperty("role", "play")
        self.play_button.setToolTip(TIPS["play"])
        self.step_button = QtWidgets.QToolButton(text="+1")
        self.step_button.setProperty("role", "round")
        self.step_button.setToolTip(TIPS["step"])
        self.epoch_label = QtWidgets.QLabel("000,000")
        self.epoch_label.setProperty("role", "counter")
        self.epoch_label.setToolTip(TIPS["epoch"])
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(14)
        lay.addWidget(self.reset_button)
        lay.addWidget(self.play_button)
        lay.addWidget(self.step_button)
        lay.addSpacing(10)
        self.counter_box = labeled("Epoch", self.epoch_label)
        #: the counter's title: "Epoch", or a model's own step ("Iteration")
        self.counter_title = self.counter_box.findChild(QtWidgets.QLabel)
        lay.addWidget(self.counter_box)
        self.play_button.clicked.connect(self.play_clicked)
        self.step_button.clicked.connect(self.step_clicked)
        self.reset_button.clicked.connect(self.reset_clicked)

    def show_counter_name(self, name: str) -> None:
        """What the counter counts (``"Epoch"``, ``"Iteration"``)."""
        if self.counter_title.text() != name:
            self.counter_title.setText(name)

    def show_epoch(self, epoch: int) -> None:
        self.epoch_label.setText(f"{epoch:07,d}")

    def show_running(self, running: bool, can_step: bool) -> None:
        """Pause symbol while training; the step button only when a network waits."""
        self.play_button.setText("❚❚" if running else "▶")
        self.play_button.setToolTip(TIPS["play"])
        self.step_button.setEnabled(not running and can_step)

