"""SoftplusOrdered: a bijection onto ordered vectors, its Jacobian, where its scale comes from."""

import numpy as np
import pytest

import gmm_bayes as gb

pt = pytest.importorskip("pytensor.tensor")

from gmm_bayes.bayes.model import ORDER_SCALE, build_model  # noqa: E402
from gmm_bayes.bayes.transform import SoftplusOrdered  # noqa: E402


def test_round_trip_and_jacobian():
    transform = SoftplusOrdered(0.7, 4)
    mu = np.array([-3.0, -2.99, 0.5, 40.0])
    y = transform.forward(pt.as_tensor_variable(mu)).eval()
    np.testing.assert_allclose(transform.backward(pt.as_tensor_variable(y)).eval(), mu, rtol=1e-12)
    assert abs(y[3] - mu[3]) < 1e-12  # far from its neighbour, a mean is its own coordinate
    value = pt.dvector("value")
    jac = pt.jacobian(transform.backward(value), value).eval({value: y})
    log_det = transform.log_jac_det(value).eval({value: y})
    assert log_det == pytest.approx(np.log(abs(np.linalg.det(jac))), rel=1e-10)


def test_equal_values_map_just_inside_the_ordered_region():
    transform = SoftplusOrdered(0.7, 4)
    tied = transform.forward(pt.as_tensor_variable(np.zeros(4))).eval()
    assert np.all(np.isfinite(tied))
    assert np.all(np.diff(transform.backward(pt.as_tensor_variable(tied)).eval()) > 0)


def test_scale_fn_reads_the_named_input():
    """scale_fn picks the scale out of the random variable's inputs, wherever it sits."""
    by_name = SoftplusOrdered(None, 3, scale_fn=lambda rng, size, loc, scale, sd: scale)
    fixed = SoftplusOrdered(2.5, 3)
    inputs = [None, None, pt.as_tensor_variable([10.0]), pt.as_tensor_variable([2.5]), 4.0]
    mu = np.array([-1.0, 0.0, 3.0])
    got = by_name.forward(pt.as_tensor_variable(mu), *inputs).eval()
    np.testing.assert_allclose(got, fixed.forward(pt.as_tensor_variable(mu)).eval(), rtol=1e-14)
    y = pt.as_tensor_variable(got)
    np.testing.assert_allclose(by_name.backward(y, *inputs).eval(), mu, atol=1e-12)
    np.testing.assert_allclose(
        by_name.log_jac_det(y, *inputs).eval(), fixed.log_jac_det(y).eval(), rtol=1e-14
    )


def test_the_model_reads_its_scale_from_the_prior_constants():
    x = gb.load_dataset("galaxy")
    model = build_model(x, 3)
    rv = model["mu"]
    transform = model.rvs_to_transforms[rv]
    assert transform.scale is None and transform.scale_fn is not None
    mu = np.array([10.0, 20.0, 20.5])
    got = transform.forward(pt.as_tensor_variable(mu), *rv.owner.inputs).eval()
    expected = SoftplusOrdered(ORDER_SCALE * x.std(), 3).forward(pt.as_tensor_variable(mu)).eval()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((None, 3), {}, ValueError, "needs exactly one of scale and scale_fn"),
        ((1.0, 3), {"scale_fn": lambda *a: 1.0}, ValueError, "needs exactly one of scale"),
        ((-1.0, 3), {}, ValueError, "scale must be a finite number > 0, got -1.0"),
    ],
)
def test_bad_scales_are_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        SoftplusOrdered(*args, **kwargs)


def test_scale_fn_without_inputs_is_refused():
    transform = SoftplusOrdered(None, 2, scale_fn=lambda *inputs: inputs[-1])
    with pytest.raises(ValueError, match="needs the random variable's inputs"):
        transform.forward(pt.as_tensor_variable(np.zeros(2)))
