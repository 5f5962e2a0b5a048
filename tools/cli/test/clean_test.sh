#!/bin/sh
# `lithops clean` against a private redis-server on a temporary unix socket, with real drivers
# (lithops_test_session_holder, built beside `lithops`): a live session's keys survive, a dead
# session's go (one killed with SIGKILL after its liveness key expired, one that left keys only),
# --dry-run removes nothing, --all removes every lithops:* key, other keys always stay; a clean
# driver exit deletes its liveness key; no `redis` section: nothing to clean.
# Usage: clean_test.sh <lithops> <redis-server> <redis-cli>
set -eu
lithops=$1 server=$2 cli=$3
holder=$(dirname "$lithops")/lithops_test_session_holder
[ -x "$holder" ] || { echo "FAIL: $holder is not built (target lithops_test_session_holder)"; exit 1; }
dir=$(mktemp -d)
sock=$dir/redis.sock
"$server" --port 0 --unixsocket "$sock" --save "" --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
live_pid= dead_pid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  [ -n "$live_pid" ] && kill "$live_pid" 2>/dev/null || true
  [ -n "$dead_pid" ] && kill -9 "$dead_pid" 2>/dev/null || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# Polls `cond` (a shell command) every 50 ms for at most $2 seconds: waits for an observable
# condition, never a fixed time.
wait_for() {
  i=0 limit=$(($2 * 20))
  until eval "$1"; do
    i=$((i + 1)); [ $i -lt $limit ] || fail "timed out waiting for: $1"; sleep 0.05
  done
}
wait_for '"$cli" -s "$sock" ping >/dev/null 2>&1' 10
r() { "$cli" -s "$sock" "$@"; }
run() { "$lithops" --config "$dir/config.json" "$@"; }
alive_keys() { r --scan --pattern 'lithops:*:alive'; }
session_of() { echo "$1" | cut -d: -f2; }

printf '{"redis": {"unix_socket": "%s"}, "lithops": {"liveness_ttl": 3}}\n' "$sock" \
  > "$dir/config.json"
export LITHOPS_CONFIG_FILE="$dir/config.json"

# A driver writes its liveness key with the configured TTL; a clean exit (EOF on its stdin)
# deletes it.
mkfifo "$dir/first.in"
"$holder" < "$dir/first.in" > "$dir/first.out" 2>&1 &
dead_pid=$!
exec 4> "$dir/first.in"
wait_for 'grep -q ready "$dir/first.out" 2>/dev/null' 60
dead=$(session_of "$(alive_keys)")
[ -n "$dead" ] || fail "the driver wrote no liveness key"
ttl=$(r ttl "lithops:$dead:alive")
[ "$ttl" -ge 1 ] && [ "$ttl" -le 3 ] || fail "liveness key TTL $ttl, not within liveness_ttl 3"
exec 4>&-
wait "$dead_pid" || fail "the driver failed: $(cat "$dir/first.out")"; dead_pid=
[ "$(r exists "lithops:$dead:alive")" = 0 ] || fail "a clean exit left the liveness key"
[ "$(r --scan --pattern "lithops:$dead:*")" = "" ] || fail "a clean exit left keys"

# Now a real crash: hold stdin open, SIGKILL.
mkfifo "$dir/dead.in"
"$holder" < "$dir/dead.in" > "$dir/dead.out" 2>&1 &
dead_pid=$!
exec 4> "$dir/dead.in"
wait_for 'grep -q ready "$dir/dead.out" 2>/dev/null' 60
dead=$(session_of "$(alive_keys)")
kill -9 "$dead_pid"; wait "$dead_pid" 2>/dev/null || true; dead_pid=
exec 4>&-
wait_for '[ "$(r exists "lithops:$dead:alive")" = 0 ]' 20
dead_keys=$(r --scan --pattern "lithops:$dead:*" | wc -l)
[ "$dead_keys" -gt 0 ] || fail "the killed session left no keys to clean"

# A live session, held open until we close fd 3.
mkfifo "$dir/live.in"
"$holder" < "$dir/live.in" > "$dir/live.out" 2>&1 &
live_pid=$!
exec 3> "$dir/live.in"
wait_for 'grep -q ready "$dir/live.out" 2>/dev/null' 60
live=$(session_of "$(alive_keys | grep -v ":$dead:")")
[ -n "$live" ] && [ "$live" != "$dead" ] || fail "no liveness key for the live session"
live_keys=$(r --scan --pattern "lithops:$live:*" | wc -l)
[ "$live_keys" -ge 2 ] || fail "the live session has only $live_keys keys"

# Keys a dead session left without any driver, a named object, and a key that is not ours.
r set lithops:0123456789ab:a 1 >/dev/null
r rpush lithops:0123456789ab:b 1 2 >/dev/null
r hset 'lithops:shm:{blk}' size 1 >/dev/null
r set other:key 1 >/dev/null
total=$(r dbsize)

out=$(run clean --dry-run); echo "$out"
echo "$out" | grep -q "session $live: live, $live_keys keys kept" || fail "dry run: live session"
echo "$out" | grep -q "session $dead: dead, would remove $dead_keys keys" || fail "dry run: dead"
echo "$out" | grep -q "session 0123456789ab: dead, would remove 2 keys" || fail "dry run: keys only"
[ "$(r dbsize)" = "$total" ] || fail "dry run removed keys"

out=$(run clean --session 0123); echo "$out"
echo "$out" | grep -q "Removed 2 keys" || fail "--session 0123"
[ "$(r --scan --pattern "lithops:$dead:*" | wc -l)" = "$dead_keys" ] || fail "--session too wide"

out=$(run clean); echo "$out"
echo "$out" | grep -q "Removed $dead_keys keys" || fail "clean: count"
[ "$(r --scan --pattern "lithops:$dead:*")" = "" ] || fail "the dead session's keys are left"
[ "$(r --scan --pattern "lithops:$live:*" | wc -l)" = "$live_keys" ] || fail "live keys removed"
[ "$(r exists 'lithops:shm:{blk}')" = 1 ] || fail "a named object was removed without --all"

# The live session still works after the clean, and its clean exit removes its liveness key.
exec 3>&-
wait "$live_pid" || fail "the live driver failed after clean: $(cat "$dir/live.out")"; live_pid=
[ "$(r exists "lithops:$live:alive")" = 0 ] || fail "clean exit left the liveness key"

# --all: everything lithops goes, live or not, named objects too; other keys stay.
mkfifo "$dir/all.in"
"$holder" < "$dir/all.in" > "$dir/all.out" 2>&1 &
live_pid=$!
exec 3> "$dir/all.in"
wait_for 'grep -q ready "$dir/all.out" 2>/dev/null' 60
out=$(run clean --all --dry-run); echo "$out"
echo "$out" | grep -q "live, would remove" || fail "--all --dry-run: live session"
[ "$(r --scan --pattern 'lithops:*' | wc -l)" -gt 1 ] || fail "--all --dry-run removed keys"
out=$(run clean --all); echo "$out"
[ "$(r --scan --pattern 'lithops:*')" = "" ] || fail "--all left lithops keys"
[ "$(r get other:key)" = 1 ] || fail "a non-lithops key was removed"
exec 3>&-
wait "$live_pid" || true; live_pid=

# Every Redis call has a timeout: a server that accepts but never answers (SIGSTOP) ends the
# command with an error naming the endpoint after --timeout, not a hang.
kill -STOP "$(cat "$dir/redis.pid")"
set +e
out=$(run clean --timeout 0.5 2>&1); rc=$?
set -e
kill -CONT "$(cat "$dir/redis.pid")"
echo "$out"
[ "$rc" = 1 ] || fail "clean against a stopped server: exit $rc"
echo "$out" | grep -q "$sock.*no answer within 500 ms" || fail "the timeout error does not name the endpoint and the timeout"

echo '{}' > "$dir/empty.json"
"$lithops" --config "$dir/empty.json" clean | grep -q "nothing to clean" || fail "no redis section"
echo PASS
