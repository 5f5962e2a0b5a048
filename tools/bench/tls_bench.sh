#!/usr/bin/env bash
# Redis PING and Queue round trip over TLS beside plain TCP (issue 16), on one redis-server that
# listens on both a plain port and a TLS port of 127.0.0.1: bench_queue runs once against each,
# through a `redis.url` of redis:// and of rediss://. The certificates (a CA and a server
# certificate for localhost) are made here with the `openssl` command and removed at the end.
#
# Usage: tools/bench/tls_bench.sh [build_dir] [round_trips] [stream_items]
# Prints bench_queue's JSON lines with the contender suffixed " (tcp)" or " (tls)".
set -euo pipefail

build=${1:-build}
round_trips=${2:-2000}
items=${3:-20000}
bench="$build/tools/bench/bench_queue"
[[ -x $bench ]] || { echo "tls_bench: $bench not built (cmake --build $build --target bench_queue)" >&2; exit 2; }
for tool in openssl redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "tls_bench: $tool not found (tools/quickstart.sh deps)" >&2; exit 2; }
done

dir=$(mktemp -d /tmp/lithops-tls-bench-XXXXXX)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$dir/ca.key" -out "$dir/ca.pem" -subj /CN=lithops-bench-ca \
  -days 2 2>/dev/null
openssl req "${ec[@]}" -keyout "$dir/server.key" -out "$dir/server.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$dir/ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
  -out "$dir/server.pem" -days 2 -extfile "$dir/ext" 2>/dev/null

read -r plain_port tls_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
(umask 077; openssl rand -hex 16 >"$dir/password")
password=$(cat "$dir/password")
(umask 077; cat >"$dir/redis.conf" <<EOF
daemonize no
save ""
appendonly no
bind 127.0.0.1
dir $dir
logfile $dir/redis.log
requirepass $password
port $plain_port
tls-port $tls_port
tls-cert-file $dir/server.pem
tls-key-file $dir/server.key
tls-ca-cert-file $dir/ca.pem
tls-auth-clients no
EOF
)
redis-server "$dir/redis.conf" &
pid=$!
export REDISCLI_AUTH=$password  # not on a command line
for _ in $(seq 200); do
  [[ $(redis-cli -p "$plain_port" ping 2>/dev/null) == PONG ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/redis.log" >&2; exit 1; }
  sleep 0.05
done
unset REDISCLI_AUTH

cat >"$dir/tcp.json" <<EOF
{"redis": {"url": "redis://127.0.0.1:$plain_port", "password_file": "$dir/password"}}
EOF
cat >"$dir/tls.json" <<EOF
{"redis": {"url": "rediss://localhost:$tls_port", "password_file": "$dir/password",
           "tls": {"ca_file": "$dir/ca.pem"}}}
EOF
connections() {
  REDISCLI_AUTH=$password redis-cli -p "$plain_port" INFO stats |
    sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p'
}
for mode in ${TLS_BENCH_ORDER:-tcp tls}; do
  before=$(connections)
  LITHOPS_CONFIG_FILE="$dir/$mode.json" "$bench" "$round_trips" "$items" 2>/dev/null |
    sed -E "s/(\"contender\": \"[^\"]*)\"/\1 ($mode)\"/"
  echo "tls_bench: $mode run opened $(($(connections) - before - 1)) connections" >&2
done
