#!/usr/bin/env bash
# Install ScaleLab into .venv (first time only) and launch it. Arguments go to the app.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/system-packages.sh app
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed ]; then
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[mpi]"
    touch .venv/.installed
fi
exec .venv/bin/python main.py "$@"
