#!/usr/bin/env bash
# THE test command (README.md, .ci/run): installs test dependencies, builds
# the workspace once in release, runs the Rust tests with the same profile,
# then the end-to-end suites (official LiveKit SDKs) against the built binary.
#
#   bash scripts/test.sh            everything
#   bash scripts/test.sh --quick    skip the cargo build and Rust tests; run
#                                   the e2e suites against an existing binary
#
# Environment:
#   RINGCAST_BIN   binary for the e2e suites (default target/release/ringcast)
#   PYTEST_ARGS    extra pytest arguments, e.g. "-k room_service"
#
# Server logs of the e2e suites land in .e2e-logs/. Exits non-zero if any
# stage fails; later stages still run when an earlier test stage fails, so one
# run reports everything.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick | -q) quick=1 ;;
    -h | --help)
      sed -n '2,16p' "$0"
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

export RINGCAST_BIN="${RINGCAST_BIN:-$repo/target/release/ringcast}"
case "$RINGCAST_BIN" in /*) ;; *) RINGCAST_BIN="$repo/$RINGCAST_BIN" ;; esac
export RINGCAST_E2E_LOGS="$repo/.e2e-logs"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

summary=()
failed=0
total_start=$SECONDS

# stage NAME TIMEOUT_SECONDS COMMAND... : runs one stage with a time bound,
# prints its duration, records the result.
stage() {
  local name="$1" limit="$2"
  shift 2
  local start=$SECONDS
  echo
  echo "=== [$name] $*"
  timeout --kill-after=30 "$limit" "$@"
  local rc=$?
  local took=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '%-14s ok    %5ss' "$name" "$took")")
  else
    [ "$rc" -eq 124 ] && echo "=== [$name] timed out after ${limit}s"
    summary+=("$(printf '%-14s FAIL  %5ss  (exit %s)' "$name" "$took" "$rc")")
    failed=1
  fi
  echo "=== [$name] exit $rc in ${took}s"
  return "$rc"
}

finish() {
  echo
  echo "=== summary"
  printf '  %s\n' "${summary[@]}"
  echo "  total          $((SECONDS - total_start))s"
  echo "  server logs:   $RINGCAST_E2E_LOGS"
  if [ "$failed" -ne 0 ]; then
    echo "=== FAILED"
    exit 1
  fi
  echo "=== all passed"
  exit 0
}

stage deps 1200 bash scripts/install-test-deps.sh || finish

if [ "$quick" -eq 0 ]; then
  stage cargo-build 3000 cargo build --release --workspace --all-targets || finish
  stage cargo-test 1800 cargo test --release --workspace
fi

if [ ! -x "$RINGCAST_BIN" ]; then
  echo "ringcast binary not found at $RINGCAST_BIN (build it or set RINGCAST_BIN)" >&2
  summary+=("e2e           FAIL  (no binary at $RINGCAST_BIN)")
  failed=1
  finish
fi

rm -rf "$RINGCAST_E2E_LOGS"
mkdir -p "$RINGCAST_E2E_LOGS"
echo
echo "e2e binary: $RINGCAST_BIN"

# shellcheck disable=SC2086 # PYTEST_ARGS is split on purpose
stage e2e-python 900 "$repo/.venv/bin/python" -m pytest -x -q scripts/e2e/python ${PYTEST_ARGS:-}
stage e2e-node 1200 node --test --test-reporter=spec --test-timeout=60000 scripts/e2e/node/

finish
