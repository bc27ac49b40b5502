"""The report: orchestration, figures, pages (HTML, Markdown, CSV, NetCDF), atomic writing.

- :mod:`~gmm_bayes.report.pipeline`: fit, sample and compare every K, then write the files;
- :mod:`~gmm_bayes.report.figures`: matplotlib and ArviZ figures (they compute no statistics);
- :mod:`~gmm_bayes.report.terminal`: the plain-text table of ``gmm-bayes fit``;
- ``templates/``: the jinja2 pages.
"""
