"""The main window: one tab per view, built from the ``VIEWS`` registry, and the menus."""

from __future__ import annotations

import importlib
import os
import sys

from PySide6 import QtCore, QtGui, QtWidgets

from engine.spec import SpecError
from gui import logs

# name -> (tab title, "module:Class"). Views are QWidgets; they may define
# ``prepare_screenshot()`` (bring the view into a state worth showing, synchronously; a view
# staged by ``gui.screenshots`` needs none) and ``shutdown()`` (stop workers before the
# window closes).
VIEWS: dict[str, tuple[str, str]] = {
    "playground": ("Playground", "gui.playground.view:PlaygroundView"),
    "cluster": ("Cluster", "gui.cluster.view:ClusterView"),
    "vectorize": ("Vectorization", "gui.vectorize.view:VectorizeView"),
}

SPEC_FILTER = "Playground / run spec (*.json);;All files (*)"


def _load_view_class(target: str):
    """The view class named by ``"module:Class"``, or None when that module does not exist (yet).

    Only a missing *view module* is skipped; an import error inside an existing view
    (a bug, a missing dependency) is raised as usual.
    """
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, class_name)


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("ScaleLab")
        self.tabs = QtWidgets.QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.views: dict[str, QtWidgets.QWidget] = {}
        for name, (title, target) in VIEWS.items():
            cls = _load_view_class(target)
            if cls is None:
                continue
            view = cls(self)
            self.views[name] = view
            self.tabs.addTab(view, title)
        self._build_menus()
        playground = self.views.get("playground")
        if playground is not None and hasattr(playground, "run_on_cluster_requested"):
            playground.run_on_cluster_requested.connect(self._on_run_on_cluster)
        cluster = self.views.get("cluster")
        if cluster is not None and hasattr(cluster, "open_model_requested"):
            cluster.open_model_requested.connect(self._on_open_model)

    # ------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = file_menu.addAction("&Open…", self._on_open)
        self.open_action.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        self.open_action.setToolTip("Open a playground file (a run spec: data, network, settings, weights).")
        self.save_action = file_menu.addAction("&Save", self._on_save)
        self.save_action.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        self.save_as_action = file_menu.addAction("Save &As…", self._on_save_as)
        self.save_as_action.setShortcut(QtGui.QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("Export window picture…", self._on_export_picture)
        from gui.playground.export_action import add_export_action

        self.export_run_action = add_export_action(self, file_menu, self.views.get("playground"))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        view_menu = bar.addMenu("&View")
        self.presentation_action = view_menu.addAction("&Presentation mode")
        self.presentation_action.setCheckable(True)
        self.presentation_action.setShortcut(QtGui.QKeySequence("F5"))
        self.presentation_action.setToolTip("Large fonts and thick lines for a projector; finer controls hidden.")
        self.presentation_action.toggled.connect(self.set_presentation)
        help_menu = bar.addMenu("&Help")
        help_menu.setToolTipsVisible(True)
        self.open_log_folder_action = help_menu.addAction("Open &log folder", self._on_open_log_folder)
        self.open_log_folder_action.setToolTip(
            f"Show the folder of ScaleLab's log file ({logs.log_folder()}): attach it when reporting a problem.")
        has_playground = "playground" in self.views
        for a in (self.open_action, self.save_action, self.save_as_action):
            a.setEnabled(has_playground)

    def _on_open_log_folder(self) -> None:
        folder = logs.log_folder()
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            QtWidgets.QMessageBox.warning(self, "Open log folder", f"Cannot create {folder}: {exc.strerror or exc}")
            return
        if not QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(folder)):
            QtWidgets.QMessageBox.information(self, "Open log folder",
                                              f"No file manager could be started. The log folder is:\n{folder}")

    def set_presentation(self, on: bool) -> None:
        for view in self.views.values():
            setter = getattr(view, "set_presentation", None)
            if setter is not None:
                setter(on)
        if self.presentation_action.isChecked() != on:
            self.presentation_action.setChecked(on)

    def _on_open(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open playground", "", SPEC_FILTER)
        if path:
            self.open_spec(path)

    def open_spec(self, path: str, show_errors: bool = True) -> bool:
        """Open a playground file in the Playground.

        A bad file is reported in a message box (or, with ``show_errors`` false, only
        returned through ``last_error``), never raised.
        """
        self.last_error = ""
        try:
            self.views["playground"].open(path)
        except SpecError as exc:
            self.last_error = str(exc)
            if show_errors:
                QtWidgets.QMessageBox.warning(self, "Cannot open file", self.last_error)
            return False
        self.show_view("playground")
        self.setWindowTitle(f"ScaleLab — {path}")
        return True

    def _on_save(self) -> None:
        path = getattr(self.views["playground"], "file_path", None)
        if path:
            self._save_to(path)
        else:
            self._on_save_as()

    def _on_save_as(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save playground", "playground.json", SPEC_FILTER)
        if path:
            self._save_to(path)

    def _save_to(self, path: str) -> None:
        try:
            self.views["playground"].save(path)
        except (OSError, SpecError) as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot save", f"Could not save {path}: {exc}")
            return
        self.setWindowTitle(f"ScaleLab — {path}")

    def _on_export_picture(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export window picture", "scalelab.png",
                                                        "PNG image (*.png)")
        if path and not self.grab().save(path):
            QtWidgets.QMessageBox.warning(self, "Export failed", f"Could not write {path}")

    def _on_open_model(self, path: str) -> None:
        """A fetched ``model.npz`` from the Cluster view: show it in the Playground."""
        playground = self.views.get("playground")
        if playground is None:
            QtWidgets.QMessageBox.information(self, "Open model", "The Playground view is not available.")
            return
        try:
            playground.open_model(path)
        except SpecError as exc:
            QtWidgets.QMessageBox.warning(self, "Open model", f"Cannot open {path}:\n{exc}")
            return
        self.show_view("playground")

    def _on_run_on_cluster(self, spec) -> None:
        cluster = self.views.get("cluster")
        compose = getattr(cluster, "compose_job", None)
        if compose is None:
            QtWidgets.QMessageBox.information(self, "Run on cluster", "The Cluster view is not available.")
            return
        compose(spec)
        self.show_view("cluster")

    # ------------------------------------------------------------------ views
    def show_view(self, name: str) -> QtWidgets.QWidget:
        if name not in self.views:
            raise KeyError(f"unknown view {name!r}; choose one of {', '.join(self.views)}")
        view = self.views[name]
        self.tabs.setCurrentWidget(view)
        return view

    def closeEvent(self, event) -> None:  # Qt override
        for view in self.views.values():
            shutdown = getattr(view, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)


def run_app(args) -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app.setApplicationName("ScaleLab")
    app.setOrganizationName("ScaleLab")
    window = MainWindow()
    try:
        view = window.show_view(args.view)
    except KeyError as exc:
        print(f"scalelab: {exc.args[0]}", file=sys.stderr)
        return 2
    if getattr(args, "spec", None):
        # Offscreen (--screenshot) nobody could close a message box: report on stderr.
        if not window.open_spec(args.spec, show_errors=not args.screenshot):
            if args.screenshot:
                print(f"scalelab: {window.last_error}", file=sys.stderr)
                return 1
    if getattr(args, "presentation", False):
        window.set_presentation(True)
    if args.screenshot:
        try:
            width, height = (int(v) for v in args.size.lower().split("x"))
        except ValueError:
            print(f"scalelab: --size must look like 1600x1000, not {args.size!r}", file=sys.stderr)
            return 2
        window.resize(width, height)
        window.show()
        app.processEvents()
        from gui.screenshots import staging_for

        stage = staging_for(args.view)
        prepare = getattr(view, "prepare_screenshot", None)
        cleanup = None
        if stage is not None:
            cleanup = stage(view)
        elif prepare is not None:
            prepare()
        app.processEvents()
        ok = window.grab().save(args.screenshot)
        window.close()
        if cleanup is not None:
            cleanup()
        return 0 if ok else 1
    window.resize(1500, 950)
    window.show()
    return app.exec()
