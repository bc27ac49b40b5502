"""Named warnings and errors of gmm_bayes (catch these rather than matching message text)."""


class GMMBayesError(Exception):
    """Base class of the package's own errors."""


class DataError(GMMBayesError, ValueError):
    """A data file or array cannot be used: missing, empty, non-numeric or non-finite values."""


class FitError(GMMBayesError, RuntimeError):
    """Every EM restart failed (non-finite log-likelihood); nothing trustworthy to return."""


class ModelMismatchError(GMMBayesError, AssertionError):
    """The PyMC model's log-likelihood at the EM estimate differs from EM's own."""


class ConvergenceWarning(UserWarning):
    """The best EM run stopped at ``max_iter`` before meeting ``tol``; ``converged`` is False."""


class HeapingWarning(UserWarning):
    """Some values are heaps: far more frequent than their neighbours on the recording grid
    (``fit_em(..., resolution=...)``; see :mod:`gmm_bayes.em.resolution`)."""


class DegenerateFitWarning(UserWarning):
    """A component collapsed (too few points or variance at the floor) in every restart."""
