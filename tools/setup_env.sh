#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install the package into it.
#   bash tools/setup_env.sh        # the library and its runtime requirements
#   bash tools/setup_env.sh dev    # plus the development tools (nbdev 2, pytest) and DeepSpeed
# torch: an existing torch in .venv is kept (install your CUDA build there first on a GPU machine);
# otherwise TORCH_SPEC (default torch==2.13.0) is installed before anything else, so that no other
# package drags in a different (multi-GB CUDA) build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), f"Python >= 3.11 is required, this is {sys.version.split()[0]}"'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip --disable-pip-version-check -qq"   # errors only: a setup log is our own [setup] lines
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  echo "[setup] installing ${TORCH_SPEC:-torch==2.13.0}"
  $PIP install "${TORCH_SPEC:-torch==2.13.0}"
fi
extra=""; [ "${1:-}" = "dev" ] && extra="[dev,deepspeed]"   # the tests run ZeRO-3 on 2 CPU processes
echo "[setup] installing rlaif_repro${extra} (editable)"
$PIP install -e ".${extra}"
