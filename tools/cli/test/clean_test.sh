#!/bin/sh
# `lithops clean` against a private redis-server on a temporary unix socket: the lithops:* keys
# go (--session limits, --dry-run removes nothing), other keys stay; no `redis` section: nothing
# to clean. Usage: clean_test.sh <lithops> <redis-server> <redis-cli>
set -eu
lithops=$1 server=$2 cli=$3
dir=$(mktemp -d)
sock=$dir/redis.sock
"$server" --port 0 --unixsocket "$sock" --save "" --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
cleanup() {
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
i=0
while ! "$cli" -s "$sock" ping >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "redis-server did not start"; exit 1; }; sleep 0.05
done
r() { "$cli" -s "$sock" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

r set lithops:x:a 1 >/dev/null
r rpush lithops:x:b 1 2 >/dev/null
r hset lithops:x:c f v >/dev/null
r set lithops:y:d 1 >/dev/null
r set other:key 1 >/dev/null
printf '{"redis": {"unix_socket": "%s"}}\n' "$sock" > "$dir/config.json"

out=$("$lithops" --config "$dir/config.json" clean --dry-run)
echo "$out"
echo "$out" | grep -q "session x: 3 keys" || fail "dry run counts"
[ "$(r dbsize)" = 5 ] || fail "dry run removed keys"

out=$("$lithops" --config "$dir/config.json" clean --session x)
echo "$out"
echo "$out" | grep -q "Removed 3 keys" || fail "--session x"
[ "$(r exists lithops:y:d)" = 1 ] || fail "--session x removed another session's key"

out=$("$lithops" --config "$dir/config.json" clean)
echo "$out"
echo "$out" | grep -q "Removed 1 keys" || fail "clean"
[ "$(r keys 'lithops:*')" = "" ] || fail "lithops keys left"
[ "$(r get other:key)" = 1 ] || fail "a non-lithops key was removed"

echo '{}' > "$dir/empty.json"
"$lithops" --config "$dir/empty.json" clean | grep -q "nothing to clean" || fail "no redis section"
echo PASS
