#!/usr/bin/env bash
# Benchmarks `flake archive --json --dry-run` of a locked flake with 50 inputs (issue #5,
# benchmark (a)): `nix flake archive` against `rflake flake archive`, start to exit.
#
# The flake graph comes from bench/gen_flake_graph.py: 25 `path:` and 25 `git+file://` inputs
# (small trees; every fifth input `flake = false`), declared by a `path:` root flake that is
# locked once with `nix flake lock` before timing. A dry run prints the store paths from the
# lock file without fetching the inputs; each tool has its own store, which holds the root
# after the warm-up runs, as it would on a developer's machine.
#
# If rflake fails, the script fails, with rflake's error.
#
# Usage: bench/flake_archive_dry_run.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 30)
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-30}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
command -v git >/dev/null 2>&1 || missing+=("git")
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
if [ -z "${RFLAKE:-}" ]; then
  cargo build --release >&2
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
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"

python3 bench/gen_flake_graph.py "$WORK/graph" --path 25 --git 25
root="path:$WORK/graph/root"
nix flake lock --store "$WORK/lock-store" "$root" 2>/dev/null
echo "locked $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]) - 1)' \
  "$WORK/graph/root/flake.lock") inputs with nix" >&2

nix_cmd="nix flake archive --json --dry-run --store $WORK/store-nix $root"
rflake_cmd="$RFLAKE flake archive --json --dry-run --store $WORK/store-rflake $root"
$nix_cmd >"$WORK/nix.json"
commands=(-n nix "$nix_cmd")
if $rflake_cmd >"$WORK/rflake.json" 2>"$WORK/rflake.err"; then
  if ! python3 - "$WORK/nix.json" "$WORK/rflake.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
  then
    echo "outputs differ:" >&2
    diff <(python3 -m json.tool "$WORK/nix.json") <(python3 -m json.tool "$WORK/rflake.json") >&2 || true
    exit 1
  fi
  echo "both print the same JSON ($(wc -c <"$WORK/nix.json") bytes)" >&2
  commands+=(-n rflake "$rflake_cmd")
else
  echo "rflake failed:" >&2
  cat "$WORK/rflake.err" >&2
  exit 1
fi

hyperfine -N -w 3 -r "$RUNS" \
  --export-json "$BENCH_OUT/flake_archive_dry_run.json" \
  --export-markdown "$BENCH_OUT/flake_archive_dry_run.md" \
  "${commands[@]}"

python3 - "$BENCH_OUT/flake_archive_dry_run.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"nix {r['nix']*1000:.1f} ms, rflake {r['rflake']*1000:.1f} ms")
print(f"ratio nix/rflake: {r['nix']/r['rflake']:.2f}x (target >= 5x)")
PY
