"""``python -m gmm_bayes``: the same as the ``gmm-bayes`` command."""

import sys

from gmm_bayes.cli import main

sys.exit(main())
