""":func:`gmm_bayes.fit_em` as a scikit-learn estimator, for pipelines and grid searches.

The name mirrors scikit-learn's ``GaussianMixture`` (the same methods and fitted attributes, so
it replaces it in code written for it); "EM" says what fits it, as against the package's
Bayesian fit (scikit-learn's ``BayesianGaussianMixture`` is a variational one, not this).
What differs from ``GaussianMixture``: the fit is :func:`gmm_bayes.fit_em`'s best-maximum
search (k-means++ and random starts screened, insertion from K-1 components, healthy fits
before collapsed ones), ``tol`` defaults to 1e-6 and ``reg_covar=None`` to a regularization
relative to the data's robust covariance (so the fit follows a change of units); the whole
:class:`~gmm_bayes.em.result.EMResult` is kept as ``result_``.

This module imports scikit-learn; ``import gmm_bayes`` loads it only on first use of
``gmm_bayes.GaussianMixtureEM``.
"""

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from gmm_bayes.em.covariance import n_parameters, to_sklearn_shape
from gmm_bayes.em.driver import fit_em
from gmm_bayes.em.kernel_mv import log_prob_resp

__all__ = ["GaussianMixtureEM"]


class GaussianMixtureEM(DensityMixin, BaseEstimator):
    """A Gaussian mixture fitted by :func:`gmm_bayes.fit_em`, with scikit-learn's interface.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        Or mclust's VVV, EEE, VVI, VII.
    tol : float, default 1e-6
        On the change of the mean log-likelihood per row.
    reg_covar : float or None, default None
        None: 1e-6 times the data's robust covariance (equivariant); a number: added to the
        diagonal of every covariance (scikit-learn's).
    max_iter : int, default 1000
    n_init : int, default 5
        Runs to convergence (of more screened starts), as :func:`gmm_bayes.fit_em`.
    init : {"mixed", "kmeans++", "random", "quantile"}, default "mixed"
    weights_init : array_like, shape (K,), optional
    means_init : array_like, shape (K, d), optional
    covariances_init : array_like, optional
        Shaped as ``covariances_``; with the other two, one run from that start.
    random_state : None, int or numpy.random.RandomState
        A ``RandomState`` gives :func:`gmm_bayes.fit_em` one seed drawn from it.

    Attributes
    ----------
    weights_ : ndarray, shape (K,)
    means_ : ndarray, shape (K, d)
    covariances_ : ndarray
        (K, d, d) full, (d, d) tied, (K, d) diag, (K,) spherical (scikit-learn's shapes).
    precisions_ : ndarray
        The inverse covariances, same shapes.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions (scikit-learn's: upper-triangular ``U`` with
        ``precision = U U^T``; for diag and spherical the inverse sds).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The mean log-likelihood per row of the training data at the fit.
    n_features_in_ : int
    result_ : EMResult
        The whole fit (``local_maxima``, ``collapsed``, ``icl()``...).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [8.0, 0.0]])
    >>> model = GaussianMixtureEM(2, random_state=0).fit(x)
    >>> model.weights_.round(2).tolist(), model.predict([[0.0, 0.0], [8.0, 0.0]]).tolist()
    ([0.5, 0.5], [0, 1])
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-6,
        reg_covar=None,
        max_iter=1000,
        n_init=5,
        init="mixed",
        weights_init=None,
        means_init=None,
        covariances_init=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init = init
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit the mixture to X (rows of d columns); ``y`` is ignored.

        Returns
        -------
        self
        """
        x = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        if x.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {x.shape[0]}"
            )
        fit = fit_em(
            x if x.shape[1] > 1 else x[:, 0],
            self.n_components,
            n_init=self.n_init,
            init=self.init,
            tol=self.tol,
            max_iter=self.max_iter,
            reg_covar=self.reg_covar,
            random_state=self._seed(),
            covariance_type=self.covariance_type,
            **self._starts(x.shape[1]),
        )
        self._store(fit, x.shape[1])
        return self

    def score_samples(self, X):
        """Log density of each row, shape (N,)."""
        return self._log_prob_resp(X)[0]

    def score(self, X, y=None):
        """Mean log density of the rows of X."""
        return float(np.mean(self.score_samples(X)))

    def predict_proba(self, X):
        """Responsibilities, shape (N, K); rows sum to 1."""
        return np.exp(self._log_prob_resp(X)[1])

    def predict(self, X):
        """The most probable component of each row, shape (N,)."""
        return np.argmax(self._log_prob_resp(X)[1], axis=1)

    def sample(self, n_samples=1):
        """``n_samples`` draws from the fitted mixture and their components, as scikit-learn.

        Returns
        -------
        X : ndarray, shape (n_samples, d)
        y : ndarray of int, shape (n_samples,)
        """
        check_is_fitted(self)
        if n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples}; give at least 1")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        draws = [
            rng.multivariate_normal(mean, covariance, int(count))
            for mean, covariance, count in zip(self.means_, self._covariances, counts, strict=True)
        ]
        return np.vstack(draws), np.repeat(np.arange(len(counts)), counts)

    def bic(self, X):
        """Bayesian information criterion on X, ``-2 log L + p log N``; lower is better."""
        x = validate_data(self, X, reset=False)
        return -2 * self.score(x) * len(x) + self._n_parameters() * np.log(len(x))

    def aic(self, X):
        """Akaike information criterion on X, ``-2 log L + 2 p``; lower is better."""
        return -2 * self.score(X) * len(np.asarray(X)) + 2 * self._n_parameters()

    def _n_parameters(self):
        check_is_fitted(self)
        return n_parameters(len(self.weights_), self.means_.shape[1], self.result_.covariance_type)

    def _log_prob_resp(self, X):
        check_is_fitted(self)
        x = validate_data(self, X, reset=False, dtype=np.float64)
        return log_prob_resp(x, self.weights_, self.means_, self._covariances)

    def _seed(self):
        """``random_state`` as fit_em takes it (a RandomState gives one seed)."""
        if self.random_state is None or isinstance(self.random_state, (int, np.integer)):
            return self.random_state
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _starts(self, d):
        """The explicit start, in fit_em's arguments for d columns."""
        starts = {"weights_init": self.weights_init, "means_init": self.means_init}
        if d > 1:
            return {**starts, "covariances_init": self.covariances_init}
        if self.means_init is not None:
            starts["means_init"] = np.ravel(self.means_init)
        if self.covariances_init is not None:
            # scikit-learn's shapes hold one number per component (tied: one in all)
            variances = np.ravel(self.covariances_init)
            starts["variances_init"] = np.broadcast_to(variances, (self.n_components,))
        return starts

    def _store(self, fit, d):
        """The fitted attributes, in scikit-learn's shapes."""
        covariance_type = fit.covariance_type
        self.result_ = fit
        self.weights_ = np.array(fit.weights)
        self.means_ = np.array(fit.means).reshape(fit.n_components, d)
        self._covariances = np.array(fit.covariances)
        eye = np.eye(d)
        precision_cholesky = np.stack(
            [solve_triangular(np.linalg.cholesky(c), eye, lower=True).T for c in self._covariances]
        )
        precisions = precision_cholesky @ precision_cholesky.transpose(0, 2, 1)
        self.covariances_ = to_sklearn_shape(self._covariances, covariance_type)
        self.precisions_ = to_sklearn_shape(precisions, covariance_type)
        if covariance_type in ("diag", "spherical"):
            self.precisions_cholesky_ = np.sqrt(self.precisions_)
        else:
            self.precisions_cholesky_ = to_sklearn_shape(precision_cholesky, covariance_type)
        self.converged_ = bool(fit.converged)
        self.n_iter_ = int(fit.n_iter)
        self.lower_bound_ = float(fit.log_likelihood / fit.n_obs)
