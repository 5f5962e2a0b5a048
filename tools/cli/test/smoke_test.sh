#!/bin/sh
# `lithops hello` and `lithops test` on the localhost backend (a private redis-server the session
# starts): hello names the plugins and where the Process ran; test passes every primitive, and
# with broken pipe plugins on LITHOPS_PLUGIN_PATH reports them FAIL and exits with status 3.
# Usage: smoke_test.sh <lithops> <config> <broken plugin dir>
set -eu
lithops=$1 config=$2 broken=$3
fail() { echo "FAIL: $*"; exit 1; }

out=$("$lithops" --config "$config" hello) || fail "hello exited with $?"
echo "$out"
echo "$out" | grep -q "^backend     localhost  .*liblithops_executor_localhost.so$" || fail "backend"
echo "$out" | grep -q "^state store redis  .*liblithops_state_redis.so$" || fail "state store"
echo "$out" | grep -q "^pipes       redislist  .*liblithops_pipe_redislist.so$" || fail "pipes"
echo "$out" | grep -q "^Hello from Process-1 on host $(hostname), pid [0-9]* (driver pid [0-9]*)$" \
  || fail "where it ran"
echo "$out" | grep -q "^cold start (start -> first message): [0-9.]* ms$" || fail "cold start"

out=$("$lithops" --config "$config" test) || fail "test exited with $?: $out"
echo "$out"
for p in "Process" "Pool.map" "Queue" "Lock" "Event" "Pipe (redislist)" "Value" \
  "Manager dict" "SharedMemory"; do
  echo "$out" | grep -q "^$p  *pass  *[0-9.]*" || fail "$p did not pass"
done
echo "$out" | grep -q "^10 passed, 0 failed$\|^9 passed, 0 failed$" || fail "summary"

set +e
out=$(LITHOPS_PLUGIN_PATH=$broken "$lithops" --config "$config" test --only Pipe); rc=$?
set -e
echo "$out"
[ "$rc" = 3 ] || fail "test with failing checks exited with $rc, not 3"
echo "$out" | grep -q "^Pipe (brokenabi)  *FAIL .*ABI version 999" || fail "the broken transport"
echo "$out" | grep -q "^Pipe (redislist)  *pass" || fail "redislist beside the broken ones"
echo "$out" | grep -q "^Process " && fail "--only Pipe ran Process"
echo PASS
