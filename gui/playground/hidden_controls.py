"""Controls a setup hides for an exercise, as TF Playground's "hide" options do.

The names are saved in ``meta.playground.hide`` (and carried by a ``scalelab:`` link);
:class:`HiddenControls` maps each name to the widgets of the top bar and the data panel
and shows or hides them, leaving alone what the presentation mode and the model kind
decide for the controls it does not hide.
"""

from __future__ import annotations

from PySide6 import QtWidgets

#: the controls a setup can hide for an exercise: name -> title
HIDEABLE_CONTROLS = {
    "problem": "Problem type", "model": "Model", "learning_rate": "Learning rate", "activation": "Activation",
    "regularization": "Regularization and its rate", "data": "Data presets and Regenerate",
    "ratio": "Train/test ratio", "noise": "Noise", "points": "Number of points", "paint": "Paint tools",
    "cluster": "Run on cluster",
}


def names_from_meta(meta: dict) -> tuple[list[str], list[str]]:
    """The known control names of ``meta["hide"]`` and one line per problem found in it."""
    hide = meta.get("hide", [])
    problems = []
    if not isinstance(hide, list) or not all(isinstance(n, str) for n in hide):
        problems.append(f"meta.playground.hide: expected a list of control names, got {hide!r}")
        hide = []
    unknown = sorted(set(hide) - set(HIDEABLE_CONTROLS))
    if unknown:
        problems.append(f"meta.playground.hide: unknown controls {', '.join(unknown)} stay shown "
                        f"(known: {', '.join(HIDEABLE_CONTROLS)})")
    return [n for n in hide if n in HIDEABLE_CONTROLS], problems


class HiddenControls:
    """Which controls are hidden, and the widgets each name stands for."""

    def __init__(self, settings_bar, dataset_panel):
        self.settings_bar = settings_bar
        self.dataset_panel = dataset_panel
        #: names of ``HIDEABLE_CONTROLS`` hidden now
        self.names: frozenset[str] = frozenset()
        self._previously_hidden: set[str] = set()

    def set(self, names) -> None:
        """Hide the controls ``names`` and show the others hidden before."""
        unknown = set(names) - set(HIDEABLE_CONTROLS)
        if unknown:
            raise ValueError(f"unknown controls {sorted(unknown)}; choose from {', '.join(HIDEABLE_CONTROLS)}")
        self.names = frozenset(names)
        self.apply()

    def widgets(self) -> dict[str, list[QtWidgets.QWidget]]:
        bar, data = self.settings_bar, self.dataset_panel

        def titled(w: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
            return [w.parentWidget()]  # the box with the control's title above it

        return {
            "problem": titled(bar.problem_combo), "model": titled(bar.model_combo),
            "learning_rate": titled(bar.lr_combo), "activation": titled(bar.activation_combo),
            "regularization": titled(bar.reg_combo) + titled(bar.reg_rate_combo),
            "data": [data.preset_box, data.regenerate_button],
            "ratio": [data.ratio_label, data.ratio_slider], "noise": [data.noise_label, data.noise_slider],
            "points": [data.points_label, data.points_slider], "paint": [data.paint],
            "cluster": [bar.cluster_button],
        }

    def apply(self) -> None:
        """Hide the hidden ones again (after a mode switch showed its own controls)."""
        for name, widgets in self.widgets().items():
            if name in self.names:
                for w in widgets:
                    w.setVisible(False)
            elif name in self._previously_hidden:
                for w in widgets:
                    w.setVisible(True)
        # (a control hidden before and shown now is shown again; the others keep what the
        # presentation mode and the model kind decided)
        self._previously_hidden = set(self.names)
