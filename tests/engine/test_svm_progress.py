"""The SVM's solution between two records: what the Playground draws while SMO runs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.datasets import make_preset
from engine.svm import REPORT_EVERY, Kernel, OneVsOneFit, SvmSettings


def _decision_from_alpha(X, y_pm, alpha, rho, kernel):
    return kernel.block(X, X) @ (alpha * y_pm) - rho


def test_the_current_model_mid_pair_is_the_solvers_own_multipliers_and_threshold():
    X, y = make_preset("moons", 120, 0.2, 3)
    fit = OneVsOneFit(X, y, 2, SvmSettings(C=5.0, gamma=1.0, tol=1e-4))
    gen = fit.run(report_every=1)
    seen = []
    for rec in gen:
        model = fit.current_model()
        # a multiplier path that keeps y'a = 0 and 0 <= a <= C at every iteration
        sv_alpha = np.abs(model.dual_coef[0])
        assert sv_alpha.max() <= 5.0 + 1e-12
        assert abs(model.dual_coef[0].sum()) < 1e-9
        assert rec["n_support"] == len(model.support_vectors) == int(model.n_support.sum())
        # the support vectors are the training rows the model says they are
        np.testing.assert_array_equal(model.support_vectors, X[model.train_rows])
        seen.append(rec["iteration"])
        if len(seen) == 5:
            # the threshold between records is libsvm's rho of the current gradient: the
            # free vectors' decision values equal their labels on average (kernel rows
            # are cached in float32, hence the tolerance)
            y_pm = np.where(y[model.train_rows] == 0, 1.0, -1.0)
            f = model.decision_values(X[model.train_rows])[:, 0]
            free = (sv_alpha > 1e-12) & (sv_alpha < 5.0 - 1e-12)
            if free.any():
                assert np.mean(f[free] - y_pm[free]) == pytest.approx(0.0, abs=1e-4)
    assert seen[:5] == [1, 2, 3, 4, 5]
    # after the run the current model is the fitted one, and it agrees with a headless fit
    assert fit.current_model() is fit.model
    headless = OneVsOneFit(X, y, 2, SvmSettings(C=5.0, gamma=1.0, tol=1e-4))
    for _ in headless.run():
        pass
    np.testing.assert_allclose(fit.model.dual_coef, headless.model.dual_coef)
    np.testing.assert_allclose(fit.model.intercept, headless.model.intercept)


def test_unstarted_pairs_have_no_say_and_finished_pairs_keep_their_solution():
    X, y = make_preset("blobs", 150, 0.3, 2, n_classes=3)
    fit = OneVsOneFit(X, y, 3, SvmSettings(C=1.0, gamma=0.5))
    pairs_at = {}
    for rec in fit.run(report_every=1):
        model = fit.current_model()
        pairs_at.setdefault(rec["pair"], model)
        if rec["pair"] == 1:
            # pairs (0, 2) and (1, 2) have not started: no vectors of class 2, intercepts 0
            assert model.n_support[2] == 0
            assert model.intercept[1] == 0.0 and model.intercept[2] == 0.0
    final = fit.model
    assert set(pairs_at) == {1, 2, 3}
    assert int(final.n_support.sum()) == len(final.train_rows)


def test_the_headless_fit_reports_as_before():
    X, y = make_preset("spiral", 600, 0.3, 3)
    fit = OneVsOneFit(X, y, 2, SvmSettings(C=50.0, gamma=1.5))
    records = list(fit.run())
    steps = [r["iteration"] for r in records[:-1]]
    assert steps and all(s % REPORT_EVERY == 0 for s in steps)
    assert isinstance(fit.kernel, Kernel)
