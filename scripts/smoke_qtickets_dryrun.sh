#!/usr/bin/env bash
# Thin wrapper over `chconform smoke --dry-run`: counts zakaz.meta_job_runs, queries every key table and view,
# validates the sample QTickets payloads (tests/data/qtickets/) against the live column types without writing,
# counts again. Exit 0 only if nothing failed and the count is unchanged.
#   scripts/smoke_qtickets_dryrun.sh --env-file infra/clickhouse/.env
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$ROOT/.venv/bin/chconform" ]; then
    exec "$ROOT/.venv/bin/chconform" smoke --dry-run --config "$ROOT/pyproject.toml" "$@"
fi
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" -m chconform smoke --dry-run --config "$ROOT/pyproject.toml" "$@"
