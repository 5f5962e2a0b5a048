#!/bin/sh
# `lithops config check`: a valid config with a reachable redis-server passes (exit 0); a config
# with a JSON error names the file and the line; a missing plugin and an unreachable Redis are
# each named as FAIL with exit status 3, Redis within --timeout.
# Usage: config_check_test.sh <lithops> <redis-server> <redis-cli>
set -eu
lithops=$1 server=$2 cli=$3
dir=$(mktemp -d)
sock=$dir/redis.sock
"$server" --port 0 --unixsocket "$sock" --save "" --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
cleanup() {
  [ -f "$dir/redis.pid" ] && kill -CONT "$(cat "$dir/redis.pid")" 2>/dev/null || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
i=0
until "$cli" -s "$sock" ping >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 200 ] || fail "redis-server did not start"; sleep 0.05
done
check() { "$lithops" --config "$1" config check --timeout 1; }

printf '{"lithops": {"backend": "localhost"}, "redis": {"unix_socket": "%s"}}\n' "$sock" > "$dir/good.json"
out=$(check "$dir/good.json") || fail "a good config: exit $?"
echo "$out"
echo "$out" | grep -q "^ok    executor plugin 'localhost' loads" || fail "backend plugin"
echo "$out" | grep -q "^ok    redis at $sock answers PING" || fail "redis"
echo "$out" | grep -q "^configuration OK" || fail "summary"

printf '{"lithops": {"backend": "localhost",\n "workers": }}\n' > "$dir/bad.json"
set +e
out=$(check "$dir/bad.json"); rc=$?
set -e
echo "$out"
[ "$rc" = 3 ] || fail "a JSON error: exit $rc"
echo "$out" | grep -q "^FAIL  config file $dir/bad.json is not valid JSON (line 2)" || fail "JSON error"

# A backend no plugin provides: the file is refused as the library refuses it, naming the
# plugins that exist and the fix.
printf '{"lithops": {"backend": "nosuchbackend"}, "redis": {"unix_socket": "%s"}}\n' "$sock" > "$dir/nope.json"
set +e
out=$(check "$dir/nope.json"); rc=$?
set -e
echo "$out"
[ "$rc" = 3 ] || fail "missing plugin: exit $rc"
echo "$out" | grep -q "^FAIL  .*'lithops.backend' names no executor plugin 'nosuchbackend'; available: .*localhost" \
  || fail "the missing plugin"
echo "$out" | grep -q "LITHOPS_PLUGIN_PATH" || fail "the missing plugin's fix"

# A silent Redis (SIGSTOP): named with the timeout, never a hang.
kill -STOP "$(cat "$dir/redis.pid")"
set +e
out=$(check "$dir/good.json"); rc=$?
set -e
kill -CONT "$(cat "$dir/redis.pid")"
echo "$out"
[ "$rc" = 3 ] || fail "silent Redis: exit $rc"
echo "$out" | grep -q "^FAIL  redis at $sock (PING): no answer within 1000 ms" || fail "redis"
echo "$out" | grep -q "^1 problem(s)" || fail "summary"
echo PASS
