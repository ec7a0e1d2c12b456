"""Files ScaleLab ships with: job-form templates, example specs and sample data.

They are package data, so a wheel or ``pip install .`` carries them as well as a checkout
does; code finds them through :func:`resource_path`, never through paths computed from
``__file__`` of another module.

- ``templates/jobform-*.json``: the job form's built-in templates
- ``specs/*.json``: example run specs (their data paths point into ``data/``)
- ``data/``: small sample data sets (CSV, LIBSVM, NPZ)
"""

from __future__ import annotations

from importlib import resources as _resources


def resource_path(*parts: str) -> str:
    """The file-system path of a shipped file or folder, e.g. ``resource_path("specs", "iris.json")``.

    ScaleLab is installed unpacked (a wheel always is), so this is a real path that
    ``open`` and ``os.listdir`` accept.
    """
    return str(_resources.files(__name__).joinpath(*parts))


def templates_dir() -> str:
    """The folder of the job form's built-in templates."""
    return resource_path("templates")


def example_specs() -> list[str]:
    """Paths of the example run specs, sorted by name."""
    folder = _resources.files(__name__).joinpath("specs")
    return sorted(str(entry) for entry in folder.iterdir() if entry.name.endswith(".json"))


__all__ = ["example_specs", "resource_path", "templates_dir"]
