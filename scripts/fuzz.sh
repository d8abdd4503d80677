#!/usr/bin/env bash
# Fuzzes every reader of user input (tests/fuzz/main.rs) for SECONDS seconds per target
# (default 60), under a memory cap so that an over-large allocation aborts and fails the
# run; prints the inputs run per target. A failing input is saved into
# tests/fuzz/corpus/<target>/crash-<hash>: commit it, it stays as a regression test.
# The test command runs the same targets for 2 seconds each.
#   scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 600 config weights
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/resnet-scaling/target}"
seconds="${1:-60}"
shift || true
cargo test --release -p native --test fuzz --locked --no-run
# 6 GiB of address space: far above what any target needs.
ulimit -v $((6 * 1024 * 1024))
log="$(mktemp)"
status=0
FUZZ_SECONDS="$seconds" cargo test --release -p native --test fuzz --locked -q \
    -- --nocapture "$@" >"$log" 2>&1 || status=$?
grep -oE '(fuzz [a-z]+: .*|test result.*|error.*)' "$log" || cat "$log"
rm -f "$log"
exit "$status"
