#!/usr/bin/env bash
# Runs `pnpm test` N times (default 3) on a loaded machine: beside it, a process that keeps a CPU
# busy and one that keeps the page cache dirty (so that fsync is slow). Both are stopped, and
# their file removed, however the script ends. Prints how many runs passed and failed.
# Usage: pnpm test:stress [N]
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: pnpm test:stress [number of runs, 3 by default]" >&2
  exit 2
fi

scratch=$(mktemp)
hog=
writer=
tests=
cleanup() {
  [ -n "$tests" ] && kill "$tests" 2>/dev/null
  [ -n "$hog" ] && kill "$hog" 2>/dev/null
  # The writer's loop stops the dd under way when it is told to stop (see below).
  [ -n "$writer" ] && kill "$writer" 2>/dev/null
  wait 2>/dev/null
  rm -f "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

node -e 'for (;;) {}' &
hog=$!
# shellcheck disable=SC2016 # expanded by the inner bash
bash -c 'trap "kill \$dd 2>/dev/null; exit" TERM
  while :; do dd if=/dev/zero of="$1" bs=1M count=512 status=none & dd=$!; wait $dd; done' _ "$scratch" &
writer=$!

passed=0
failed=0
for ((run = 1; run <= runs; run++)); do
  start=$SECONDS
  # In the background, so that a signal to this script is handled at once, not after the run.
  pnpm test &
  tests=$!
  if wait "$tests"; then
    passed=$((passed + 1))
    outcome=passed
  else
    failed=$((failed + 1))
    outcome=FAILED
  fi
  echo "stress run $run/$runs $outcome in $((SECONDS - start)) s"
done
echo "stress: $passed passed, $failed failed, of $runs runs of pnpm test"
[ "$failed" -eq 0 ]
