#!/usr/bin/env bash
# Benchmarks `flake archive --json --dry-run` of a locked flake with 50 inputs: `nix flake
# archive` against `rflake flake archive`, start to exit, on two graphs:
#
#   mixed   25 `path:` and 25 `git+file://` inputs (issue #5, benchmark (a))
#   path    50 `path:` inputs (issue #11)
#
# The flake graphs come from bench/gen_flake_graph.py (small trees; every fifth input
# `flake = false`), declared by a `path:` root flake that is locked once with `nix flake lock`
# before timing. A dry run prints the store paths from the lock file without fetching the
# inputs or reading their flake.nix (locking is lazy); each tool has its own store, which holds
# the root after the warm-up runs, as it would on a developer's machine.
#
# If rflake fails, the script fails, with rflake's error.
#
# Usage: bench/flake_archive_dry_run.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench): flake_archive_dry_run.* for
#              the mixed graph, flake_archive_dry_run_path.* for the path graph
#   GRAPHS     which graphs to time (default "mixed path")
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 30)
#   STORE_FS   the directory to hold the graphs and stores, e.g. /dev/shm (default: $TMPDIR,
#              else /tmp)
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-30}
GRAPHS=${GRAPHS:-mixed path}

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
  cargo build --release --locked >&2
  RFLAKE=target/release/rflake
fi
RFLAKE=$(realpath "$RFLAKE")
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(realpath "$BENCH_OUT")

WORK=$(mktemp -d "${STORE_FS:-${TMPDIR:-/tmp}}/rflake-bench.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
echo '{"flakes":[],"version":2}' >"$WORK/registry.json"
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"

# Times one graph: $1 is its name, the rest the arguments of gen_flake_graph.py.
bench_graph() {
  local name=$1 out
  shift
  local dir="$WORK/$name"
  mkdir -p "$dir"
  case $name in
    mixed) out=flake_archive_dry_run ;;
    *) out=flake_archive_dry_run_$name ;;
  esac
  python3 bench/gen_flake_graph.py "$dir/graph" "$@"
  local root="path:$dir/graph/root"
  nix flake lock --store "$dir/lock-store" "$root" 2>/dev/null
  echo "$name: locked $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]) - 1)' \
    "$dir/graph/root/flake.lock") inputs with nix" >&2

  local nix_cmd="nix flake archive --json --dry-run --store $dir/store-nix $root"
  local rflake_cmd="$RFLAKE flake archive --json --dry-run --store $dir/store-rflake $root"
  $nix_cmd >"$dir/nix.json"
  if ! $rflake_cmd >"$dir/rflake.json" 2>"$dir/rflake.err"; then
    echo "rflake failed:" >&2
    cat "$dir/rflake.err" >&2
    exit 1
  fi
  if ! python3 - "$dir/nix.json" "$dir/rflake.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
  then
    echo "$name: outputs differ:" >&2
    diff <(python3 -m json.tool "$dir/nix.json") <(python3 -m json.tool "$dir/rflake.json") >&2 || true
    exit 1
  fi
  echo "$name: both print the same JSON ($(wc -c <"$dir/nix.json") bytes)" >&2

  hyperfine -N -w 3 -r "$RUNS" \
    --export-json "$BENCH_OUT/$out.json" \
    --export-markdown "$BENCH_OUT/$out.md" \
    -n nix "$nix_cmd" -n rflake "$rflake_cmd"

  python3 - "$BENCH_OUT/$out.json" "$name" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
name = sys.argv[2]
print(f"{name}: nix {r['nix']*1000:.1f} ms, rflake {r['rflake']*1000:.1f} ms")
print(f"{name}: ratio nix/rflake: {r['nix']/r['rflake']:.2f}x (target >= 5x)")
PY
}

for graph in $GRAPHS; do
  case $graph in
    mixed) bench_graph mixed --path 25 --git 25 ;;
    path) bench_graph path --path 50 ;;
    *)
      echo "unknown graph '$graph' (known: mixed, path)" >&2
      exit 1
      ;;
  esac
done
