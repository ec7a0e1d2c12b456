#!/usr/bin/env bash
# Install everything the tests need (system packages, .venv with the test extras) and run
# the whole suite. Arguments go to pytest. The tests start their own sshd and SLURM.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/system-packages.sh test
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ pyproject.toml -nt .venv/.installed-test ]; then
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[test]"
    touch .venv/.installed-test .venv/.installed
fi
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
exec .venv/bin/python -m pytest "$@"
