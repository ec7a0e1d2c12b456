"""The job bundle: what goes into a job folder before ``sbatch`` runs it.

A job folder (mode 0700) holds a copy of the ``engine/`` source (``.py`` files only, so the
cluster's own Python runs exactly this version), ``spec.json`` (with the data path pointing at
the uploaded copy when the data is a local file), that data file under ``data/``, and
``job.sh``.

A script job (:func:`build_script_bundle`) runs a user's Python script instead, e.g. a Keras
script exported by ``python -m engine export``: its folder holds the script, the files it
reads from beside it (the exported ``*_data.csv`` and ``*_weights.npz``, or any named
others) and ``job.sh``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, replace
from pathlib import Path

import engine
from engine.spec import FILE_KINDS, RunSpec, load_spec

#: Where the uploaded data file goes inside the job folder.
DATA_FOLDER = "data"
SPEC_NAME = "spec.json"
SCRIPT_NAME = "job.sh"


class BundleError(ValueError):
    """The spec or its data cannot be bundled (message names the file)."""


class DataOutsideSpecFolderError(BundleError):
    """The data file lies outside the spec's folder and was not allowed explicitly.

    ``path`` is the file (symlinks resolved): ask the user, naming it, and pass it in
    ``allow_outside`` to upload it.
    """

    def __init__(self, path: str, folder: str):
        self.path = path
        self.folder = folder
        super().__init__(f"the data file {path} is outside the spec's folder {folder}; it is uploaded only when "
                         f"you name it (submit --data {path})")


#: Folders whose files are never uploaded as data, whatever a spec says.
PRIVATE_FOLDERS = ("~/.ssh", "~/.gnupg", "/proc", "/sys", "/dev")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_data_file(local: str, base_dir: str | None, key_files=(), allow_outside=()) -> str:
    """The real path of a local data file that may be uploaded; raises when it may not.

    Refused: files under :data:`PRIVATE_FOLDERS`, the login key files, anything that is not a
    regular file (symlinks resolved first), and a file outside ``base_dir`` (the spec's
    folder; the working folder when the spec has none) unless its path is in
    ``allow_outside``.

    Raises
    ------
    DataOutsideSpecFolderError
        Outside the spec's folder and not allowed (ask, then pass it in ``allow_outside``).
    BundleError
        Never uploadable.
    """
    given = os.path.abspath(os.path.expanduser(local))
    real = os.path.realpath(given)
    for folder in PRIVATE_FOLDERS:
        for f in {os.path.abspath(os.path.expanduser(folder)), os.path.realpath(os.path.expanduser(folder))}:
            if _inside(given, f) or _inside(real, f):
                raise BundleError(f"the data file {local} is in {folder}, which is never uploaded")
    for key in key_files:
        if key and real == os.path.realpath(os.path.expanduser(key)):
            raise BundleError(f"the data file {local} is the login key {key}, which is never uploaded")
    if not os.path.isfile(real):
        what = "does not lead to a file" if not os.path.exists(real) else "is not a regular file"
        raise BundleError(f"the data file {local} {what}; only regular files are uploaded")
    folder = os.path.realpath(base_dir if base_dir is not None else os.getcwd())
    allowed = {os.path.realpath(os.path.expanduser(a)) for a in allow_outside}
    if not _inside(real, folder) and real not in allowed:
        raise DataOutsideSpecFolderError(real, folder)
    return real


def outside_data_file(spec: RunSpec, key_files=()) -> str | None:
    """The data file ``spec`` would upload from outside its folder (ask before uploading), else ``None``.

    Raises
    ------
    BundleError
        The data file may never be uploaded (see :func:`check_data_file`).
    """
    if spec.dataset.kind not in FILE_KINDS or not spec.dataset.path:
        return None
    local = spec.dataset.resolve_path(spec.base_dir)
    if not local or not os.path.lexists(os.path.expanduser(local)):
        return None
    try:
        check_data_file(local, spec.base_dir, key_files)
    except DataOutsideSpecFolderError as exc:
        return exc.path
    return None


def with_data_path(spec: RunSpec, path: str) -> RunSpec:
    """``spec`` reading its data set from ``path`` (for ``submit --data PATH``)."""
    if spec.dataset.kind not in FILE_KINDS:
        raise BundleError(f"--data {path}: the spec's data set ({spec.dataset.kind}) reads no file")
    return spec.with_(dataset=replace(spec.dataset, path=os.path.abspath(os.path.expanduser(path))))


@dataclass(frozen=True)
class Bundle:
    """Files of a job folder: relative path -> bytes, plus the (rewritten) spec."""

    files: dict[str, bytes]
    spec: RunSpec | None
    data_source: str | None = None

    def mode(self, relpath: str) -> int:
        """File mode to create ``relpath`` with (the script is executable; all private)."""
        return 0o700 if relpath == SCRIPT_NAME else 0o600


def engine_sources() -> dict[str, bytes]:
    """``engine/**/*.py`` as ``{"engine/x.py": bytes}`` (no caches, no data)."""
    root = Path(engine.__file__).resolve().parent
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        out[f"engine/{rel.as_posix()}"] = path.read_bytes()
    return out


def job_folder_name(job_name: str, now_s: float | None = None) -> str:
    """A unique, readable job folder name: ``20260101-120000-NAME-1a2b3c``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now_s))
    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", job_name)[:40] or "job"
    return f"{stamp}-{safe}-{secrets.token_hex(3)}"


def read_spec(spec_path: str | os.PathLike) -> RunSpec:
    """Load and validate the spec file (raises ``engine.spec.SpecError``)."""
    return load_spec(spec_path)


def build_bundle(spec: RunSpec, job_script: str, *, key_files=(), allow_outside=()) -> Bundle:
    """The files of a job folder for ``spec`` and the rendered ``job.sh``.

    A file data set (``csv``, ``libsvm``, ``npz``) found on this computer is copied into
    ``data/`` and the spec's ``dataset.path`` is rewritten to that copy; a path that does not
    exist here is kept as it is (it may name a file on the cluster). What may be uploaded is
    decided by :func:`check_data_file` (``key_files``: the profile's login keys;
    ``allow_outside``: files outside the spec's folder the user agreed to upload).

    Raises
    ------
    DataOutsideSpecFolderError
        The data file is outside the spec's folder and not in ``allow_outside``.
    BundleError
        The data file may never be uploaded, or cannot be read.
    """
    files = dict(engine_sources())
    data_source = None
    if spec.dataset.kind in FILE_KINDS and spec.dataset.path:
        local = spec.dataset.resolve_path(spec.base_dir)
        if local and os.path.lexists(os.path.expanduser(local)):
            local = check_data_file(local, spec.base_dir, key_files, allow_outside)
            try:
                with open(local, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise BundleError(f"cannot read the data file {local}: {exc.strerror or exc}") from None
            rel = f"{DATA_FOLDER}/{os.path.basename(local)}"
            files[rel] = data
            spec = spec.with_(dataset=replace(spec.dataset, path=rel))
            data_source = local
    files[SPEC_NAME] = (json.dumps(spec.to_dict(), indent=2) + "\n").encode("utf-8")
    files[SCRIPT_NAME] = job_script.encode("utf-8")
    return Bundle(files=files, spec=spec, data_source=data_source)


def script_companions(script_path: str | os.PathLike) -> list[str]:
    """The files an exported script reads from beside it that exist: ``X_data.csv``, ``X_weights.npz``."""
    from engine.export_keras import companion_paths

    return [p for p in companion_paths(script_path) if os.path.isfile(p)]


def build_script_bundle(script_path: str | os.PathLike, job_script: str,
                        extra_files: tuple[str | os.PathLike, ...] | None = None) -> Bundle:
    """The files of a job folder that runs the Python script ``script_path``.

    Parameters
    ----------
    script_path : path
        The script on this computer; it lands in the job folder under its own name.
    job_script : str
        The rendered ``job.sh`` (its ``program`` is the script's name).
    extra_files : tuple of paths, optional
        Files the script reads from its own folder, copied beside it; default
        :func:`script_companions` (the data and weights of an exported Keras script).

    Raises
    ------
    BundleError
        The script or a file beside it cannot be read, or two files share a name.
    """
    script_path = os.fspath(script_path)
    if not script_path.endswith(".py"):
        raise BundleError(f"{script_path} is not a Python script (.py)")
    paths = [script_path] + [os.fspath(p) for p in (script_companions(script_path) if extra_files is None
                                                      else extra_files)]
    files: dict[str, bytes] = {}
    for path in paths:
        name = os.path.basename(path)
        if name in files or name == SCRIPT_NAME:
            raise BundleError(f"two files of the job would be called {name}")
        try:
            with open(path, "rb") as fh:
                files[name] = fh.read()
        except OSError as exc:
            raise BundleError(f"cannot read {path}: {exc.strerror or exc}") from None
    files[SCRIPT_NAME] = job_script.encode("utf-8")
    return Bundle(files=files, spec=None, data_source=script_path)


def upload_bundle(backend, job_dir: str, bundle: Bundle) -> None:
    """Create ``job_dir`` (0700) and write every file of ``bundle`` into it."""
    backend.makedirs(job_dir, 0o700)
    made = {""}
    for rel in sorted(bundle.files):
        folder = os.path.dirname(rel)
        if folder not in made:
            parts = folder.split("/")
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in made:
                    backend.makedirs(f"{job_dir}/{sub}", 0o700)
                    made.add(sub)
        backend.write_bytes(f"{job_dir}/{rel}", bundle.files[rel], bundle.mode(rel))


__all__ = ["Bundle", "BundleError", "DATA_FOLDER", "DataOutsideSpecFolderError", "PRIVATE_FOLDERS", "SCRIPT_NAME",
           "SPEC_NAME", "build_bundle", "build_script_bundle", "check_data_file", "engine_sources", "job_folder_name",
           "outside_data_file", "read_spec", "script_companions", "upload_bundle", "with_data_path"]
