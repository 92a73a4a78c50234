#!/usr/bin/env bash
# Benchmarks building: `rflake build -f bench/build_dag.nix --no-link -j2` against
# `nix build …` with the same arguments (Nix from PATH), each run into a fresh, empty store on
# STORE_FS (default /dev/shm) with `sandbox = false` for both. The store includes evaluation
# and writing the 300 .drv files, then 300 builds of `/bin/sh -c 'echo … > $out'`.
#
# Usage: bench/build_dag.sh   (from the repository root, after cargo build --release)
# Environment:
#   RFLAKE     the rflake binary (default target/release/rflake)
#   BENCH_OUT  where results are written (default target/bench)
#   STORE_FS   where the scratch store lives (default /dev/shm)
#   RUNS       hyperfine's --min-runs (default 5; one warm-up run first)
#   JOBS       -j (default 2)
#
# Runs as root or in a user namespace (see bench/build_lib.sh); checks first that both tools
# print the same --json result.
set -euo pipefail
source "$(dirname "$0")/build_lib.sh"
RUNS=${RUNS:-5}
JOBS=${JOBS:-2}

cd "$root"
fresh
nix_out=$("${isolated[@]}" "$NIX" build -f "$DAG" --no-link --json -j"$JOBS" 2>"$root/nix.err") || { cat "$root/nix.err" >&2; exit 1; }
fresh
rf_out=$("${isolated[@]}" "$RFLAKE" build -f "$DAG" --no-link --json -j"$JOBS")
if [ "$nix_out" != "$rf_out" ]; then
  echo "different results: nix $nix_out, rflake $rf_out" >&2
  exit 1
fi
"${isolated[@]}" hyperfine --shell=none --warmup 1 --min-runs "$RUNS" --style basic \
  --prepare "$root/fresh.sh" \
  --command-name "nix build (300 derivations, -j$JOBS)" \
  --command-name "rflake build (300 derivations, -j$JOBS)" \
  --export-json "$BENCH_OUT/build_dag.json" --export-markdown "$BENCH_OUT/build_dag.md" \
  "$NIX build -f $DAG --no-link -j$JOBS" "$RFLAKE build -f $DAG --no-link -j$JOBS"
nix_ms=$(mean_ms "$BENCH_OUT/build_dag.json" 1)
rf_ms=$(mean_ms "$BENCH_OUT/build_dag.json" 2)
echo
echo "nix: $NIX ($("$NIX" --version)); rflake: $RFLAKE; store on $STORE_FS"
echo "nix $nix_ms ms, rflake $rf_ms ms: nix / rflake = $(awk -v n="$nix_ms" -v r="$rf_ms" 'BEGIN { printf "%.2f", n / r }')"
