#!/usr/bin/env bash
# Benchmarks `registry list` on a 100-entry global registry: Nix (from PATH) against rflake.
#
# Usage: bench/registry_list.sh            (from the repository root, after `cargo build --release`)
# Environment:
#   RFLAKE     the rflake binary        (default target/release/rflake)
#   BENCH_OUT  where results are written (default target/bench)
#   ENTRIES    number of registry entries (default 100)
#
# Both tools run with the same isolated environment: a temporary HOME, XDG directories,
# NIX_CONF_DIR and store, and NIX_CONFIG naming the generated registry as `flake-registry`.
# Nothing is installed; missing tools are reported.
set -euo pipefail

RFLAKE=${RFLAKE:-target/release/rflake}
BENCH_OUT=${BENCH_OUT:-target/bench}
ENTRIES=${ENTRIES:-100}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
[ -x "$RFLAKE" ] || missing+=("$RFLAKE (run: cargo build --release, or set RFLAKE)")
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
RFLAKE=$(realpath "$RFLAKE")
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(realpath "$BENCH_OUT")

root=$(mktemp -d "${TMPDIR:-/tmp}/rflake-bench.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{home,config,cache,data,state,xdg-dirs,etc,store}

# One entry per line, cycling through the target types `registry list` prints differently.
entry() {
  local i=$1 to
  case $((i % 5)) in
    0) to="{\"type\": \"github\", \"owner\": \"owner$i\", \"repo\": \"repo$i\"}" ;;
    1) to="{\"type\": \"github\", \"owner\": \"owner$i\", \"repo\": \"repo$i\", \"ref\": \"release-$i\", \"dir\": \"sub\"}" ;;
    2) to="{\"type\": \"git\", \"url\": \"https://example.org/repo$i.git\", \"ref\": \"main\"}" ;;
    3) to="{\"type\": \"path\", \"path\": \"/srv/flakes/p$i\"}" ;;
    4) to="{\"type\": \"tarball\", \"url\": \"https://example.org/archive/t$i.tar.gz\"}" ;;
  esac
  printf '    {"from": {"type": "indirect", "id": "flake%d"}, "to": %s}' "$i" "$to"
}
registry=$root/global-registry.json
{
  printf '{\n  "flakes": [\n'
  for ((i = 0; i < ENTRIES; i++)); do
    entry "$i"
    ((i + 1 < ENTRIES)) && printf ',\n' || printf '\n'
  done
  printf '  ],\n  "version": 2\n}\n'
} >"$registry"

nix_config="experimental-features = nix-command flakes
build-users-group =
substituters =
store = $root/store
flake-registry = $registry"
isolated=(env -i "PATH=$PATH" "HOME=$root/home" "XDG_CONFIG_HOME=$root/config"
  "XDG_CACHE_HOME=$root/cache" "XDG_DATA_HOME=$root/data" "XDG_STATE_HOME=$root/state"
  "XDG_CONFIG_DIRS=$root/xdg-dirs" "NIX_CONF_DIR=$root/etc" NO_COLOR=1
  GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null "NIX_CONFIG=$nix_config")

# Benchmarking different outputs would be meaningless: check first.
nix_out=$("${isolated[@]}" nix registry list)
rflake_out=$("${isolated[@]}" "$RFLAKE" registry list)
if [ "$nix_out" != "$rflake_out" ]; then
  echo "warning: nix and rflake print different listings:" >&2
  diff <(echo "$nix_out") <(echo "$rflake_out") >&2 || true
fi
echo "$(echo "$nix_out" | wc -l) lines listed; registry: $ENTRIES entries"

"${isolated[@]}" hyperfine --shell=none --warmup 5 --min-runs 30 \
  --command-name "nix registry list" --command-name "rflake registry list" \
  --export-markdown "$BENCH_OUT/registry_list.md" --export-json "$BENCH_OUT/registry_list.json" \
  "nix registry list" "$RFLAKE registry list"

# hyperfine's JSON lists the results in command order, each with one "mean".
mapfile -t means < <(grep -o '"mean": *[0-9.e+-]*' "$BENCH_OUT/registry_list.json" | sed 's/.*: *//')
awk -v n="${means[0]}" -v r="${means[1]}" \
  'BEGIN { printf "nix mean %.2f ms, rflake mean %.2f ms, nix/rflake = %.1fx\n", n*1000, r*1000, n/r }'
echo "results: $BENCH_OUT/registry_list.md, $BENCH_OUT/registry_list.json"
