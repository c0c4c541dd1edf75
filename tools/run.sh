#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, then run the pipeline on the offline `toy` preset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
exec .venv/bin/rlaif-repro config --preset toy --show-paper "$@"
