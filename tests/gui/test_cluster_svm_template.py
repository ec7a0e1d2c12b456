"""The course's parallel SVM job as a built-in template of the Cluster view's job form."""

from __future__ import annotations

import sys

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from gui.cluster.script_preview import explain_line
from gui.cluster.templates import list_templates
from gui.cluster.view import ClusterView
from remote.slurm import DIRECTIVE_HELP
from remote.store import JobStore

NAME = "Parallel SVM (piSVM-style): 2 nodes x 24 ranks"


def test_pisvm_template_fills_form_spec_and_explained_script(qtbot, tmp_path, monkeypatch):
    config = tmp_path / "config" / "profiles.toml"
    config.parent.mkdir()
    config.write_text(f'[profiles.local]\nworkdir = "{tmp_path / "jobs"}"\npython = "{sys.executable}"\n'
                      '\n[profiles.hpc]\nhost = "127.0.0.1"\nport = 9\nuser = "u"\n')
    monkeypatch.setenv("SCALELAB_CONFIG", str(config))
    monkeypatch.setenv("SCALELAB_DATA_DIR", str(tmp_path / "data"))
    template = next(t for t in list_templates() if t.name == NAME)
    assert template.builtin and template.spec_path.endswith("pisvm-indian-pines.json")

    store = JobStore(str(tmp_path / "jobs.sqlite"))
    view = ClusterView(config_path=str(config), store=store)
    qtbot.addWidget(view)
    try:
        view.resize(1400, 900)
        view.show()
        qtbot.waitExposed(view)
        view.select_profile("hpc")
        # The user opens "Start from template…" and clicks the SVM job in its list.
        combo = view.compose.template_combo
        index = next(i for i in range(combo.count()) if combo.itemText(i) == NAME)
        QTest.mouseClick(combo, QtCore.Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: combo.view().isVisible(), timeout=5000)
        popup = combo.view()
        popup.scrollTo(popup.model().index(index, 0))
        item_rect = popup.visualRect(popup.model().index(index, 0))
        # A release right after the popup opened is taken as the end of the opening click.
        qtbot.wait(QtWidgets.QApplication.doubleClickInterval() + 100)
        QTest.mouseClick(popup.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=item_rect.center())
        qtbot.waitUntil(lambda: view.spec is not None, timeout=5000)
        assert combo.currentIndex() == 0  # the combo goes back to its prompt
        values = view.form.values()
        assert (values["nodes"], values["ntasks"], values["ntasks_per_node"]) == (2, 48, 24)
        assert values["reservation"] == "pisvm" and values["job_name"] == "pisvm-indian-pines"
        m = view.spec.model
        assert (m.kind, m.kernel, m.C, m.gamma) == ("svm", "rbf", 100.0, 8.0)
        assert view.spec.dataset.kind == "libsvm" and view.spec.dataset.path == "~/indian_pines.svm"
        assert view.compose.spec_label.text() == ("Spec (pisvm-indian-pines.json): libsvm indian_pines.svm data, "
                                          "SVM rbf kernel, C 100, gamma 8, one-vs-one")
        script = view.script_text()
        lines = script.splitlines()
        for directive in ("#SBATCH --nodes=2", "#SBATCH --ntasks=48", "#SBATCH --ntasks-per-node=24",
                          "#SBATCH --reservation=pisvm"):
            line = next(ln for ln in lines if ln.startswith(directive))
            key = directive.split()[1].split("=")[0]
            assert explain_line(line, DIRECTIVE_HELP).startswith(directive.split()[1] + ": ")
            assert DIRECTIVE_HELP[key] in explain_line(line, DIRECTIVE_HELP)
        assert any("srun" in ln and "-m engine train" in ln for ln in lines)
    finally:
        view.shutdown()
        store.close()
