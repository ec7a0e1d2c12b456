"""The main window: one tab per view, built from the ``VIEWS`` registry."""

from __future__ import annotations

import importlib

from PySide6 import QtCore, QtWidgets

# name -> (tab title, "module:Class"). Views are QWidgets; they may define
# ``prepare_screenshot()`` (bring the view into a state worth showing, synchronously)
# and ``shutdown()`` (stop workers before the window closes).
VIEWS: dict[str, tuple[str, str]] = {
    "playground": ("Playground", "gui.playground.view:PlaygroundView"),
    "cluster": ("Cluster", "gui.cluster.view:ClusterView"),
}


def _load_view_class(target: str):
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("ScaleLab")
        self.tabs = QtWidgets.QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.views: dict[str, QtWidgets.QWidget] = {}
        for name, (title, target) in VIEWS.items():
            view = _load_view_class(target)(self)
            self.views[name] = view
            self.tabs.addTab(view, title)

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
        print(f"scalelab: {exc.args[0]}", file=__import__("sys").stderr)
        return 2
    if args.screenshot:
        width, height = (int(v) for v in args.size.lower().split("x"))
        window.resize(width, height)
        window.show()
        prepare = getattr(view, "prepare_screenshot", None)
        if prepare is not None:
            prepare()
        app.processEvents()
        ok = window.grab().save(args.screenshot)
        window.close()
        return 0 if ok else 1
    window.resize(1500, 950)
    window.show()
    return app.exec()
