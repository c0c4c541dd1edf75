#!/usr/bin/env bash
# Every check CI makes, in order: notebooks clean, library in sync with notebooks, lint, notebook tests (their executed copies
# become the docs site), pytest, and the vLLM tests in their own environment (RLAIF_REPRO_SKIP_VLLM=1 leaves those out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh dev
source .venv/bin/activate
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1 RLAIF_REPRO_PROGRESS=0
export RLAIF_REPRO_CACHE=${RLAIF_REPRO_CACHE:-$PWD/.cache}
snapshot() { find nbs rlaif_repro README.md -type f \( -name '*.ipynb' -o -name '*.py' -o -name '*.md' \) -not -path '*/.ipynb_checkpoints/*' -print0 | sort -z | xargs -0 sha256sum; }

# the vLLM environment (about 4 GB, mostly download and unpacking) is built in the background while the other checks run
if [ "${RLAIF_REPRO_SKIP_VLLM:-0}" != 1 ]; then
  (VLLM_SETUP_ONLY=1 bash tools/test_vllm.sh > .vllm-setup.log 2>&1; echo $? > .vllm-setup.rc) &
  vllm_setup=$!
fi

echo "== 1/7 notebooks are clean (nbdev_clean changes nothing)"
before=$(snapshot); nbdev_clean; after=$(snapshot)
if [ "$before" != "$after" ]; then diff <(echo "$before") <(echo "$after") || true; echo "FAIL: run nbdev_clean and commit"; exit 1; fi

echo "== 2/7 the library matches the notebooks (nbdev_export and the README render change nothing)"
nbdev_export; python tools/make_readme.py; after2=$(snapshot)
if [ "$after" != "$after2" ]; then diff <(echo "$after") <(echo "$after2") || true; echo "FAIL: run nbdev_export and tools/make_readme.py, then commit"; exit 1; fi

echo "== 3/7 lint (ruff; rules and their reasons in pyproject.toml): the exported library, the tests and the tools"
ruff check rlaif_repro tests tools

echo "== 4/7 notebook tests (nbdev_test's rules; tools/run_nbs.py keeps the executed copies for the docs)"
# two notebooks at a time, one torch thread each: more threads than cores slows every notebook down
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} python tools/run_nbs.py --n-workers 2 --out _build/nbs
# the outputs stored in nbs/ (what GitHub and Colab show before anything runs) must match this run: plots in the same cells, no errors
python tools/run_nbs.py --check-stored --out _build/nbs

echo "== 5/7 the docs site builds from the executed chapters (tools/docs.py -> _docs/)"
python tools/docs.py --src _build/nbs --out _docs

echo "== 6/7 pytest"
# two workers (pytest-xdist), one torch thread each, a test file per worker at a time; fixtures such as the tiny run are made once
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} python -m pytest -q -n ${PYTEST_WORKERS:-2} --dist loadfile --durations=25 tests

echo "== 7/7 vLLM as the labeling engine, in its own environment (tools/test_vllm.sh)"
if [ "${RLAIF_REPRO_SKIP_VLLM:-0}" = 1 ]; then echo "skipped (RLAIF_REPRO_SKIP_VLLM=1)"; else
  wait $vllm_setup || true
  cat .vllm-setup.log
  if [ "$(cat .vllm-setup.rc 2>/dev/null)" != 0 ]; then echo "FAIL: building the vLLM environment (log above)"; exit 1; fi
  deactivate; bash tools/test_vllm.sh
fi
