#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, then run the whole paper on the offline `toy` preset.
#   bash tools/run.sh                      # writes runs/toy/report.md (about 10 minutes on 2 CPU cores, world build included)
#   bash tools/run.sh --out /tmp/my_run    # another run folder; any `rlaif-repro reproduce` flag works
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
exec .venv/bin/rlaif-repro reproduce --preset toy "$@"
