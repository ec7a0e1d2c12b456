"""File > Export: the Playground's run as a Keras script or a Jupyter notebook.

The action asks for a file name (the filter chooses the kind: ``.py`` or ``.ipynb``),
writes it with its data beside it (and, for a script, the trained weights it may start
from) through :func:`engine.export.export_run`, and says in the status bar what it wrote.
The data are the ones the Playground trains on, painted points and split included.
"""

from __future__ import annotations

import os

from PySide6 import QtGui, QtWidgets

from engine.export import export_run
from engine.export_keras import prepare_export
from engine.spec import SpecError

KERAS_FILTER = "Keras script (*.py)"
NOTEBOOK_FILTER = "Jupyter notebook (*.ipynb)"


def export_playground(playground, path: str) -> list[str]:
    """Write the Playground's current run to ``path`` (``.py`` or ``.ipynb``); returns the paths written.

    Raises
    ------
    SpecError
        The run cannot be exported (no data, a file cannot be written, ...).
    """
    spec = playground.current_spec()
    dataset = playground.session.dataset
    run = prepare_export(spec.with_(meta=None), dataset=dataset)
    if path.endswith(".ipynb"):
        return export_run(run, notebook_path=path)
    return export_run(run, keras_path=path)


def _chosen_path(path: str, chosen_filter: str) -> str:
    """The name with the extension of the chosen kind (a name typed without one gets it)."""
    if path.endswith((".py", ".ipynb")):
        return path
    return path + (".ipynb" if chosen_filter == NOTEBOOK_FILTER else ".py")


def add_export_action(window: QtWidgets.QMainWindow, menu: QtWidgets.QMenu, playground) -> QtGui.QAction:
    """Add "Export as Keras script or notebook…" to ``menu``; results go to ``window``'s status bar."""

    def on_export() -> None:
        path, chosen = QtWidgets.QFileDialog.getSaveFileName(
            window, "Export as Keras script or notebook", "scalelab_run.py", f"{KERAS_FILTER};;{NOTEBOOK_FILTER}")
        if not path:
            return
        path = _chosen_path(path, chosen)
        bar = window.statusBar()
        # The dialog asked about the file itself; its data and weights files are replaced with it.
        try:
            written = export_playground(playground, path)
        except (SpecError, OSError) as exc:
            bar.showMessage(f"Export failed: {exc}")
            QtWidgets.QMessageBox.warning(window, "Export failed", str(exc))
            return
        names = ", ".join(os.path.basename(p) for p in written)
        bar.showMessage(f"Exported to {os.path.dirname(path) or '.'}: {names}")

    action = menu.addAction("Export as Keras script or notebook…", on_export)
    action.setToolTip("Write this run as a stand-alone Keras script or a Jupyter notebook, with its data beside it.")
    action.setEnabled(playground is not None)
    return action


__all__ = ["add_export_action", "export_playground"]
