"""Job templates: a job form's values saved under a name, to start the next job from.

Built-in templates ship in ``resources/templates/jobform-*.json``; the user's own live in
``<config dir>/templates/NAME.json`` (``platformdirs.user_config_dir("scalelab")``, or the
folder of ``SCALELAB_CONFIG`` when that is set, so tests and classrooms keep their own).
A template file is one JSON object: ``{"name": ..., "description": ..., "values": {...}}``
where ``values`` holds job-form fields (``nodes``, ``ntasks``, ``time``, ...), and optionally
``"runs": "script"``: the job runs a Python script the user picks (an exported Keras script)
instead of ScaleLab's trainer; or ``"spec": "PATH.json"``, a run spec (relative to the
template's folder) that starting from the template opens too: a template can then be a
whole course job (the parallel SVM one brings its SVM settings and data file).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import platformdirs

from engine.fileio import atomic_write
from gui.cluster.job_form import FIELD_NAMES
from resources import templates_dir

BUILTIN_DIR = templates_dir()
#: What a template's job runs: ScaleLab's trainer on a spec, or a Python script.
RUNS = ("engine", "script")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.+-]{0,63}$")


class TemplateError(ValueError):
    """A template name or file is unusable (the message says why)."""


@dataclass(frozen=True)
class JobTemplate:
    name: str
    values: dict = field(default_factory=dict)
    description: str = ""
    path: str = ""
    builtin: bool = False
    runs: str = "engine"
    spec_path: str = ""


def user_template_dir() -> str:
    env = os.environ.get("SCALELAB_CONFIG")
    base = os.path.dirname(os.path.expanduser(env)) if env else platformdirs.user_config_dir("scalelab")
    return os.path.join(base, "templates")


def _clean_values(values: dict, where: str) -> dict:
    if not isinstance(values, dict):
        raise TemplateError(f"{where}: 'values' must be an object")
    out = {}
    for key, value in values.items():
        if key not in FIELD_NAMES:
            raise TemplateError(f"{where}: unknown form field {key!r}")
        if value is not None and not isinstance(value, (str, int)) or isinstance(value, bool):
            raise TemplateError(f"{where}: {key} must be text or a whole number, got {value!r}")
        out[key] = value
    return out


def read_template(path: str, builtin: bool = False) -> JobTemplate:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise TemplateError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise TemplateError(f"{path}: expected an object with a 'name'")
    runs = data.get("runs", "engine")
    if runs not in RUNS:
        raise TemplateError(f"{path}: 'runs' must be one of {', '.join(RUNS)}, got {runs!r}")
    spec = data.get("spec", "")
    if not isinstance(spec, str) or (spec and not spec.endswith(".json")):
        raise TemplateError(f"{path}: 'spec' must name a run spec .json file, got {spec!r}")
    spec_path = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), spec)) if spec else ""
    return JobTemplate(name=data["name"], values=_clean_values(data.get("values", {}), path),
                       description=str(data.get("description", "")), path=path, builtin=builtin, runs=runs,
                       spec_path=spec_path)


def list_templates(errors: list[str] | None = None) -> list[JobTemplate]:
    """Built-in templates, then the user's, each sorted by name; unreadable files go to ``errors``."""
    out: list[JobTemplate] = []
    for folder, builtin, pattern in ((BUILTIN_DIR, True, "jobform-"), (user_template_dir(), False, "")):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        found = []
        for name in names:
            if not name.endswith(".json") or not name.startswith(pattern):
                continue
            try:
                found.append(read_template(os.path.join(folder, name), builtin))
            except TemplateError as exc:
                if errors is not None:
                    errors.append(str(exc))
        out.extend(sorted(found, key=lambda t: t.name.lower()))
    return out


def save_template(name: str, values: dict, description: str = "") -> JobTemplate:
    """Save ``values`` as the user's template ``name`` (replacing one of that name)."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise TemplateError("a template name uses letters, digits, spaces and . _ + - (at most 64)")
    values = _clean_values(values, name)
    folder = user_template_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, re.sub(r"[^A-Za-z0-9_.+-]", "_", name) + ".json")
    atomic_write(path, json.dumps({"name": name, "description": description, "values": values}, indent=2) + "\n")
    return JobTemplate(name=name, values=values, description=description, path=path)


def delete_template(template: JobTemplate) -> None:
    if template.builtin:
        raise TemplateError(f"{template.name!r} ships with ScaleLab and cannot be deleted")
    try:
        os.unlink(template.path)
    except FileNotFoundError:
        pass
