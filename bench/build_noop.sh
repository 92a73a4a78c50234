#!/usr/bin/env bash
# Benchmarks the no-op build: `rflake build -f bench/build_dag.nix --no-link` against
# `nix build …` (Nix from PATH) when every output is valid already: Nix evaluates the 300
# derivations each run, finds their .drv files written and the wanted output valid, and builds
# nothing; rflake answers from its cache of file installables (src/eval_trace.rs) once it has
# checked the file unchanged and the .drv valid. Also `single`: one derivation (the DAG with COUNT=1), and `flake`: the DAG as a
# flake's `packages.x86_64-linux.default`, built as `.#default` (both tools then answer from
# their evaluation caches, filled by the first build). The store is on STORE_FS (default
# /dev/shm), `sandbox = false`; both tools share it, built once beforehand.
#
# Usage: bench/build_noop.sh   (from the repository root, after cargo build --release)
# Environment: RFLAKE, BENCH_OUT, STORE_FS as bench/build_dag.sh; RUNS (--min-runs, default 30;
# 5 warm-up runs first).
set -euo pipefail
source "$(dirname "$0")/build_lib.sh"
RUNS=${RUNS:-30}

cd "$root"
fresh
mkdir -p "$root/flake"
cp "$DAG" "$root/flake/build_dag.nix"
cat >"$root/flake/flake.nix" <<'FLAKE'
{
  outputs = _: { packages.x86_64-linux.default = import ./build_dag.nix { }; };
}
FLAKE
"${isolated[@]}" "$NIX" build -f "$DAG" --no-link 2>/dev/null
"${isolated[@]}" "$NIX" build -f "$DAG" --arg count 1 --no-link 2>/dev/null
"${isolated[@]}" "$NIX" build "$root/flake#default" --no-link 2>/dev/null
for w in dag single flake; do
  args="-f $DAG --no-link"
  [ $w = single ] && args="$args --arg count 1"
  [ $w = flake ] && args="$root/flake#default --no-link"
  # Nothing must be built: rflake prints nothing on stderr either.
  err=$("${isolated[@]}" "$RFLAKE" build $args 2>&1)
  if [ -n "$err" ]; then
    echo "rflake did not find the outputs valid: $err" >&2
    exit 1
  fi
  "${isolated[@]}" hyperfine --shell=none --warmup 5 --min-runs "$RUNS" --style basic \
    --command-name "nix build ($w, no-op)" --command-name "rflake build ($w, no-op)" \
    --export-json "$BENCH_OUT/build_noop_$w.json" \
    "$NIX build $args" "$RFLAKE build $args"
  nix_ms=$(mean_ms "$BENCH_OUT/build_noop_$w.json" 1)
  rf_ms=$(mean_ms "$BENCH_OUT/build_noop_$w.json" 2)
  echo "$w: nix $nix_ms ms, rflake $rf_ms ms: nix / rflake = $(awk -v n="$nix_ms" -v r="$rf_ms" 'BEGIN { printf "%.2f", n / r }')" | tee -a "$root/summary"
done
echo
echo "nix: $NIX ($("$NIX" --version)); rflake: $RFLAKE; store on $STORE_FS"
cat "$root/summary"
