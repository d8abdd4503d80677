#!/usr/bin/env bash
# Installs what the browser app's build and tests need, once, into fixed places; every step
# is skipped when its result is already there, so running it again costs seconds.
#
#   - a wasm32-unknown-unknown Rust target: rustup's where it can download it, else Debian's
#     rustc-web toolchain with a wasm32 std built from rust-web-src (machines without access
#     to static.rust-lang.org);
#   - wasm-bindgen-cli at the exact version of Cargo.lock, trunk, wasm-opt (npm binaryen);
#   - Chromium and chromedriver (Debian), playwright-core (npm) for the end-to-end test;
#   - Mesa's Vulkan drivers (Debian), for the kernels' native tests on burn-wgpu.
#
# Tools go to $RESNET_SCALING_TOOLS (default ~/.cache/resnet-scaling/tools). It prints shell
# assignments for `eval "$(scripts/setup-web.sh)"`: WASM_CARGO (the cargo that builds for
# wasm32), PATH, and the runner settings of wasm-bindgen-test; everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="${RESNET_SCALING_TOOLS:-$HOME/.cache/resnet-scaling/tools}"
mkdir -p "$TOOLS/bin" "$TOOLS/npm"
log() { echo "setup-web: $*" >&2; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
    fi
}

# The browser and its driver; Vulkan's software driver (lavapipe), on which the native tests
# run the CubeCL kernels through burn-wgpu on machines without a GPU.
apt_install chromium chromium-driver mesa-vulkan-drivers libvulkan1

# The wasm32 target.
# A machine where rustup could not download it once is remembered (the try hangs for its timeout);
# RESNET_SCALING_WASM_TOOLCHAIN=debian takes Debian's route even where rustup works.
if [ "${RESNET_SCALING_WASM_TOOLCHAIN:-}" != debian ] && { rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' ||
    { [ ! -e "$TOOLS/rustup-cannot-download" ] &&
        { timeout 60 rustup target add wasm32-unknown-unknown >&2 2>&1 ||
            { touch "$TOOLS/rustup-cannot-download" && false; }; }; }; }; then
    WASM_CARGO="$(rustup which cargo)"
    WASM_RUSTC="$(rustup which rustc)"
else
    log "rustup cannot download the wasm32 target: using Debian's rustc-web"
    apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
    WASM_CARGO=/usr/bin/cargo
    WASM_RUSTC=/usr/bin/rustc
    sysroot="$("$WASM_RUSTC" --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib"
    stamp="$sysroot/.resnet-scaling-std"
    version="$("$WASM_RUSTC" -vV)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
        log "building the wasm32 std from rust-web-src (about a minute)"
        build="$(mktemp -d)"
        RUSTC="$WASM_RUSTC" RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Zforce-unstable-if-unmarked \
            __CARGO_DEFAULT_LIB_METADATA=resnet-scaling \
            "$WASM_CARGO" build --locked --quiet \
            --manifest-path "$("$WASM_RUSTC" --print sysroot)/lib/rustlib/src/rust/library/sysroot/Cargo.toml" \
            --profile dist --target wasm32-unknown-unknown --target-dir "$build" >&2
        mkdir -p "$sysroot"
        rm -f "$sysroot"/*.rlib
        find "$build/wasm32-unknown-unknown/dist/deps" -name '*.rlib' ! -name 'libsysroot-*' \
            -exec cp {} "$sysroot/" \;
        rm -rf "$build"
        # Wasm targets built against a replaced std no longer link (E0463): start them over.
        [ -e "$stamp" ] && rm -rf "$HOME/.cache/resnet-scaling/target-wasm"
        echo "$version" >"$stamp"
    fi
fi

# Native tools, built once with the host toolchain into one shared target dir (their common
# dependencies compile once), at opt-level 1 without LTO: they only spawn cargo and rewrite one
# wasm file, and this halves their build. No TLS: trunk is offline and the test runner talks to
# a local chromedriver.
install_crate() { # name version binary
    if [ "$("$TOOLS/bin/$3" --version 2>/dev/null | awk '{print $2}')" != "$2" ]; then
        log "cargo install $1 $2 (minutes, once)"
        local profile=(CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false
            CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)
        local install=(cargo install --quiet --root "$TOOLS" --target-dir "$TOOLS/build"
            --version "=$2" "$1" --no-default-features)
        # --locked first; a lock file whose pinned versions left the index fails it.
        env "${profile[@]}" "${install[@]}" --locked >&2 || env "${profile[@]}" "${install[@]}" >&2
    fi
}
BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print}' Cargo.lock)"
install_crate wasm-bindgen-cli "$BINDGEN_VERSION" wasm-bindgen
install_crate trunk 0.21.14 trunk
rm -rf "$TOOLS/build"

# wasm-opt: Debian's binaryen is too old for current wasm; playwright-core drives Chromium.
if [ ! -x "$TOOLS/npm/node_modules/.bin/wasm-opt" ] ||
    [ ! -d "$TOOLS/npm/node_modules/playwright-core" ]; then
    log "npm install binaryen playwright-core"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" \
        binaryen@132.0.0 playwright-core@1.65.1 >&2
fi

# trunk runs the `cargo` on PATH: the one whose rustc has the wasm32 std comes first.
WASM_BIN="$(dirname "$WASM_CARGO")"
cat <<EOF
export WASM_CARGO="$WASM_CARGO"
export WASM_RUSTC="$WASM_RUSTC"
export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$WASM_BIN:\$PATH"
export NODE_PATH="$TOOLS/npm/node_modules"
export CHROMEDRIVER=/usr/bin/chromedriver
export CHROMIUM=/usr/bin/chromium
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="$TOOLS/bin/wasm-bindgen-test-runner"
export TRUNK_TOOLS_WASM_BINDGEN="$BINDGEN_VERSION"
EOF
