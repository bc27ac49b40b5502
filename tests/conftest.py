"""Shared test set-up: ``tests/`` on the import path for :mod:`helpers`, and the tiers.

Tiers: ``-m "not slow"`` is the fast tier (numpy, scipy, scikit-learn; well under a minute);
tests marked ``slow`` compile or sample PyMC models. ``make test`` runs both.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
