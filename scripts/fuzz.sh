#!/usr/bin/env bash
# Runs each fuzz target (core/fuzz) for RUNS executions (default 10,000,000) with its
# limits: one allocation over 256 MiB aborts (core/fuzz/src/lib.rs, since libFuzzer's
# -malloc_limit_mb needs a sanitizer), RSS over 2 GiB and an input over 10 s are crashes.
# New crashes land in core/fuzz/artifacts/<target>/; move each, once fixed, to
# core/fuzz/regressions/<target>/ so `cargo test` replays it (under a memory cap).
#   bash scripts/fuzz.sh                       # every target, 10M executions each
#   RUNS=100000 bash scripts/fuzz.sh sync_hub  # one target, fewer
set -euo pipefail
cd "$(dirname "$0")/../core"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
runs=${RUNS:-10000000}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire_decode doc_load apply_changes sync_hub)
# This machine's only toolchain is stable; cargo-fuzz needs nightly flags.
export RUSTC_BOOTSTRAP=1
cargo fuzz build --sanitizer none -O
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  extra=()
  [ -d "fuzz/regressions/$t" ] && extra=("fuzz/regressions/$t")
  echo "== $t: $runs executions"
  cargo fuzz run "$t" --sanitizer none -O "fuzz/corpus/$t" "${extra[@]}" -- \
    -runs="$runs" -malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
done
