"""The training speed: a slider of paces, a "max" button one click away, and what it reads."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from gui.playground.pacing import DEFAULT_SPEED_INDEX, SPEEDS, speed_text
from gui.playground.settings import PlaygroundSettings
from gui.playground.tips import TIPS

MAX_INDEX = len(SPEEDS) - 1


class SpeedControl(QtWidgets.QWidget):
    """"Speed" [slider] [max] "10 epochs/s" over ``settings.speed_index``.

    The slider's last step is also "max"; the button gets there (and back to the pace
    set before) in one click.
    """

    def __init__(self, settings: PlaygroundSettings, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        #: the pace the "max" button goes back to
        self._paced_index = DEFAULT_SPEED_INDEX
        #: what one step of the pace is ("epoch", "iteration", "step")
        self._unit = "epoch"
        self.title = QtWidgets.QLabel("Speed")
        self.title.setToolTip(TIPS["speed"])
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, MAX_INDEX)
        self.slider.setPageStep(1)
        self.slider.setToolTip(TIPS["speed"])
        self.slider.setMinimumWidth(80)
        self.slider.setMaximumWidth(110)
        self.max_button = QtWidgets.QToolButton(text="max")
        self.max_button.setCheckable(True)
        self.max_button.setProperty("role", "tool")
        self.max_button.setToolTip(TIPS["speed_max"])
        self.label = QtWidgets.QLabel()
        self.label.setProperty("role", "hint")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.title)
        row.addWidget(self.slider)
        row.addWidget(self.max_button)
        row.addWidget(self.label)
        self.slider.valueChanged.connect(lambda v: settings.set(speed_index=v))
        self.max_button.clicked.connect(self._on_max_clicked)
        settings.events.speed_index.connect(self._on_speed_index_changed)
        self._on_speed_index_changed(settings.speed_index)

    def _on_max_clicked(self) -> None:
        at_max = self.settings.speed_index == MAX_INDEX
        self.settings.set(speed_index=self._paced_index if at_max else MAX_INDEX)

    def _on_speed_index_changed(self, index: int) -> None:
        if index != MAX_INDEX:
            self._paced_index = index
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(index)
        with QtCore.QSignalBlocker(self.max_button):
            self.max_button.setChecked(index == MAX_INDEX)
        self.label.setText(speed_text(SPEEDS[index], self._unit))
        # as wide as its widest text, so that the row does not jump while the slider moves
        fm = self.label.fontMetrics()
        self.label.setMinimumWidth(max(fm.horizontalAdvance(speed_text(s, self._unit)) for s in SPEEDS) + 4)

    def set_unit(self, unit: str) -> None:
        """Read the pace in ``unit``s per second (an SVM's SMO iterations, k-means' steps)."""
        self._unit = unit
        self._on_speed_index_changed(self.settings.speed_index)

    def changeEvent(self, ev) -> None:  # Qt override
        super().changeEvent(ev)
        if ev.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.StyleChange):
            self._on_speed_index_changed(self.settings.speed_index)
