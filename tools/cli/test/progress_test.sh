#!/bin/sh
# The Pool progress bar (config lithops.progress): under a pseudo-terminal (script(1)) a
# Pool.map of 8 tasks draws "8/8 tasks" on stderr; with stderr in a file, or with the option
# off, nothing of it appears. Runs `lithops test --only Pool.map` on the localhost backend.
# Usage: progress_test.sh <lithops>
set -eu
lithops=$1
fail() { echo "FAIL: $*"; exit 1; }
command -v script >/dev/null || fail "script(1) is missing: install the Debian package bsdutils"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo '{"lithops": {"backend": "localhost", "progress": true}}' > "$dir/on.json"
echo '{"lithops": {"backend": "localhost"}}' > "$dir/off.json"

script -qec "'$lithops' --config '$dir/on.json' test --only Pool.map" /dev/null > "$dir/tty.out" \
  || fail "under a pty: $(cat "$dir/tty.out")"
cat "$dir/tty.out"
grep -q "square \[#*\] 8/8 tasks [0-9.]*/s ETA 0s" "$dir/tty.out" || fail "no final bar on the pty"
grep -q "Pool.map  *pass" "$dir/tty.out" || fail "Pool.map did not pass under the pty"

"$lithops" --config "$dir/on.json" test --only Pool.map > "$dir/out" 2> "$dir/err" \
  || fail "without a terminal: $(cat "$dir/out" "$dir/err")"
grep -q "tasks" "$dir/err" && fail "a bar on stderr that is not a terminal: $(cat "$dir/err")"

script -qec "'$lithops' --config '$dir/off.json' test --only Pool.map" /dev/null > "$dir/off.out" \
  || fail "option off: $(cat "$dir/off.out")"
grep -q "tasks" "$dir/off.out" && fail "a bar with lithops.progress off"
echo PASS
