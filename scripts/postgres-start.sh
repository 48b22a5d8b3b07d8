#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for tests from Debian's packages (no Docker here) and prints
#   TURNOUT_TEST_PG_URL=postgres://turnout@127.0.0.1:PORT/turnout_test
# on stdout (everything else goes to stderr). Idempotent: if the cluster in the state dir is running,
# it only prints its URL again. Stop and delete it with scripts/postgres-stop.sh.
#
#   TURNOUT_PG_DIR   state dir (data, socket, log, url); default ${TMPDIR:-/tmp}/turnout-pg
#   PG_BIN           PostgreSQL bin dir; default the newest /usr/lib/postgresql/*/bin
#
# Needs `apt-get install -y postgresql`. The cluster listens on 127.0.0.1 only, on a free port,
# with trust auth for local connections and fsync off: it holds test data and nothing else.
set -euo pipefail

dir="${TURNOUT_PG_DIR:-${TMPDIR:-/tmp}/turnout-pg}"
bin="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [[ -z "$bin" || ! -x "$bin/initdb" || ! -x "$bin/pg_ctl" ]]; then
  echo "postgres-start: no PostgreSQL binaries (looked in ${bin:-/usr/lib/postgresql/*/bin}); run: apt-get install -y postgresql" >&2
  exit 3
fi

# initdb refuses to run as root, so the cluster belongs to the `postgres` user the package creates.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

if [[ -f "$dir/url" ]] && as_owner "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1; then
  echo "TURNOUT_TEST_PG_URL=$(cat "$dir/url")"
  exit 0
fi

# A dir left by a crashed run: stop whatever still runs there, then start over.
if [[ -d "$dir/data" ]]; then
  as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate >/dev/null 2>&1 || true
fi
rm -rf "$dir"
mkdir -p "$dir"
if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir"; fi
chmod 700 "$dir"

port="$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"

as_owner "$bin/initdb" -D "$dir/data" -U turnout --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
  --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

# The unix socket goes into the state dir: the default /var/run/postgresql may not exist here.
opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off"
opts="$opts -c full_page_writes=off -c max_connections=200"
if ! as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "$opts" >&2; then
  cat "$dir/postgres.log" >&2
  exit 1
fi

as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U turnout turnout_test
url="postgres://turnout@127.0.0.1:$port/turnout_test"
echo "$url" | as_owner tee "$dir/url" >/dev/null
echo "TURNOUT_TEST_PG_URL=$url"
