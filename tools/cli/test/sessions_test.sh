#!/bin/sh
# `lithops sessions` against a private redis-server: a real driver (lithops_test_session_holder,
# built beside `lithops`) is listed live with its host, pid, backend and key count; keys a dead
# session left are listed dead; after the driver's clean exit it is gone from the list.
# Usage: sessions_test.sh <lithops> <redis-server> <redis-cli>
set -eu
lithops=$1 server=$2 cli=$3
holder=$(dirname "$lithops")/lithops_test_session_holder
[ -x "$holder" ] || { echo "FAIL: $holder is not built (target lithops_test_session_holder)"; exit 1; }
dir=$(mktemp -d)
sock=$dir/redis.sock
"$server" --port 0 --unixsocket "$sock" --save "" --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
wait_for() {  # polls a condition every 50 ms for at most $2 seconds
  i=0 limit=$(($2 * 20))
  until eval "$1"; do
    i=$((i + 1)); [ $i -lt $limit ] || fail "timed out waiting for: $1"; sleep 0.05
  done
}
r() { "$cli" -s "$sock" "$@"; }
wait_for 'r ping >/dev/null 2>&1' 10
printf '{"redis": {"unix_socket": "%s"}}\n' "$sock" > "$dir/config.json"
export LITHOPS_CONFIG_FILE="$dir/config.json"

out=$("$lithops" sessions); echo "$out"
echo "$out" | grep -q "^0 live, 0 dead" || fail "an empty Redis"

mkfifo "$dir/in"
"$holder" < "$dir/in" > "$dir/out" 2>&1 &
pid=$!
exec 3> "$dir/in"
wait_for 'grep -q ready "$dir/out" 2>/dev/null' 60
id=$(r --scan --pattern 'lithops:*:alive' | cut -d: -f2)
keys=$(r --scan --pattern "lithops:$id:*" | wc -l)
r set lithops:0123456789ab:left 1 >/dev/null
r set lithops:0123456789ab:over 1 >/dev/null

out=$("$lithops" sessions); echo "$out"
echo "$out" | grep -q "^$id  *live  *[0-9]*s  *$keys  *$(hostname) pid $pid (localhost)$" \
  || fail "the live session's row"
echo "$out" | grep -q "^0123456789ab  *dead  *-  *2  *-$" || fail "the dead session's row"
echo "$out" | grep -q "^1 live, 1 dead" || fail "the summary"

exec 3>&-
wait "$pid" || fail "the driver failed: $(cat "$dir/out")"; pid=
out=$("$lithops" sessions); echo "$out"
echo "$out" | grep -q "^$id " && fail "a cleanly ended session is still listed"
echo "$out" | grep -q "^0 live, 1 dead" || fail "the summary after the driver's exit"
echo PASS
