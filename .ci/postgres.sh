#!/usr/bin/env bash
# Start a throwaway PostgreSQL on 127.0.0.1 and export PAYCHANNELS_TEST_PG.
# Source it (". .ci/postgres.sh"); installs Debian's postgresql when no server binaries exist.
# The data directory lives under /tmp and is removed by pc_pg_stop (trap it on EXIT).

pc_pg_start() {
  local bindir port
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "ci: installing PostgreSQL from Debian packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  PC_PG_DATA=$(mktemp -d /tmp/paychannels-pg.XXXXXX)
  port=${PC_PG_PORT:-54329}
  while (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PC_PG_DATA"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bindir/initdb" -D "$PC_PG_DATA/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
  "${as[@]}" "$bindir/pg_ctl" -D "$PC_PG_DATA/data" -l "$PC_PG_DATA/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PC_PG_DATA -c max_connections=200" start >/dev/null
  PC_PG_BIN=$bindir
  PC_PG_AS="${as[*]}"
  export PAYCHANNELS_TEST_PG="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "ci: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

pc_pg_stop() {
  if [ -n "${PC_PG_DATA:-}" ] && [ -d "$PC_PG_DATA/data" ]; then
    # shellcheck disable=SC2086
    $PC_PG_AS "$PC_PG_BIN/pg_ctl" -D "$PC_PG_DATA/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PC_PG_DATA"
  fi
}
