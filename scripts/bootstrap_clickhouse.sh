#!/usr/bin/env bash
# Thin wrapper over `chconform bootstrap`: applies infra/clickhouse/bootstrap_schema.sql, then the roles and
# grants of bootstrap_all.sql, to the persistent target named in the env file (CHCONFORM_TARGET=embedded|compose),
# logging each statement's file:line, outcome and time. Exit 0 only if every statement succeeded.
#   scripts/bootstrap_clickhouse.sh [--env-file infra/clickhouse/.env] [--allow-destructive]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$ROOT/.venv/bin/chconform" ]; then
    exec "$ROOT/.venv/bin/chconform" bootstrap --config "$ROOT/pyproject.toml" "$@"
fi
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" -m chconform bootstrap --config "$ROOT/pyproject.toml" "$@"
