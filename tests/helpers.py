"""Synthetic data and independent reference computations shared by the test modules.

References here use scipy only (never the package's own array layer), so that a test comparing
the package with them compares two implementations.
"""

import numpy as np
from scipy import stats
from scipy.special import logsumexp


def mixture_sample(n, weights, means, sds, *, seed=0, shift=0.0):
    """``n`` draws from a univariate Gaussian mixture (labels drawn iid), shape (n,)."""
    rng = np.random.default_rng(seed)
    label = rng.choice(len(weights), p=np.asarray(weights) / np.sum(weights), size=n)
    return shift + rng.normal(np.asarray(means, float)[label], np.asarray(sds, float)[label])


def exact_groups(n, weights, means, sds, *, seed=0):
    """Data whose groups have exactly the given weights, means and sds (truth = sample), (n,)."""
    rng = np.random.default_rng(seed)
    sizes = np.round(np.asarray(weights) * n).astype(int)
    parts = []
    for size, mu, sigma in zip(sizes, means, sds, strict=True):
        e = rng.normal(size=size)
        parts.append(mu + sigma * (e - e.mean()) / e.std())
    return rng.permutation(np.concatenate(parts))


def reference_log_density(x, w, mu, sigma):
    """Mixture log density at each point with scipy.stats.norm, shape (N,)."""
    x = np.asarray(x, dtype=np.float64)
    return logsumexp(np.log(w) + stats.norm.logpdf(x[:, None], mu, sigma), axis=1)


def reference_log_likelihood(x, w, mu, sigma):
    """Total mixture log-likelihood with scipy.stats.norm (a float)."""
    return float(np.sum(reference_log_density(x, w, mu, sigma)))


def reference_responsibilities(x, w, mu, sigma):
    """Responsibilities with scipy.stats.norm in log space, shape (N, K)."""
    x = np.asarray(x, dtype=np.float64)
    joint = np.log(w) + stats.norm.logpdf(x[:, None], mu, sigma)
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


#: the groups of every tree :func:`gmm_bayes.sample_posterior` returns
POSTERIOR_GROUPS = {
    "posterior",
    "sample_stats",
    "log_likelihood",
    "posterior_predictive",
    "observed_data",
    "em",
    "membership",
    "diagnostics",
}


def random_point(rng, k, loc, scale):
    """A random mixture (w, sorted mu, sigma) on the scale of data with ``loc`` and ``scale``."""
    return {
        "w": rng.dirichlet(np.ones(k)),
        "mu": np.sort(rng.normal(loc, 2 * scale, k)),
        "sigma": scale * rng.uniform(0.05, 1.5, k),
    }
