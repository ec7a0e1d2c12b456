"""What ScaleLab remembers between runs: QSettings, the last folder, the last setup and tab.

Everything lives in the user's configuration folder (``SCALELAB_CONFIG_DIR`` when set: the
tests point it at their scratch folder, so they never touch a user's settings).
"""

from __future__ import annotations

import os

from PySide6 import QtCore

#: reopen the last Playground setup at start (on by default)
REOPEN_LAST_KEY = "playground/reopen_last"
#: the file the last setup came from (None when it was never saved)
LAST_PATH_KEY = "playground/last_path"
LAST_FOLDER_KEY = "files/last_folder"
LAST_VIEW_KEY = "window/view"
LAST_SETUP_FILE = "last-playground.json"


def config_dir() -> str:
    """The folder of ScaleLab's settings file and last setup."""
    folder = os.environ.get("SCALELAB_CONFIG_DIR")
    if folder:
        return folder
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.GenericConfigLocation)
    return os.path.join(base or os.path.expanduser("~"), "ScaleLab")


def settings() -> QtCore.QSettings:
    """ScaleLab's settings (an INI file in :func:`config_dir`)."""
    return QtCore.QSettings(os.path.join(config_dir(), "scalelab.ini"), QtCore.QSettings.Format.IniFormat)


def documents_folder() -> str:
    """The user's documents folder (the home folder where there is none)."""
    docs = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.StandardLocation.DocumentsLocation)
    return docs if docs and os.path.isdir(docs) else os.path.expanduser("~")


def last_folder() -> str:
    """Where the file dialogs start: the folder last used, else the documents folder."""
    folder = settings().value(LAST_FOLDER_KEY, "", str)
    return folder if folder and os.path.isdir(folder) else documents_folder()


def remember_folder(path: str) -> None:
    """Start the next file dialog in the folder of ``path``."""
    settings().setValue(LAST_FOLDER_KEY, os.path.dirname(os.path.abspath(path)))


def reopen_last() -> bool:
    return settings().value(REOPEN_LAST_KEY, True, bool)


def set_reopen_last(on: bool) -> None:
    settings().setValue(REOPEN_LAST_KEY, bool(on))


def last_setup_path() -> str:
    return os.path.join(config_dir(), LAST_SETUP_FILE)
