#!/bin/bash
# The man page and the bash completion: `cmake --install` puts both in place, `man lithops`
# renders the page (verbs, exit status) from the installed tree, and the completion offers every
# verb `lithops --help` lists, and each verb's options.
# Usage: docs_test.sh <build dir> <lithops>
set -eu
build=$1 lithops=$2
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cmake --install "$build" --prefix "$dir" >/dev/null || fail "cmake --install"
page=$(MANPATH=$dir/share/man MANWIDTH=100 man -P cat lithops 2>&1) || fail "man lithops: $page"
echo "$page" | head -40
for v in hello test plugins plugin sessions clean runtime config; do
  echo "$page" | grep -qE "^ +$v( |$)" || fail "the man page lacks the verb $v"
done
echo "$page" | grep -q "EXIT STATUS" || fail "no EXIT STATUS section"
echo "$page" | grep -q "lithops clean --dry-run" || fail "no examples"

completion=$dir/share/bash-completion/completions/lithops
[ -f "$completion" ] || fail "the completion is not installed"
# shellcheck disable=SC1090
source "$completion"
complete_words() {  # the completions for a command line whose last word is being typed
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
  _lithops
  echo "${COMPREPLY[*]}"
}
verbs=$("$lithops" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
[ -n "$verbs" ] || fail "no verbs in lithops --help"
for v in $verbs; do
  echo " $(complete_words lithops "") " | grep -q " $v " || fail "no completion for the verb $v"
done
[ "$(complete_words lithops plugins)" = plugins ] || fail "lithops plugins<TAB>"
[ "$(complete_words lithops plugin ch)" = check ] || fail "lithops plugin ch<TAB>"
[ "$(complete_words lithops clean --d)" = --dry-run ] || fail "lithops clean --d<TAB>"
[ "$(complete_words lithops config ch)" = check ] || fail "lithops config ch<TAB>"
echo PASS
