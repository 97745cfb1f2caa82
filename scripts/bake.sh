#!/bin/sh
# Prepare what a fresh server needs before its first request: the seed index and the joined local model.
#   sh scripts/bake.sh [VENV]         (the Dockerfile runs this; so do the tests)
set -eu
VENV="${1:-.venv}"
export HF_HUB_OFFLINE=1
"$VENV/bin/citeqa" --quiet index
"$VENV/bin/python" -c "from app.backends.local import model_file; from app.settings import Settings; s = Settings.from_env(); print(model_file(s.llm_model, s.model_dir))"
