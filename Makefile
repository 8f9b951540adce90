# The two commands of the README: `make up` and `make test`. Thin: the logic is in `occidata`.
# A Python every account can read and run whole: server mode runs labs, kernels and services
# as other accounts, so a Python under root's home (pyenv) would be closed to them. Debian's
# /usr/bin/python3 when it can make a virtual environment, else the first python3 on the PATH.
PYTHON ?= $(shell if /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then echo /usr/bin/python3; else echo python3; fi)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: up down test bench bench-compute data install install-test proxy chromium slurm prometheus gpu-wheels gpu-check gpu-check-dry

up: install proxy
	$(BIN)/occidata up

down:
	@if [ -x $(BIN)/occidata ]; then $(BIN)/occidata down; else echo "Nothing to stop (no $(VENV))."; fi

test: install-test proxy chromium slurm prometheus
	$(BIN)/occidata kernels install
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

bench: install-test proxy chromium slurm
	$(BIN)/occidata kernels install
	$(BIN)/python bench/hub_spawn.py
	$(BIN)/python bench/catalog.py
	$(BIN)/python bench/compute.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/dashboards.py
	$(BIN)/python bench/data_service.py
	$(BIN)/python bench/catalogue_pages.py
	$(BIN)/python bench/first_hour.py
	$(BIN)/python bench/slurm.py
	$(BIN)/python bench/build_real.py
	$(BIN)/python bench/ingest_real_weather.py
	$(BIN)/python bench/ingest_real_traffic.py

# Only the analyses: Numba / CuPy against plain NumPy and xarray, demo and full size.
bench-compute: install-test
	$(BIN)/python bench/compute.py

# The GPU path in one command (bench/gpu_check.py): `make gpu-wheels` where there is a network
# fills wheelhouse/ with what the GPU image lacks; `make gpu-check` on the GPU machine (no network,
# wheelhouse/ brought along) installs it offline, runs the GPU tests, CuPy against Numba at full
# size and the memory bandwidth, and prints a Markdown report. Without a GPU it says so, exit 2;
# `make gpu-check-dry` runs the same pipeline on Numba only.
GPU_PYTHON ?= python3
GPU_PY_VERSION ?= 3.12
gpu-wheels: | $(VENV)/bin/python
	$(BIN)/python bench/gpu_wheels.py --dest wheelhouse --python-version $(GPU_PY_VERSION) $(GPU_WHEELS_ARGS)

gpu-check:
	$(GPU_PYTHON) bench/gpu_check.py --wheels wheelhouse $(GPU_CHECK_ARGS)

gpu-check-dry: install-test
	$(BIN)/python bench/gpu_check.py --dry-run $(GPU_CHECK_ARGS)

# Rebuild the demo datasets (SIZE=tiny|demo|full).
SIZE ?= demo
data: install
	$(BIN)/occidata data build --size $(SIZE)

install: $(STAMP)
install-test: $(TEST_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

proxy: node_modules/.bin/configurable-http-proxy

node_modules/.bin/configurable-http-proxy: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Slurm and munge for the slurm-mode tests (tests/slurm_cluster.py starts its own daemons on
# loopback ports; the machine's own services stay off); installed only when missing and we are root.
slurm:
	@if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge; \
	else echo "Slurm is missing: run 'sudo apt-get install slurmctld slurmd slurm-client munge' (slurm-mode tests need it)"; fi

# Debian's chromium for the browser tests; installed only when missing and we are root.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests need it)"; fi

# Debian's Prometheus for tests/test_metrics.py, which starts its own on a loopback port: the service the
# package enables (port 9090) is stopped and disabled. Installed only when missing and we are root.
prometheus:
	@if [ -x /usr/bin/prometheus ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus && \
	  { systemctl disable --now prometheus.service || systemctl disable prometheus.service || true; } >/dev/null 2>&1; \
	else echo "prometheus is missing: run 'sudo apt-get install --no-install-recommends prometheus' (the metrics test needs it)"; fi
