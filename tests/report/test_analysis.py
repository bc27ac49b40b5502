"""The report's own fits: EM with restarts (V, and E when EM offers it) and scikit-learn twice
(at defaults, from EM)."""

import numpy as np
import pytest
from compare.fakes import two_groups

import gmm_bayes as gb
from gmm_bayes.conventions import EM_RESTARTS
from gmm_bayes.report.pipeline import em_options, point_fits


def test_point_fits():
    x = two_groups()  # well separated
    fits = point_fits(x, 2, seed=0)
    assert [m for m in fits if m != "em_tied"] == ["em", "sklearn", "sklearn_from_em"]
    em = fits["em"]
    if "em_tied" in fits:  # E: one variance for all components
        tied = fits["em_tied"]
        np.testing.assert_allclose(tied.sigmas, tied.sigmas[0])
        np.testing.assert_allclose(tied.means, em.means, rtol=0.05)
    assert em.method == "em" and fits["sklearn"].method == "sklearn"
    # EM's restarts are the report's: the same fit as fit_em with EM_RESTARTS starts
    options = em_options(gb.fit_em, gb.build_model)
    again = gb.fit_em(x, 2, n_init=EM_RESTARTS, random_state=0, **options)
    np.testing.assert_array_equal(em.means, again.means)
    # scikit-learn from EM's start lands on EM's maximum; at its defaults it finds the same one
    for name in ("sklearn", "sklearn_from_em"):
        np.testing.assert_allclose(fits[name].means, em.means, rtol=1e-3)
        assert em.log_likelihood >= fits[name].log_likelihood - 1e-6
    with pytest.raises(ValueError):
        point_fits(x, 0, seed=0)
