# Slim OCR -- common tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
HOST ?= 127.0.0.1
RUN_VENV := .venv-run
TIME_BUDGET ?= 3600
# Debian packages: fonts for rendering training/test lines, the English word list,
# Chromium + driver for the browser test, wrk for the load benchmark.
APT_PACKAGES := fonts-noto-cjk fonts-noto-cjk-extra fonts-wqy-zenhei fonts-wqy-microhei \
	fonts-arphic-uming fonts-arphic-ukai fonts-dejavu-core fonts-dejavu-extra \
	fonts-liberation fonts-liberation2 wamerican chromium chromium-driver wrk

.PHONY: help run setup-run setup-dev test corpus train ship-checkpoint export clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# ---- the product --------------------------------------------------------------------
run: setup-run ## serve the API + web page on http://$(HOST):$(PORT) with the bundled model
	$(RUN_VENV)/bin/uvicorn app:app --app-dir function --host $(HOST) --port $(PORT)

setup-run: $(RUN_VENV)/.stamp
$(RUN_VENV)/.stamp: function/requirements.txt
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/pip install -q --upgrade pip
	$(RUN_VENV)/bin/pip install -q -r function/requirements.txt uvicorn==0.54.0
	touch $@

# ---- development ----------------------------------------------------------------------
setup-dev: .setup-dev.stamp ## install system fonts and the dev/training Python packages
.setup-dev.stamp: requirements-dev.txt
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $@

test: setup-dev ## run the test suite (installs what it needs first)
	$(PYTHON) -m pytest -q

# ---- the recogniser -------------------------------------------------------------------
corpus: setup-dev ## build the training text corpus from Debian packages (data/corpus)
	$(PYTHON) -m pruning.corpus

train: corpus ## train/resume the base CRNN for TIME_BUDGET seconds (runs/base)
	$(PYTHON) -m pruning.train --run runs/base --time-budget $(TIME_BUDGET) \
		$$( [ -f runs/base/last.pt ] || [ ! -f models/base/crnn_base.pt ] || echo --init-from models/base/crnn_base.pt )

ship-checkpoint: ## copy runs/base/best.pt (fp16 weights + counters) to models/base/crnn_base.pt
	$(PYTHON) -m pruning.ship_checkpoint runs/base/best.pt models/base/crnn_base.pt

export: ## export runs/base/best.pt to the ONNX model the service ships
	$(PYTHON) -m pruning.export_onnx runs/base/best.pt function/model/model.onnx --name slim-crnn-base

clean:
	rm -rf $(RUN_VENV) .setup-dev.stamp .pytest_cache
