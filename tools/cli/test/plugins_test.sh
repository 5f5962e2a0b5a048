#!/bin/sh
# `lithops plugins`: lists the build tree's plugins as loadable, and with LITHOPS_PLUGIN_PATH on a
# directory of broken ones, names each one's reason (ABI mismatch, undefined symbol, missing
# library) and exits with status 3. Usage: plugins_test.sh <lithops> <broken plugin dir>
set -eu
lithops=$1 broken=$2
fail() { echo "FAIL: $*"; exit 1; }

out=$("$lithops" plugins --path) || fail "exit $? with the build tree's plugins"
echo "$out"
for p in "executor localhost " "state    redis " "pipe     redislist "; do
  echo "$out" | grep -q "^$p .* ok " || fail "$p is not listed as ok"
done

set +e
out=$(LITHOPS_PLUGIN_PATH=$broken "$lithops" plugins --path); rc=$?
set -e
echo "$out"
[ "$rc" = 3 ] || fail "exit status $rc with broken plugins, not 3"
echo "$out" | grep -q "^  $broken\$" || fail "LITHOPS_PLUGIN_PATH is not on the search path shown"
echo "$out" | grep -q "^pipe     brokenabi       999  BROKEN" || fail "the ABI 999 plugin"
echo "$out" | grep -q "reason: ABI mismatch: built for SDK ABI version 999" || fail "ABI reason"
echo "$out" | grep -q "reason: cannot load: .*undefined symbol: lithops_test_symbol_defined_nowhere" \
  || fail "the undefined symbol reason"
echo "$out" | grep -q "reason: cannot load: .*liblithops_test_vanished.so: cannot open shared object" \
  || fail "the missing library reason"
echo "$out" | grep -q "3 cannot load" || fail "the summary"
echo PASS
