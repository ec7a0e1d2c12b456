"""Until the Playground draws SVMs, an SVM spec or model opened there is one clear refusal."""

from __future__ import annotations

import json

import pytest

from engine.spec import SpecError


def test_svm_spec_and_model_are_refused_without_changing_the_view(qtbot, playground, tmp_path):
    spec = {"dataset": {"kind": "moons", "n_samples": 60, "seed": 1}, "model": {"kind": "svm", "C": 3}}
    path = tmp_path / "svm.json"
    path.write_text(json.dumps(spec))
    before = playground.current_spec().to_dict()
    with pytest.raises(SpecError) as info:
        playground.open(str(path))
    assert info.value.field == "model.kind"
    assert "svm.json holds a 'svm' model; the Playground shows networks" in info.value.message
    assert playground.current_spec().to_dict() == before

    from engine.estimators import SvmFitter, model_kind
    from engine.spec import RunSpec

    run = RunSpec.from_dict(spec)
    fitter = SvmFitter(run)
    for _ in fitter.run():
        pass
    model_kind("svm").save(str(tmp_path / "model.npz"), run, fitter)
    with pytest.raises(SpecError, match="model.npz holds a 'svm' model"):
        playground.open_model(str(tmp_path / "model.npz"))
    assert playground.current_spec().to_dict() == before
