#!/usr/bin/env bash
# Benchmarks `flake archive --check` and `flake archive --print-paths` (rflake additions)
# against `flake archive --json --dry-run` of the same locked flake with 50 `path:` inputs
# (bench/gen_flake_graph.py), with hyperfine. The issue's target: both under 2x the dry run.
#
# The root is locked and archived once first (so every path is in the store and --check
# exits 0); `flake-registry` points at an unused file, as no command here may read it.
#
# Usage: bench/flake_archive_check.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench): flake_archive_check.{json,md}
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 30)
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-30}
command -v hyperfine >/dev/null 2>&1 || { echo "missing: hyperfine" >&2; exit 1; }
if [ -z "${RFLAKE:-}" ]; then
  cargo build --release --locked >&2
  RFLAKE=target/release/rflake
fi
RFLAKE=$(realpath "$RFLAKE")
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(realpath "$BENCH_OUT")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rflake-bench.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
echo '{"flakes":[],"version":2}' >"$WORK/registry.json"
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"

python3 bench/gen_flake_graph.py "$WORK/graph" --path 50
root="path:$WORK/graph/root"
store="$WORK/store"
"$RFLAKE" flake archive --store "$store" "$root"
"$RFLAKE" flake archive --check --store "$store" "$root"

hyperfine -N -w 3 -r "$RUNS" \
  --export-json "$BENCH_OUT/flake_archive_check.json" \
  --export-markdown "$BENCH_OUT/flake_archive_check.md" \
  -n dry-run "$RFLAKE flake archive --json --dry-run --store $store $root" \
  -n check "$RFLAKE flake archive --check --store $store $root" \
  -n print-paths "$RFLAKE flake archive --print-paths --store $store $root"

python3 - "$BENCH_OUT/flake_archive_check.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
base = r["dry-run"]
for name in ("check", "print-paths"):
    print(f"{name}: {r[name]*1000:.1f} ms = {r[name]/base:.2f}x the dry run ({base*1000:.1f} ms) (target < 2x)")
PY
