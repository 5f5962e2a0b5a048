#!/usr/bin/env bash
# The README's quick start, on a fresh Debian 12 machine as root (or with sudo):
#   tools/quickstart.sh demo   install what is missing, build, run the demo (the main job)
#   tools/quickstart.sh test   the same set-up, then every test (exits non-zero on any failure)
# Other commands: deps (install only), build, bench (tools/bench), asan, tsan.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# Debian packages the project builds, tests and runs with. Keep in sync with docs/building.md.
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-stacktrace1.81-dev
  libhiredis-dev redis-server redis-tools openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev libcli11-dev libnng-dev
  python3 zip unzip librsvg2-bin patchelf help2man man-db
)

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

install_deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # The distribution's redis-server package may start a system service; ours never uses it.
}

# npm's @architect/sandbox (the version package-lock.json pins) for the aws_lambda Runtime API
# test, into the git-ignored tests/e2e/aws_lambda/sandbox/node_modules: installed here, at set-up
# time, never at build or test time. Without npm, Debian's nodejs and npm are installed first.
install_npm_deps() {
  local dir=tests/e2e/aws_lambda/sandbox
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "installing Debian packages: nodejs npm"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  log "installing npm packages for the tests ($dir: npm ci)"
  npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error
}

build() {
  local preset="${1:-default}"
  log "configuring and building (preset $preset)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -- -j"$(nproc)"
}

cmd="${1:-demo}"
case "$cmd" in
  deps) install_deps; install_npm_deps ;;
  build) install_deps; build default ;;
  demo)
    install_deps
    build default
    log "running the demo (localhost executor, private redis-server)"
    ./build/tools/demo/lithops_demo
    ;;
  test)
    install_deps
    install_npm_deps
    build default
    log "running the tests"
    ctest --preset default -j"$(nproc)"
    ;;
  asan|tsan)
    install_deps
    install_npm_deps
    build "$cmd"
    ctest --preset "$cmd" -j"$(nproc)"
    ;;
  *)
    echo "usage: $0 {demo|test|deps|build|asan|tsan}" >&2
    exit 2
    ;;
esac
