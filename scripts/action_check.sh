#!/usr/bin/env bash
# The step of action.yml that runs chconform: a SARIF report for code scanning, a text report in the log,
# annotations on the pull request, and the exit code kept for the last step (0 conforms, 1 findings, 2 unusable).
# Inputs come as environment variables so the script runs the same outside GitHub (tests call it directly).
set -uo pipefail
: "${CHCONFORM:=chconform}"
: "${CHCONFORM_SARIF:=chconform.sarif}"
args=(check)
[ -n "${CHCONFORM_CONFIG:-}" ] && args+=(--config "$CHCONFORM_CONFIG")
for engine in ${CHCONFORM_ENGINES:-}; do args+=(--engine "$engine"); done
# shellcheck disable=SC2206  # extra arguments are split on purpose
extra=(${CHCONFORM_ARGS:-})

"$CHCONFORM" "${args[@]}" "${extra[@]}" --format sarif --output "$CHCONFORM_SARIF"
code=$?
if [ "$code" -ge 2 ]; then
  echo "chconform could not run (exit $code); see the message above" >&2
else
  "$CHCONFORM" "${args[@]}" "${extra[@]}" --format github --quiet || true
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "exit-code=$code"; echo "sarif=$CHCONFORM_SARIF"; } >>"$GITHUB_OUTPUT"
fi
exit "$code"
