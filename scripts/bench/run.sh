#!/usr/bin/env bash
# The performance benchmark (issue 7): builds the release binary, installs DuckDB from PyPI
# into a virtual environment, generates fresh synthetic exports and times `outcomes run`
# against DuckDB's comparable job, side by side. Arguments go to benchmark.py, e.g.
#   scripts/bench/run.sh --rows 10000000 --repeat 3
#   scripts/bench/run.sh --rows 50000000 --no-duckdb
# Needs about 2.5 GB of disk per 10 million rows under target/bench (--work to move it).
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --locked
venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "duckdb==2.0.0"
mkdir -p target/bench
exec "$venv/bin/python" scripts/bench/benchmark.py "$@"
