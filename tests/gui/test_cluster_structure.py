"""How the GUI code is put together: parts talk through public names, modules stay small.

An object's underscored attributes are its own business: ``self._x`` and ``cls._x`` are
fine, ``other._x`` (reaching into a child, a sibling or a library) is not. Dunder names
(``__init__``, ``__class__``) are public protocol and allowed. The check reads the source
with ``ast``, so it also sees code no test happens to run.
"""

from __future__ import annotations

import ast
import os

from tests.conftest import ROOT

GUI = os.path.join(ROOT, "gui")
GUI_TESTS = os.path.join(ROOT, "tests", "gui")
CLUSTER_TESTS = [os.path.join(GUI_TESTS, name) for name in sorted(os.listdir(GUI_TESTS))
                 if name.startswith("test_cluster_") and name.endswith(".py")]
#: The most lines one module of gui/cluster/ may have: one thing per module.
MAX_CLUSTER_MODULE_LINES = 450


def private_accesses(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """``(line, expression)`` of every ``x._name`` where ``x`` is not ``self`` or ``cls``.

    Dunder names are allowed. ``super()._name`` counts as the object's own (it is ``self``).
    """
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__") and node.attr.endswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            continue
        found.append((node.lineno, ast.unparse(node)))
    return found


def python_files(folder: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        out += [os.path.join(dirpath, f) for f in filenames if f.endswith(".py")]
    return sorted(out)


def offenders(paths: list[str]) -> list[str]:
    bad = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            source = fh.read()
        bad += [f"{os.path.relpath(path, ROOT)}:{line}: {expr}" for line, expr in private_accesses(source, path)]
    return bad


def test_the_check_tells_own_names_from_others():
    source = ("class A(B):\n"
              "    def f(self, other):\n"
              "        self._mine = other._theirs\n"
              "        super()._setup()\n"
              "        return type(self).__name__, self.preview._setting, cls._registry\n")
    assert private_accesses(source) == [(3, "other._theirs"), (5, "self.preview._setting")]


def test_gui_code_touches_no_other_objects_private_names():
    files = python_files(GUI)
    assert any(path.endswith(os.path.join("cluster", "view.py")) for path in files)
    bad = offenders(files)
    assert not bad, "reaching into another object's private names:\n" + "\n".join(bad)


def test_cluster_gui_tests_use_public_api_only():
    assert CLUSTER_TESTS
    bad = offenders(CLUSTER_TESTS)
    assert not bad, "tests reaching into private names:\n" + "\n".join(bad)


def test_cluster_modules_stay_small():
    sizes = {}
    for path in python_files(os.path.join(GUI, "cluster")):
        with open(path, encoding="utf-8") as fh:
            sizes[os.path.relpath(path, ROOT)] = sum(1 for _ in fh)
    assert "gui/cluster/view.py" in sizes
    big = {name: n for name, n in sizes.items() if n > MAX_CLUSTER_MODULE_LINES}
    assert not big, f"modules over {MAX_CLUSTER_MODULE_LINES} lines: {big}"
