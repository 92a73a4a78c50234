#!/usr/bin/env bash
# Benchmarks NAR hashing of a generated 40,000-file, ~160 MB tree: `nix hash path` against
# rflake's library (examples/nar_hash.rs, which prints the same SRI hash).
#
# Usage: bench/nar_hash.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   FILES      number of files (default 40000)
#   MB         total size in MB (default 160)
#
# The tree is generated once under BENCH_OUT (bench/gen_tree.py, fixed seed) and reused.
# Both tools run warm (the tree is in the page cache after the warm-up runs) in an isolated
# environment: temporary HOME and store, NIX_CONFIG without substituters.
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
FILES=${FILES:-40000}
MB=${MB:-160}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
cargo build --release --example nar_hash >&2
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(realpath "$BENCH_OUT")
example=$(realpath target/release/examples/nar_hash)

tree="$BENCH_OUT/tree-$FILES-$MB"
[ -d "$tree" ] || python3 bench/gen_tree.py "$tree" "$FILES" "$MB"

root=$(mktemp -d "${TMPDIR:-/tmp}/rflake-bench.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{home,store}
export HOME="$root/home"
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters ='

nix_out=$(nix hash path --store "$root/store" "$tree")
rflake_out=$("$example" "$tree")
if [ "$nix_out" != "$rflake_out" ]; then
  echo "hashes differ: nix $nix_out, rflake $rflake_out" >&2
  exit 1
fi
echo "both: $nix_out" >&2

hyperfine -N -w 3 -r 20 \
  --export-json "$BENCH_OUT/nar_hash.json" --export-markdown "$BENCH_OUT/nar_hash.md" \
  -n nix "nix hash path --store $root/store $tree" \
  -n rflake "$example $tree"
python3 - "$BENCH_OUT/nar_hash.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"nix {r['nix']*1000:.1f} ms, rflake {r['rflake']*1000:.1f} ms: {r['nix']/r['rflake']:.2f}x")
PY
