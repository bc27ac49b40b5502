# Two commands on a fresh machine: `make report`, `make test`. Both create .venv when missing.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Any Python >= 3.12 found on the machine (override: make setup PYTHON=/path/to/python3.12).
PYTHON ?=
export PYTHON

.PHONY: setup test report bench calibrate lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/find-python
	@interp=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
		echo "creating $(VENV) with $$interp"; rm -rf $(VENV); "$$interp" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# REPORT_ARGS, e.g. "--only galaxy --draws 2000" or "-q" (see `gmm-bayes report-bundled --help`)
report: setup
	MPLBACKEND=Agg $(PY) -m gmm_bayes report-bundled --out reports $(REPORT_ARGS)

bench: setup
	$(PY) bench/bench_em.py
	$(PY) bench/bench_em_mv.py
	$(PY) bench/bench_posterior.py
	MPLBACKEND=Agg $(PY) bench/bench_report.py --sampler nutpie --no-evidence
	MPLBACKEND=Agg $(PY) bench/bench_report.py

# simulation-based calibration at K = 2 and 3 (200 data sets each; tens of minutes on 2 cores)
calibrate: setup
	MPLBACKEND=Agg $(PY) bench/calibrate.py $(CALIBRATE_ARGS)

lint: setup
	$(PY) -m ruff check gmm_bayes tests bench
	$(PY) -m ruff format --check gmm_bayes tests bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
