"""Architecture rules: gui -> remote -> engine, no Qt below gui, engine = NumPy + stdlib.

The import-linter contracts live in pyproject.toml; this test runs them. The AST check
makes the engine rule exact: every module-level import in ``engine/`` is the standard
library, NumPy or ``engine`` itself (mpi4py, scikit-learn and PyTorch only inside
functions), because ``engine/`` is copied as source to clusters that may have nothing else.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys

from tests.conftest import ROOT, require

ALLOWED_THIRD_PARTY = {"numpy"}


def test_import_linter_contracts_are_kept():
    require(importlib.util.find_spec("importlinter") is not None, "needs import-linter (pip install import-linter)")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout
    # The command line is a user interface of remote/, not a library: what the GUI shares with
    # it (doctor, partitions, follow, fetch, output tail) lives in remote's other modules.
    assert "gui never imports remote.cli KEPT" in proc.stdout


def test_a_gui_module_importing_the_runner_breaks_a_contract(tmp_path):
    # The contracts of pyproject.toml, run on a copy of the packages with one view that
    # imports the command-line runner: lint-imports must fail and name that import.
    require(importlib.util.find_spec("importlinter") is not None, "needs import-linter (pip install import-linter)")
    import shutil

    for package in ("engine", "remote", "gui"):
        shutil.copytree(os.path.join(ROOT, package), tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    (tmp_path / "gui" / "uses_runner.py").write_text("from engine.runner import main\n")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=str(tmp_path)))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "gui and remote never import the command-line runner BROKEN" in proc.stdout
    assert "gui.uses_runner -> engine.runner" in proc.stdout
    assert "1 broken" in proc.stdout


def _module_level_imports(tree: ast.Module):
    """Imports executed when the module is imported: not inside a def/lambda."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.lineno, node.module
        else:
            stack.extend(ast.iter_child_nodes(node))


def test_engine_imports_only_numpy_and_the_standard_library_at_module_level():
    engine_dir = os.path.join(ROOT, "engine")
    stdlib = set(sys.stdlib_module_names)
    bad = []
    files = [f for f in sorted(os.listdir(engine_dir)) if f.endswith(".py")]
    assert "trainer.py" in files and "model.py" in files
    for name in files:
        path = os.path.join(engine_dir, name)
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
        for lineno, module in _module_level_imports(tree):
            top = module.split(".")[0]
            if top in stdlib or top in ALLOWED_THIRD_PARTY or top == "engine":
                continue
            bad.append(f"engine/{name}:{lineno} imports {module}")
    assert not bad, "\n".join(bad)


def test_importing_the_engine_loads_no_qt_and_no_mpi():
    code = ("import sys, engine.trainer, engine.model_io, engine.runner, engine.grid, engine.bench; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'superqt', 'mpi4py', 'paramiko', 'sklearn', 'torch')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_ast_check_sees_module_level_imports_only():
    tree = ast.parse("import numpy\nfrom os import path\ntry:\n    import scipy\nexcept ImportError:\n    pass\n"
                     "def f():\n    import torch\nclass A:\n    import yaml\n")
    found = {m for _, m in _module_level_imports(tree)}
    assert found == {"numpy", "os", "scipy", "yaml"}
