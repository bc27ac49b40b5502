"""The ordered transform of the component means: :class:`SoftplusOrdered`."""

import pytensor.tensor as pt
from pymc.logprob.transforms import Transform

from gmm_bayes._validation import as_positive_float

__all__ = ["MIN_GAP", "SoftplusOrdered"]

#: smallest gap (in units of the bend width) the forward map accepts
MIN_GAP = 1e-3


class SoftplusOrdered(Transform):
    """Ordered transform whose coordinates stay close to the means themselves.

    ``mu_1 = y_1`` and ``mu_k = mu_{k-1} + s * softplus((y_k - mu_{k-1}) / s)``: for means further
    apart than ``s``, ``mu_k ~= y_k``, so a well-determined mean is its own coordinate and a
    poorly determined neighbour does not drag it along. PyMC's ``ordered`` transform uses
    ``log(mu_k - mu_{k-1})`` instead, which couples every mean to all the gaps below it
    (``bench/bench_posterior.py`` records what that costs in ESS).

    Parameters
    ----------
    scale : float or None
        ``s`` > 0 (the width of the softplus bend), in the data's units; None when
        ``scale_fn`` gives it.
    n_components : int
        K (the recursion is unrolled).
    scale_fn : callable, optional
        ``scale_fn(*rv_inputs) -> s``: ``s`` as a function of the inputs of the random variable
        the transform is attached to (``rng, size, *parameters``), as PyMC's
        ``Interval(bounds_fn=...)``. It returns a scalar or a one-element tensor.
        :func:`gmm_bayes.build_model` keeps ``s`` in a data container this way, so the compiled
        model does not depend on the data.

    Examples
    --------
    >>> import numpy as np
    >>> t = SoftplusOrdered(0.5, 3)
    >>> y = t.forward(pt.as_tensor_variable(np.array([0.0, 10.0, 10.5]))).eval()
    >>> y.round(6).tolist()  # a mean far from its neighbour is its own coordinate
    [0.0, 10.0, 10.270662]
    >>> t.backward(pt.as_tensor_variable(y)).eval().round(12).tolist()
    [0.0, 10.0, 10.5]
    """

    name = "softordered"  # no underscore: PyMC parses "<var>_<transform>__" value names
    ndim_supp = 1

    def __init__(self, scale, n_components, *, scale_fn=None):
        if (scale is None) == (scale_fn is None):
            raise ValueError(
                f"SoftplusOrdered needs exactly one of scale and scale_fn, got scale={scale!r} "
                f"and scale_fn={scale_fn!r}"
            )
        self.scale = None if scale is None else as_positive_float(scale, "scale")
        self.scale_fn = scale_fn
        self.n_components = int(n_components)

    def _scale(self, inputs):
        if self.scale_fn is None:
            return self.scale
        if not inputs:
            raise ValueError(
                "SoftplusOrdered(scale_fn=...) needs the random variable's inputs; got none"
            )
        return pt.as_tensor_variable(self.scale_fn(*inputs)).flatten()[0]

    def _steps(self, value, inputs):
        """``(means, arguments of softplus)`` of the backward map, lists of K and K-1 tensors."""
        s = self._scale(inputs)
        means, args = [value[..., 0]], []
        for k in range(1, self.n_components):
            args.append((value[..., k] - means[-1]) / s)
            means.append(means[-1] + s * pt.softplus(args[-1]))
        return means, args

    def backward(self, value, *inputs):
        return pt.stack(self._steps(value, inputs)[0], axis=-1)

    def forward(self, value, *inputs):
        # Gaps are floored at MIN_GAP * s, so equal values (PyMC's default start of K iid
        # Normal means) map to a finite point just inside the ordered region.
        s = self._scale(inputs)
        coords = [value[..., 0]]
        for k in range(1, self.n_components):
            gap = pt.maximum((value[..., k] - value[..., k - 1]) / s, MIN_GAP)
            # y_k = mu_{k-1} + s * log(expm1(gap)), with log(expm1(g)) = g + log(1 - exp(-g))
            coords.append(value[..., k - 1] + s * (gap + pt.log1mexp(-gap)))
        return pt.stack(coords, axis=-1)

    def log_jac_det(self, value, *inputs):
        # triangular Jacobian: d mu_k / d y_k = sigmoid(arg_k), and d mu_1 / d y_1 = 1
        _, args = self._steps(value, inputs)
        if not args:
            return pt.zeros_like(value[..., 0])
        return pt.sum(pt.log(pt.sigmoid(pt.stack(args, axis=-1))), axis=-1)
