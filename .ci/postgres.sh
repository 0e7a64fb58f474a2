#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's packages, installed if missing) on 127.0.0.1:54329
# with a database `runmesh`, for the PostgreSQL store's tests. Prints the connection URL
# (with --ca: the path of the CA certificate instead).
#
# TLS is on, with a certificate for `localhost` signed by a throwaway CA; the role
# `runmesh_tls` (database `runmesh_tls`) may only connect over TLS, so its tests prove the
# connection is encrypted. Idempotent: a cluster already running there is reused.
set -euo pipefail
port=54329
url="postgres://runmesh@127.0.0.1:$port/runmesh"
dir=/tmp/runmesh-pg-$port
if [ "${1:-}" = "--ca" ]; then
  echo "$dir/ca.crt"
  exit 0
fi
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
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
command -v openssl >/dev/null || {
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq openssl >/dev/null
}
rm -rf "$dir"
mkdir -p "$dir"
# A CA, and a certificate for localhost (not for 127.0.0.1) that it signed.
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days 3650 -subj "/CN=runmesh test CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req "${ec[@]}" -subj "/CN=localhost" \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days 3650 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
chmod 600 "$dir/server.key"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$dir"
as_pg "$bin/initdb -D $dir/data -U postgres --auth=trust >/dev/null"
# runmesh_tls may connect only over TLS.
hba="$dir/data/pg_hba.conf"
as_pg "{ echo 'hostnossl all runmesh_tls all reject'; cat $hba; } > $hba.new && mv $hba.new $hba"
ssl="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
as_pg "$bin/pg_ctl -D $dir/data -l $dir/log -o '-p $port -k $dir -c listen_addresses=127.0.0.1 $ssl' -w start >/dev/null"
psql() { as_pg "$bin/psql -h 127.0.0.1 -p $port -U postgres -qc \"$1\""; }
psql "CREATE ROLE runmesh LOGIN"
psql "CREATE DATABASE runmesh OWNER runmesh"
psql "CREATE ROLE runmesh_tls LOGIN"
psql "CREATE DATABASE runmesh_tls OWNER runmesh_tls"
echo "$url"
