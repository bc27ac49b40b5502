"""The search for the best maximum: greedy insertion from K-1 components, and screened restarts.

The likelihood of a Gaussian mixture has many local maxima, and which one EM reaches depends on
its start: the best of a few runs from k-means++ starts misses the best maximum for some seeds,
and can even end, for K components, below the best K-1 fit. The search, at each number of
components k = 2..K in turn (k = 1 needs one run):

1. **Insertion** (greedy EM; :mod:`~.insertion`): the best ``BEAM`` distinct healthy maxima at
   k-1 each give ``INSERTIONS`` starts, that maximum plus the most promising new component.
2. **Screened restarts** (Biernacki, Celeux & Govaert 2003, "emEM"), at K only:
   ``SCREEN_PER_RUN * n_init`` k-means++ and random starts.
3. Every start runs ``SCREEN_ITER`` EM iterations; the ``n_init`` best (healthy first, then the
   highest objective; ``LOWER_RUNS`` below K) run to convergence.
4. **The restart rule**: a maximum-likelihood fit at k must reach the best healthy fit at k-1
   (adding a component can only raise the maximum). Until a healthy run does, the next screened
   starts run to convergence.

Runs are ranked by their number of collapsed components (:func:`~.result.collapsed_components`;
healthy runs first), then by objective, so a spike never displaces a healthy maximum. All in
standardized units. The budgets are the smallest that reached the best known maximum of every
bundled data set for K = 1..6 at seeds 0-9 (``tests/em/test_search.py``, ``bench/README.md``).
"""

import numpy as np

from gmm_bayes.em.insertion import insertion_starts
from gmm_bayes.em.run import resume, run_em
from gmm_bayes.em.source import InMemorySource
from gmm_bayes.em.starts import Start, initial_params
from gmm_bayes.em.steps import MaximumLikelihoodStep

__all__ = [
    "BEAM",
    "INSERTIONS",
    "LOWER_RUNS",
    "SAME_MAXIMUM_ATOL",
    "SCREEN_ITER",
    "SCREEN_PER_RUN",
    "distinct",
    "find_maxima",
]

#: EM iterations of every start before the best are run to convergence
SCREEN_ITER = 10
#: screened k-means++ and random starts per run to convergence (``n_init``), at K only
SCREEN_PER_RUN = 2
#: distinct healthy maxima at k-1 that new components are inserted into
BEAM = 3
#: insertion starts per maximum at k-1
INSERTIONS = 6
#: runs to convergence at each k below K
LOWER_RUNS = 2
#: runs whose standardized parameters (weights, means, sds) all differ by less than this are the
#: same maximum (EM stops at ``tol``, short of the maximum, so runs to one maximum differ)
SAME_MAXIMUM_ATOL = 1e-2


def find_maxima(z, start, options, step, *, source_of=InMemorySource):
    """The search at ``options.n_components`` on standardized in-memory data.

    Parameters
    ----------
    z : ndarray, shape (N,)
    start : Start
        An explicit partial start in standardized units, for the screened starts at K (a
        start that is not empty turns insertion off: the user chose where to start).
    options : EMOptions
        ``n_components``, ``n_init``, ``init`` (the kinds of screened starts: "mixed" is
        k-means++ and random alternately), ``tol``, ``max_iter`` and ``rng``.
    step : Step
    source_of : callable, default InMemorySource
        ``source_of(z)``: the :class:`~gmm_bayes.em.source.DataSource` the runs pass over
        (e.g. :class:`~gmm_bayes.em.interval.IntervalSource` for data at a resolution); the
        starts and insertion candidates are taken from ``z`` itself.

    Returns
    -------
    list of Run
        Every run to convergence at K, best first (healthy first, then the highest objective);
        empty when every run failed.

    Examples
    --------
    >>> from gmm_bayes.em.driver import EMOptions
    >>> z = np.concatenate([np.linspace(-3.2, -2.8, 30), np.linspace(2.8, 3.2, 30), [0.0]])
    >>> options = EMOptions.validated(z.size, 2, random_state=0)
    >>> runs = find_maxima(z, Start(), options, MaximumLikelihoodStep(1e-6))
    >>> np.sort(runs[0].means).round(1).tolist(), runs[0].healthy
    ([-3.0, 2.9], True)
    """
    k = options.n_components
    source = source_of(z)
    if k == 1:
        return _level(source, z, 1, options, step, start, n_runs=1, below=[])
    below = []
    if start.empty:
        lowest = step.for_components(1)
        below = _level(source, z, 1, options, lowest, Start(), n_runs=1, below=[])
        for level in range(2, k):
            lower = step.for_components(level)
            below = _level(
                source, z, level, options, lower, Start(), n_runs=LOWER_RUNS, below=below
            )
    return _level(source, z, k, options, step, start, n_runs=options.n_init, below=below, top=True)


def distinct(runs):
    """The runs whose standardized parameters differ from every earlier run's: the maxima.

    Parameters
    ----------
    runs : list of Run
        Best first.

    Returns
    -------
    list of Run

    Examples
    --------
    >>> from gmm_bayes.em.run import Run
    >>> def run(means):
    ...     return Run(np.full(2, 0.5), np.array(means), np.ones(2), [0.0], 9, True,
    ...                np.zeros(2, dtype=bool), 0.0)
    >>> len(distinct([run([0.0, 1.0]), run([1.0, 0.001]), run([0.0, 2.0])]))
    2
    """
    kept, keys = [], []
    for run in runs:
        order = np.argsort(run.means, kind="stable")
        key = np.concatenate([run.weights[order], run.means[order], np.sqrt(run.variances[order])])
        if all(np.max(np.abs(key - other)) > SAME_MAXIMUM_ATOL for other in keys):
            kept.append(run)
            keys.append(key)
    return kept


def _level(source, z, k, options, step, start, *, n_runs, below, top=False):
    """Runs to convergence at ``k`` components on ``source`` (starts from ``z``), best first."""
    if k == 1:
        params = initial_params(z, 1, "quantile", start, options.rng)
        run = _to_convergence(source, params, step, options)
        return [] if run is None else [run]
    bases = distinct([run for run in below if run.healthy])
    starts = [
        params
        for base in bases[:BEAM]
        for params in insertion_starts(z, base.params, step.reg, options.rng, INSERTIONS)
    ]
    if top:
        starts += _screened_starts(z, k, options, start)
    target = bases[0].objective if bases and isinstance(step, MaximumLikelihoodStep) else None
    runs = _converge_best(
        source, _screen(source, starts, step, options), n_runs, target, step, options
    )
    return runs


def _screen(source, starts, step, options):
    """``SCREEN_ITER`` iterations from each start; the runs, best first."""
    n_iter = min(SCREEN_ITER, options.max_iter)
    screened = [run_em(source, p, step, tol=options.tol, max_iter=n_iter) for p in starts]
    return sorted((run for run in screened if run is not None), key=lambda run: run.rank)


def _converge_best(source, screened, n_runs, target, step, options):
    """The best ``n_runs`` screened runs to convergence, and more until ``_reached``."""
    runs = []
    for i, candidate in enumerate(screened):
        if i >= n_runs and _reached(runs, target):
            break
        run = resume(source, candidate, step, tol=options.tol, max_iter=options.max_iter)
        if run is not None:
            runs.append(run)
            runs.sort(key=lambda run: run.rank)
    return runs


def _screened_starts(z, k, options, start):
    kinds = ("kmeans++", "random") if options.init == "mixed" else (options.init,)
    return [
        initial_params(z, k, kinds[i % len(kinds)], start, options.rng)
        for i in range(SCREEN_PER_RUN * options.n_init)
    ]


def _reached(runs, target):
    """The best run is healthy and, for maximum likelihood, at least the best fit below."""
    if not runs or not runs[0].healthy:
        return False
    return target is None or runs[0].objective >= target


def _to_convergence(source, params, step, options):
    return run_em(source, params, step, tol=options.tol, max_iter=options.max_iter)
