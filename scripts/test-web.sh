#!/usr/bin/env bash
# The browser app's tests (scripts/test.sh runs them after the native ones):
#   1. core's model, training and statistics compiled to wasm32, in headless Chromium
#      (wasm-bindgen-test): the page's driver on the CPU fallback and on WebGPU against the
#      native golden losses, the analysis, and the steps per second of both (printed);
#   2. the site built by trunk, served on localhost and driven in headless Chromium
#      (tests/e2e/web.mjs), with WebGPU and without; screenshots in $E2E_OUT.
# scripts/setup-web.sh installs what this needs, once.
set -euo pipefail
cd "$(dirname "$0")/.."
# The MNIST asset is built natively, before the wasm toolchain comes first on PATH.
scripts/web-assets.sh
eval "$(scripts/setup-web.sh)"
export CARGO_TARGET_DIR="${RESNET_SCALING_WASM_TARGET:-$HOME/.cache/resnet-scaling/target-wasm}"
# Lints of the wasm32 build (the page and core as it compiles there), every warning an error;
# Debian's rustc-web route ships no clippy, and says so.
if "$WASM_CARGO" clippy --version >/dev/null 2>&1; then
    (cd web && "$WASM_CARGO" clippy --release --locked --target wasm32-unknown-unknown \
        --all-targets -- -D warnings)
else
    echo "test-web: no clippy for $WASM_CARGO: the wasm32 lints are skipped" >&2
fi
(cd web && WASM_BINDGEN_TEST_TIMEOUT=900 "$WASM_CARGO" test --release --locked \
    --target wasm32-unknown-unknown --test browser -- --nocapture)
trunk build --release
node tests/e2e/web.mjs dist "${E2E_OUT:-$CARGO_TARGET_DIR/e2e}"
