"""The report: orchestration, pages (HTML, Markdown, CSV, NetCDF), figures, atomic writing.

- :mod:`~gmm_bayes.report.pipeline`: fit, sample and compare every K (:func:`analyse`), and
  write one report or the bundled ones;
- :mod:`~gmm_bayes.report.files`: one data set's directory (NetCDF, CSV, figures, pages);
- :mod:`~gmm_bayes.report.pages`: the pages' context and their jinja2 rendering;
- :mod:`~gmm_bayes.report.tables`: ``estimates.csv`` and ``comparison.csv``;
- :mod:`~gmm_bayes.report.figures`: matplotlib and ArviZ figures (they compute no statistics);
- :mod:`~gmm_bayes.report.notebook`: the seed notebook's comparison, replayed;
- :mod:`~gmm_bayes.report.provenance`: settings, data sha256, package versions;
- :mod:`~gmm_bayes.report.atomic`: build beside the target, swap in at the end;
- :mod:`~gmm_bayes.report.terminal`: the plain-text table of ``gmm-bayes fit``;
- ``templates/``: the jinja2 pages (``dataset.html``, ``summary.md``, ``index.html``).
"""
