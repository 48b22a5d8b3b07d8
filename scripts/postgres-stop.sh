#!/usr/bin/env bash
# Stops the throwaway cluster scripts/postgres-start.sh started and deletes its state dir.
# Safe to run when nothing runs. Same TURNOUT_PG_DIR and PG_BIN as postgres-start.sh.
set -euo pipefail

dir="${TURNOUT_PG_DIR:-${TMPDIR:-/tmp}/turnout-pg}"
bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"

if [[ -d "$dir/data" && -n "$bin" && -x "$bin/pg_ctl" ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$bin/pg_ctl" stop -D "$dir/data" -m fast -w >&2 || true
  else
    "$bin/pg_ctl" stop -D "$dir/data" -m fast -w >&2 || true
  fi
fi
rm -rf "$dir"
