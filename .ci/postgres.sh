#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's packages, installed if missing) on 127.0.0.1:54329
# with a database `runmesh`, for the PostgreSQL store's tests. Prints the connection URL.
# Idempotent: a cluster already running there is reused.
set -euo pipefail
port=54329
url="postgres://runmesh@127.0.0.1:$port/runmesh"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing Debian's postgresql" >&2
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
if "$bin/pg_isready" -h 127.0.0.1 -p "$port" -q; then
  echo "$url"
  exit 0
fi
dir=/tmp/runmesh-pg-$port
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
rm -rf "$dir"
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
as_pg "$bin/initdb -D $dir/data -U postgres --auth=trust >/dev/null"
as_pg "$bin/pg_ctl -D $dir/data -l $dir/log -o '-p $port -k $dir -c listen_addresses=127.0.0.1' -w start >/dev/null"
as_pg "$bin/psql -h 127.0.0.1 -p $port -U postgres -qc \"CREATE ROLE runmesh LOGIN\""
as_pg "$bin/psql -h 127.0.0.1 -p $port -U postgres -qc \"CREATE DATABASE runmesh OWNER runmesh\""
echo "$url"
