#!/usr/bin/env bash
# Shared by the wasm builds (scripts/build-web.sh, scripts/build-npm.sh); source it.
#
# Sets RUSTFLAGS so panic locations name source files relative to this checkout and the crate
# registry, not the builder's home directory (and the wasm is the same on every machine).
#
# `std_rebuilt FLAGS WHAT_IS_LOST CMD...` runs the build command CMD with std rebuilt from
# the toolchain's `rust-src` (build-std=std,panic_abort) under the extra unstable rustc FLAGS,
# allowed on stable by RUSTC_BOOTSTRAP for that command only. If `rust-src` is missing or the
# toolchain rejects a switch, it warns, saying WHAT_IS_LOST, and fails, so the caller can fall
# back to the ordinary build.
cargo fetch -q  # so the registry directories named below exist on a fresh machine
RUSTFLAGS="--remap-path-prefix=$PWD=runmesh"
for index in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  RUSTFLAGS="$RUSTFLAGS --remap-path-prefix=${index%/}=crates"
done
export RUSTFLAGS

std_rebuilt() {
  local flags=$1 lost=$2
  shift 2
  local library
  library="$(rustc --print sysroot)/lib/rustlib/src/rust/library"
  if [ ! -d "$library" ]; then
    echo "warning: the toolchain has no rust-src (rustup component add rust-src): $lost" >&2
    return 1
  fi
  # std's own dependencies (moto-rt, …): a fresh machine's registry lacks them, and the
  # offline builds (Trunk.toml) cannot fetch them. Its manifest uses unstable keys.
  RUSTC_BOOTSTRAP=1 cargo fetch -q --manifest-path "$library/Cargo.toml" ||
    echo "warning: could not fetch std's dependencies; the std rebuild may fail" >&2
  if RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
    RUSTFLAGS="$RUSTFLAGS -Zunstable-options $flags" "$@"; then
    return 0
  fi
  echo "warning: this toolchain rejected build-std or $flags: $lost" >&2
  return 1
}
