#!/usr/bin/env bash
# JupyterLab for the UI tests: every store, key and setting in a fresh temporary
# folder, so a run never touches the user's data sources or tasks.
set -euo pipefail
cd "$(dirname "$0")"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/pipeline-ui-tests.XXXXXX")"
mkdir -p "$scratch/data" "$scratch/config" "$scratch/root"
export JUPYTER_DATA_DIR="$scratch/data"
export JUPYTER_CONFIG_DIR="$scratch/config"
export JUPYTER_PIPELINE_DB_URL="sqlite:///$scratch/pipeline.db"
export JUPYTERLAB_GALATA_ROOT_DIR="$scratch/root"
echo "UI test store: $scratch" >&2
exec jupyter lab --allow-root --config jupyter_server_test_config.py
