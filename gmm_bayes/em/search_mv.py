"""The best-maximum search of :func:`gmm_bayes.fit_em` for (N, d) data, d >= 2.

The strategy of the univariate search (:mod:`~.search`), on (N, d) data:

1. **Starts** in the data's whitened coordinates ``z = (x - mean) L^-T`` (``L L^T`` the sample
   covariance), so that they, and the fit, follow any affine map ``x A + b``: k-means++ centres
   (scikit-learn's ``kmeans_plusplus``), K distinct random rows as centres, or (``"quantile"``)
   K equal-count groups along the data's first principal axis (the one start that does not
   follow every affine map, as a principal axis does not). Each row goes to its nearest
   centre; each group gives a weight, a mean and a covariance (its scatter plus one
   pseudo-observation of the data's covariance scaled to a group's size, so a small group
   still gives a positive-definite start), under the structure.
2. **Insertion** (greedy EM, Verbeek et al. 2003): the best ``BEAM`` maxima at k-1 plus a
   new component on the ``INSERTION_SIZES`` nearest rows of the worst-fitted row and of
   random rows (``INSERTION_CENTRES`` in all), and each with one of its components split in
   two along one of its principal directions.
3. **Screened restarts** (emEM, Biernacki, Celeux & Govaert 2003): every start runs
   ``SCREEN_ITER`` iterations, the ``n_init`` best (``LOWER_RUNS`` below K) then to
   convergence.
4. **The restart rule**: a fit at k below the best healthy fit at k-1 means more screened
   restarts (at most ``EXTRA_ROUNDS`` rounds).

Runs are ranked healthy first (:func:`~.result.collapsed_components_mv`), then by
log-likelihood. A separate module from the univariate search because that one works in
standardized 1-D units through the ``DataSource``/``Step`` protocols (interval likelihoods,
MAP priors, tied starts pooled by ``Step.constrain``) with 1-D starts and a kernel specialized
for d = 1, several times faster there than the (N, d) kernel (:mod:`~.kernel_mv`).
"""

from typing import NamedTuple

import numpy as np

from gmm_bayes.em.covariance import covariances_from_scatter, to_sklearn_shape
from gmm_bayes.em.multivariate import MultivariateRun, principal_axis, run_em_mv
from gmm_bayes.em.result import collapsed_components_mv
from gmm_bayes.em.search import BEAM, LOWER_RUNS, SAME_MAXIMUM_ATOL, SCREEN_ITER, SCREEN_PER_RUN
from gmm_bayes.exceptions import FitError

__all__ = [
    "EXTRA_ROUNDS",
    "INSERTION_CENTRES",
    "INSERTION_SIZES",
    "Ranked",
    "SearchSettings",
    "distinct_mv",
    "find_maxima_mv",
    "labels_start",
    "params_of",
    "rank_runs",
    "run_from",
    "start_labels",
    "whiten",
]

#: neighbourhood sizes of an inserted component: rows (int) or a fraction of them (float)
INSERTION_SIZES = (8, 0.1, 0.3)
#: rows a new component is inserted around: the worst fitted and random ones
INSERTION_CENTRES = 4
#: rounds of screened restarts added while the fit at k stays below the fit at k-1
EXTRA_ROUNDS = 2


class SearchSettings(NamedTuple):
    """The validated options of the search (see :func:`gmm_bayes.fit_em`); ``step`` a
    :class:`~.multivariate.MultivariateStep` (e.g. MAP-EM's), None for maximum likelihood."""

    n_init: int
    init: str
    tol: float
    max_iter: int
    reg: np.ndarray
    covariance_type: str
    rng: np.random.Generator
    step: object = None


class Ranked(NamedTuple):
    """A run and its collapsed components (healthy runs first, then the higher objective: the
    log-likelihood, or the log posterior of a MAP step)."""

    run: MultivariateRun
    collapsed: np.ndarray

    @property
    def key(self):
        return (int(self.collapsed.sum()), -self.run.objective)


def find_maxima_mv(x, k, settings, *, start=None):
    """The runs to convergence at ``k`` components, best first (:class:`Ranked`).

    Parameters
    ----------
    x : ndarray, shape (N, d)
    k : int
    settings : SearchSettings
    start : tuple of ndarray, optional
        ``(weights, means, covariances)`` (canonical shapes), an extra start at ``k``.

    Returns
    -------
    list of Ranked

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 8.0])
    >>> settings = SearchSettings(2, "mixed", 1e-8, 500, 1e-6 * np.eye(2), "full", rng)
    >>> best = find_maxima_mv(x, 2, settings)[0]
    >>> best.run.weights.round(2).tolist(), bool(best.collapsed.any())
    ([0.5, 0.5], False)
    """
    below = []
    for level in range(1, k):
        below = _level(x, level, settings, below, n_runs=LOWER_RUNS)
    return _level(x, k, settings, below, n_runs=settings.n_init, start=start)


def _level(x, k, settings, below, *, n_runs, start=None):
    """Runs to convergence at ``k``, best first, from starts screened on ``x``."""
    if k == 1:
        start = labels_start(x, np.zeros(len(x), int), 1, settings)
        return rank_runs([run_from(x, start, settings)], len(x), settings)
    starts = [start] if start is not None else []
    for maximum in distinct_mv(x, [r for r in below if not r.collapsed.any()])[:BEAM]:
        starts += _insertion_starts(x, maximum.run, settings)
    target = -np.inf  # posteriors with k and k-1 components are not comparable
    if settings.step is None and below and not below[0].collapsed.any():
        target = below[0].run.log_likelihood
    runs = []
    for _ in range(1 + EXTRA_ROUNDS):
        starts += _restarts(x, k, settings, SCREEN_PER_RUN * n_runs)
        short = [run_from(x, s, settings, max_iter=SCREEN_ITER, tol=0.0) for s in starts]
        screened = rank_runs(short, len(x), settings)
        finished = [_resume(x, r.run, settings) for r in screened[:n_runs]]
        runs = sorted(runs + rank_runs(finished, len(x), settings), key=lambda r: r.key)
        if runs and not runs[0].collapsed.any() and runs[0].run.objective >= target:
            break
        starts = []
    return runs


def _restarts(x, k, settings, n_starts):
    """``n_starts`` starts from ``settings.init`` ("mixed": k-means++ and random alternately)."""
    if settings.init == "quantile":
        return [labels_start(x, start_labels(x, k, "quantile", settings.rng), k, settings)]
    kinds = ("kmeans++", "random") if settings.init == "mixed" else (settings.init,)
    return [
        labels_start(x, start_labels(x, k, kinds[i % len(kinds)], settings.rng), k, settings)
        for i in range(n_starts)
    ]


def whiten(x):
    """``(x - mean) L^-T`` with ``L L^T`` the sample covariance: equivariant coordinates.

    Examples
    --------
    >>> z = whiten(np.random.default_rng(0).normal(size=(50, 2)) * [1.0, 100.0])
    >>> bool(np.allclose(np.cov(z, rowvar=False, bias=True), np.eye(2)))
    True
    """
    location, chol = _whitening(x)
    return np.linalg.solve(chol, (x - location).T).T


def _whitening(x):
    """The data's mean and the Cholesky factor of its covariance."""
    return x.mean(axis=0), np.linalg.cholesky(np.atleast_2d(np.cov(x, rowvar=False, bias=True)))


def start_labels(x, k, kind, rng, means=None):
    """A group per row for a start: nearest centre (in whitened coordinates) or quantile group.

    Parameters
    ----------
    x : ndarray, shape (N, d)
    k : int
    kind : {"kmeans++", "random", "quantile"}
    rng : numpy.random.Generator
    means : ndarray, shape (K, d), optional
        Given centres (``means_init``): each row goes to the nearest.

    Returns
    -------
    ndarray of int, shape (N,)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + [0.0, 9.0]])
    >>> np.bincount(start_labels(x, 2, "quantile", rng)[:30]).tolist()  # the first group
    [30]
    """
    from sklearn.cluster import kmeans_plusplus

    location, chol = _whitening(x)
    z = np.linalg.solve(chol, (x - location).T).T
    if means is not None:
        centres = np.linalg.solve(chol, (np.asarray(means) - location).T).T
    elif kind == "quantile":
        axis = principal_axis(x)
        ranks = np.argsort(np.argsort(x @ axis, kind="stable"), kind="stable")
        return ranks * k // len(x)
    elif kind == "kmeans++":
        seed = int(rng.integers(2**31 - 1))
        centres = z[kmeans_plusplus(z, k, random_state=seed)[1]]
    else:
        centres = z[rng.choice(len(z), size=k, replace=False)]
    distances = ((z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(distances, axis=1)


def labels_start(x, labels, k, settings):
    """``(weights, means, covariances)`` of groups (canonical shapes, ``settings``' structure).

    Each group's covariance is its scatter plus the data's covariance scaled to a group of
    ``N / k`` rows (``S k^(-2/d)``), over its count plus one: positive definite for any group.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0], [9.0, 0.0], [10.0, 1.0]])
    >>> settings = SearchSettings(1, "mixed", 0.0, 1, np.zeros((2, 2)), "full", None)
    >>> w, m, c = labels_start(x, np.array([0, 0, 1, 1]), 2, settings)
    >>> w.tolist(), m.tolist()
    ([0.5, 0.5], [[0.5, 0.5], [9.5, 0.5]])
    """
    n, d = x.shape
    one_hot = np.eye(k)[labels]  # (N, K)
    counts = one_hot.sum(axis=0)
    means = np.where(
        counts[:, None] > 0,
        one_hot.T @ x / np.maximum(counts, 1)[:, None],
        x[np.argmax(one_hot, axis=0)],
    )
    centred = x[:, None, :] - means[None]  # (N, K, d)
    scatter = np.einsum("nk,nki,nkj->kij", one_hot, centred, centred)
    prior = np.atleast_2d(np.cov(x, rowvar=False, bias=True)) * k ** (-2.0 / d)
    covariances = covariances_from_scatter(
        counts + 1.0, scatter + prior, settings.covariance_type, settings.reg
    )
    weights = (counts + 1.0) / (n + k)
    return weights, means, covariances


def _insertion_starts(x, run, settings):
    """The K-1 fit ``run`` plus a component on the neighbourhood of a badly fitted row or of
    random rows, and with each of its components split in two (:func:`_split_starts`)."""
    from gmm_bayes import mixture

    n, d = x.shape
    k = run.weights.size + 1
    log_density = mixture.log_density(x, run.weights, run.means, run.covariances)
    random_rows = settings.rng.choice(n, size=min(n, INSERTION_CENTRES - 1), replace=False)
    centres = [int(np.argmin(log_density)), *random_rows.tolist()]
    z = whiten(x)
    starts = _split_starts(x, run)
    for centre in centres:
        nearest = np.argsort(((z - z[centre]) ** 2).sum(axis=1), kind="stable")
        for size in INSERTION_SIZES:
            m = int(size * n) if isinstance(size, float) else size
            m = min(max(m, d + 2), n)
            labels = np.zeros(n, dtype=int)
            labels[nearest[:m]] = 1
            w_new, mean_new, cov_new = labels_start(x, labels, 2, settings)
            weights = np.append(run.weights * (1 - w_new[1]), w_new[1])
            means = np.vstack([run.means, mean_new[1]])
            covariances = np.concatenate([run.covariances, cov_new[1:]])
            if settings.covariance_type == "tied":
                covariances = np.broadcast_to(run.covariances[0], (k, d, d)).copy()
            starts.append((weights, means, covariances))
    return starts


def _split_starts(x, run):
    """``run`` with one component replaced by two, its mean moved by half an sd either way
    along each of its principal directions relative to the data's covariance (generalized
    eigenvectors, so the splits follow any affine map); weights halved, covariances kept."""
    _, chol = _whitening(x)
    starts = []
    for j, covariance in enumerate(run.covariances):
        whitened = np.linalg.solve(chol, np.linalg.solve(chol, covariance).T)
        values, vectors = np.linalg.eigh(whitened)
        for value, vector in zip(values, vectors.T, strict=True):
            step = chol @ vector * np.sqrt(value) / 2
            weights = np.append(run.weights, run.weights[j] / 2)
            weights[j] /= 2
            means = np.vstack([run.means, run.means[j] + step])
            means[j] = run.means[j] - step
            covariances = np.concatenate([run.covariances, covariance[None]])
            starts.append((weights, means, covariances))
    return starts


def run_from(x, start, settings, *, max_iter=None, tol=None):
    """One run of :func:`run_em_mv` from canonical ``start``, or None when it failed."""
    weights, means, covariances = start
    try:
        return run_em_mv(
            x,
            weights,
            means,
            to_sklearn_shape(covariances, settings.covariance_type),
            covariance_type=settings.covariance_type,
            tol=settings.tol if tol is None else tol,
            max_iter=settings.max_iter if max_iter is None else max_iter,
            reg_covar=settings.reg,
            step=settings.step,
        )
    except (FitError, ValueError):  # a covariance became singular (reg_covar=0)
        return None


def _resume(x, short, settings):
    """The run to convergence continuing the screened run ``short`` (its iterations counted)."""
    run = run_from(x, params_of(short), settings)
    if run is None:
        return None
    return run._replace(
        n_iter=short.n_iter + run.n_iter,
        history=(*short.history[:-1], *run.history),
        objective_history=(*short.objective_history[:-1], *run.objective_history),
    )


def params_of(run):
    """``(weights, means, covariances)`` of a run (a start for another)."""
    return run.weights, run.means, run.covariances


def rank_runs(runs, n, settings):
    """Finished runs with their collapsed components, best first."""
    ranked = [
        Ranked(run, collapsed_components_mv(run.weights, run.covariances, n, settings.reg))
        for run in runs
        if run is not None and np.isfinite(run.log_likelihood)
    ]
    return sorted(ranked, key=lambda r: r.key)


def distinct_mv(x, ranked):
    """The runs whose parameters differ from every earlier run's (whitened units), in order.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(20, 2))
    >>> run = MultivariateRun(np.ones(1), np.zeros((1, 2)), np.eye(2)[None], -1.0, 1, True)
    >>> len(distinct_mv(x, [Ranked(run, np.zeros(1, bool))] * 2))
    1
    """
    location, chol = _whitening(x)
    kept, keys = [], []
    for r in ranked:
        order = np.argsort(r.run.means[:, 0], kind="stable")
        means = np.linalg.solve(chol, (r.run.means[order] - location).T).T
        key = np.concatenate([r.run.weights[order], means.ravel()])
        if all(np.max(np.abs(key - other)) > SAME_MAXIMUM_ATOL for other in keys):
            kept.append(r)
            keys.append(key)
    return kept
