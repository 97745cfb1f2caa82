#!/bin/sh
# The one install procedure: `make install` (so the README and CI) and the Dockerfile run this.
#   sh scripts/install.sh [VENV]      PYTHON, CITEQA_EXTRAS (default: test), TORCH_INDEX_URL optional
set -eu
VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3.11}"
EXTRAS="${CITEQA_EXTRAS-test}"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# torch first, the CPU build: anything else would pull gigabytes of CUDA packages.
"$VENV/bin/python" -m pip install --quiet ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} torch==2.13.0
"$VENV/bin/python" -m pip install --quiet -e ".${EXTRAS:+[$EXTRAS]}"
# The embedding model as an ONNX graph (app/onnx_model.py), so the first question starts fast.
HF_HUB_OFFLINE=1 "$VENV/bin/python" -c "from app.embeddings import Embedder; from app.settings import Settings; Embedder(model_dir=Settings.from_env().model_dir).load()"
