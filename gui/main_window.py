"""The main window: one tab per view, built from the ``VIEWS`` registry, and the menus."""

from __future__ import annotations

import importlib
import logging
import os
import sys

from PySide6 import QtCore, QtGui, QtWidgets

from engine.spec import SpecError, save_spec
from gui import app_settings, freeze_startup_objects, logs
from gui.playground.links import is_link, link_to_spec, spec_to_link

# name -> (tab title, "module:Class"). Views are QWidgets; they may define
# ``prepare_screenshot()`` (bring the view into a state worth showing, synchronously; a view
# staged by ``gui.screenshots`` needs none) and ``shutdown()`` (stop workers before the
# window closes).
VIEWS: dict[str, tuple[str, str]] = {
    "playground": ("Playground", "gui.playground.view:PlaygroundView"),
    "cluster": ("Cluster", "gui.cluster.view:ClusterView"),
    "scaling": ("Scaling", "gui.scaling.view:ScalingView"),
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
    """The window with one tab per view and the menus.

    ``app_session`` is True in the running app (set by :func:`run_app`): closing then asks
    about unsaved changes and remembers the setup and the tab for the next start. A bare
    window (tests, embedding) does neither.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.app_session = False
        self.last_error = ""
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
        if playground is not None and "scaling" in self.views:
            self.views["scaling"].spec_provider = playground.current_spec
        cluster = self.views.get("cluster")
        if cluster is not None and hasattr(cluster, "open_model_requested"):
            cluster.open_model_requested.connect(self._on_open_model)

    # ------------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.setToolTipsVisible(True)
        self.open_action = file_menu.addAction("&Open…", self._on_open)
        self.open_action.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        self.open_action.setToolTip("Open a playground file (a run spec: data, network, settings, weights).")
        self.save_action = file_menu.addAction("&Save", self._on_save)
        self.save_action.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        self.save_as_action = file_menu.addAction("Save &As…", self._on_save_as)
        self.save_as_action.setShortcut(QtGui.QKeySequence.StandardKey.SaveAs)
        file_menu.addSeparator()
        self.copy_link_action = file_menu.addAction("Copy &link", self.copy_link)
        self.copy_link_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+C"))
        self.copy_link_action.setToolTip("Copy the setup (data, network, settings, hidden controls) as one short "
                                         "line starting with 'scalelab:', to paste into a chat or a slide.")
        self.open_link_action = file_menu.addAction("Open lin&k…", self._on_open_link)
        self.open_link_action.setToolTip("Open a setup from a 'scalelab:' link.")
        self.hide_controls_action = file_menu.addAction("&Hide controls for an exercise…", self._on_hide_controls)
        self.hide_controls_action.setToolTip("Choose controls that the saved file and the link hide, so that an "
                                             "exercise asks only what it is about.")
        self.reopen_last_action = file_menu.addAction("Reopen the last setup at start")
        self.reopen_last_action.setCheckable(True)
        self.reopen_last_action.setChecked(app_settings.reopen_last())
        self.reopen_last_action.setToolTip("When ScaleLab starts, show the Playground as it was when it was closed.")
        self.reopen_last_action.toggled.connect(app_settings.set_reopen_last)
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
        for a in (self.open_action, self.save_action, self.save_as_action, self.copy_link_action,
                  self.open_link_action, self.hide_controls_action, self.reopen_last_action):
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
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open playground", app_settings.last_folder(),
                                                        SPEC_FILTER)
        if path:
            app_settings.remember_folder(path)
            self.open_spec(path)

    def open_target(self, target: str, show_errors: bool = True) -> bool:
        """Open a ``scalelab:`` link or a playground file (the command line's argument)."""
        if is_link(target):
            return self.open_link(target, show_errors)
        return self.open_spec(target, show_errors)

    def open_link(self, text: str, show_errors: bool = True) -> bool:
        """Open the setup of a ``scalelab:`` link in the Playground (a bad link: one clear message)."""
        self.last_error = ""
        try:
            spec = link_to_spec(text)
            from gui.playground.settings import check_playground_model

            check_playground_model(spec, "the link")
            playground = self.views["playground"]
            playground.load_run_spec(spec)
        except SpecError as exc:
            self.last_error = str(exc)
            if show_errors:
                QtWidgets.QMessageBox.warning(self, "Cannot open link", self.last_error)
            return False
        playground.file_path = None
        self.show_view("playground")
        self.setWindowTitle("ScaleLab — opened from a link")
        return True

    def _on_open_link(self) -> None:
        clip = QtGui.QGuiApplication.clipboard().text()
        text, ok = QtWidgets.QInputDialog.getMultiLineText(
            self, "Open link", "Paste a ScaleLab link (it starts with 'scalelab:'):", clip if is_link(clip) else "")
        if ok and text.strip():
            self.open_link(text)

    def copy_link(self) -> str:
        """Put the Playground's setup on the clipboard as a ``scalelab:`` link; returns the link."""
        try:
            link = spec_to_link(self.views["playground"].current_spec())
        except SpecError as exc:
            QtWidgets.QMessageBox.warning(self, "Copy link", f"The setup cannot be written as a link: {exc}")
            return ""
        QtGui.QGuiApplication.clipboard().setText(link)
        self.statusBar().showMessage(f"Link copied ({len(link):,} characters): paste it into a chat or a slide; "
                                     "File > Open link opens it.", 8000)
        return link

    def _on_hide_controls(self) -> None:
        from gui.playground.hidden_controls import HIDEABLE_CONTROLS

        playground = self.views["playground"]
        dialog = QtWidgets.QDialog(self)
        dialog.setWindowTitle("Hide controls for an exercise")
        lay = QtWidgets.QVBoxLayout(dialog)
        intro = QtWidgets.QLabel("Ticked controls are hidden in this window, in the saved file and in the link "
                                 "(File > Copy link), so that students change only what the exercise is about.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        boxes = {}
        for name, title in HIDEABLE_CONTROLS.items():
            box = QtWidgets.QCheckBox(title)
            box.setChecked(name in playground.hidden_controls)
            boxes[name] = box
            lay.addWidget(box)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        lay.addWidget(buttons)
        self.hide_dialog = dialog
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            playground.set_hidden_controls([n for n, b in boxes.items() if b.isChecked()])

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

    def _on_save(self) -> bool:
        path = getattr(self.views["playground"], "file_path", None)
        if path:
            return self._save_to(path)
        return self._on_save_as()

    def _on_save_as(self) -> bool:
        current = getattr(self.views["playground"], "file_path", None)
        name = os.path.basename(current) if current else "playground.json"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save playground",
                                                        os.path.join(app_settings.last_folder(), name), SPEC_FILTER)
        if not path:
            return False
        app_settings.remember_folder(path)
        return self._save_to(path)

    def _save_to(self, path: str) -> bool:
        try:
            self.views["playground"].save(path)
        except (OSError, SpecError) as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot save", f"Could not save {path}: {exc}")
            return False
        self.setWindowTitle(f"ScaleLab — {path}")
        return True

    def _on_export_picture(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export window picture", os.path.join(app_settings.last_folder(), "scalelab.png"),
            "PNG image (*.png)")
        if path:
            app_settings.remember_folder(path)
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

    def current_view_name(self) -> str:
        widget = self.tabs.currentWidget()
        return next((name for name, view in self.views.items() if view is widget), "playground")

    def ask_about_unsaved_changes(self) -> bool:
        """Save, discard or cancel when the Playground has unsaved changes; False to stay open."""
        playground = self.views.get("playground")
        if playground is None or not playground.has_unsaved_changes():
            return True
        where = playground.file_path or "the setup (never saved)"
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Question, "Unsaved changes",
                                    f"The Playground has changes that are not saved in {where}.",
                                    QtWidgets.QMessageBox.StandardButton.Save
                                    | QtWidgets.QMessageBox.StandardButton.Discard
                                    | QtWidgets.QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Save them before closing? Discarded changes are gone; the next start shows the "
                               "setup as it was last opened or saved.")
        box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.Save)
        self.unsaved_box = box
        answer = box.exec()
        self.unsaved_box = None
        if answer == QtWidgets.QMessageBox.StandardButton.Save:
            return self._on_save()
        return answer == QtWidgets.QMessageBox.StandardButton.Discard

    def remember_session(self) -> None:
        """Keep the tab, and the Playground's setup as last opened or saved, for the next start."""
        store = app_settings.settings()
        store.setValue(app_settings.LAST_VIEW_KEY, self.current_view_name())
        playground = self.views.get("playground")
        if playground is None:
            return
        path = app_settings.last_setup_path()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            save_spec(playground.saved_spec(), path)
        except (OSError, SpecError) as exc:
            logging.getLogger(__name__).warning("could not keep the last setup in %s: %s", path, exc)
            return
        store.setValue(app_settings.LAST_PATH_KEY, playground.file_path or "")

    def reopen_last_setup(self) -> bool:
        """Show the setup the app was closed with (when that setting is on and it exists)."""
        path = app_settings.last_setup_path()
        if "playground" not in self.views or not app_settings.reopen_last() or not os.path.isfile(path):
            return False
        playground = self.views["playground"]
        try:
            playground.open(path)
        except SpecError as exc:
            self.statusBar().showMessage(f"The last setup could not be reopened: {exc}", 15000)
            return False
        source = app_settings.settings().value(app_settings.LAST_PATH_KEY, "", str)
        playground.file_path = source or None
        if source:
            self.setWindowTitle(f"ScaleLab — {source}")
        return True

    def closeEvent(self, event) -> None:  # Qt override
        if self.app_session:
            if not self.ask_about_unsaved_changes():
                event.ignore()
                return
            self.remember_session()
        for view in self.views.values():
            shutdown = getattr(view, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)


def first_view_name(window: MainWindow, asked: str | None, screenshot: bool) -> str:
    """The tab to show at start: the one asked for, else the one the app was closed on.

    A screenshot shows the Playground unless another view is asked for (pictures must not
    depend on how the app was last used).
    """
    if asked is not None:
        return asked
    saved = "" if screenshot else app_settings.settings().value(app_settings.LAST_VIEW_KEY, "", str)
    return saved if saved in window.views else "playground"


def run_app(args) -> int:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app.setApplicationName("ScaleLab")
    app.setOrganizationName("ScaleLab")
    window = MainWindow()
    view_name = first_view_name(window, args.view, bool(args.screenshot))
    try:
        view = window.show_view(view_name)
    except KeyError as exc:
        print(f"scalelab: {exc.args[0]}", file=sys.stderr)
        return 2
    if getattr(args, "spec", None):
        # Offscreen (--screenshot) nobody could close a message box: report on stderr.
        if not window.open_target(args.spec, show_errors=not args.screenshot):
            if args.screenshot:
                print(f"scalelab: {window.last_error}", file=sys.stderr)
                return 1
        if args.view:
            window.show_view(args.view)
    elif not args.screenshot:
        window.reopen_last_setup()
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
        # a mode set before the first show laid out with the sizes cached while hidden
        window.resize(width, height)
        app.processEvents()
        from gui.screenshots import staging_for

        stage = staging_for(getattr(args, "stage", None) or view_name)
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
    window.app_session = True
    window.resize(1500, 950)
    window.show()
    app.processEvents()
    freeze_startup_objects()
    return app.exec()
