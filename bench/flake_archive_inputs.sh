#!/usr/bin/env bash
# Benchmarks `flake archive` of a flake with 30 fetched inputs into a fresh store (issue #5,
# benchmark (c)): `nix flake archive` against `rflake flake archive`.
#
# The flake graph comes from bench/gen_flake_graph.py: 15 tarball inputs (`.tar.gz` of trees of
# 100-500 small files, served by bench/serve.py (a threaded server with a 128-connection backlog) on 127.0.0.1 at a free port) and 15
# `git+file://` inputs (repositories of the same kind of trees, one commit each), every fifth
# `flake = false`, declared by a `path:` root flake that is locked once with `nix flake lock`
# before timing. Every run starts from an empty store and an empty cache directory
# (XDG_CACHE_HOME), so both tools really download, unpack, export and add every input.
#
# If rflake fails, the script fails, with rflake's error.
#
# Usage: bench/flake_archive_inputs.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 10)
#   STORE_FS   directory for the stores and caches (default: a temporary directory in TMPDIR)
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-10}

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

WORK=$(mktemp -d "${STORE_FS:-${TMPDIR:-/tmp}}/rflake-bench.XXXXXX")
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
echo '{"flakes":[],"version":2}' >"$WORK/registry.json"
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 bench/gen_flake_graph.py "$WORK/graph" --tarball 15 --git 15 --files 100-500 \
  --url-base "http://127.0.0.1:$port"
python3 bench/serve.py "$port" "$WORK/graph/serve" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" \
    2>/dev/null && break
  sleep 0.1
done

root="path:$WORK/graph/root"
XDG_CACHE_HOME="$WORK/lock-cache" nix flake lock --store "$WORK/lock-store" "$root" 2>/dev/null
echo "locked $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]) - 1)' \
  "$WORK/graph/root/flake.lock") inputs with nix" >&2
chmod -R u+w "$WORK"/lock-*
rm -rf "$WORK"/lock-*

XDG_CACHE_HOME="$WORK/check-nix" nix flake archive --json --store "$WORK/check-nix-store" \
  "$root" >"$WORK/nix.json"
commands=(-n nix "env XDG_CACHE_HOME=$WORK/cache nix flake archive --store $WORK/store $root")
if XDG_CACHE_HOME="$WORK/check-rflake" "$RFLAKE" flake archive --json \
  --store "$WORK/check-rflake-store" "$root" >"$WORK/rflake.json" 2>"$WORK/rflake.err"; then
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
  echo "both archive the same paths" >&2
  commands+=(-n rflake "env XDG_CACHE_HOME=$WORK/cache $RFLAKE flake archive --store $WORK/store $root")
else
  echo "rflake failed:" >&2
  cat "$WORK/rflake.err" >&2
  exit 1
fi
chmod -R u+w "$WORK"/check-*
rm -rf "$WORK"/check-*

hyperfine -w 1 -r "$RUNS" \
  --prepare "mkdir -p $WORK/old && if [ -d $WORK/store ]; then mv $WORK/store $WORK/old/\$(date +%s%N); fi; rm -rf $WORK/cache; sync" \
  --export-json "$BENCH_OUT/flake_archive_inputs.json" \
  --export-markdown "$BENCH_OUT/flake_archive_inputs.md" \
  "${commands[@]}"

python3 - "$BENCH_OUT/flake_archive_inputs.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"nix {r['nix']:.2f} s, rflake {r['rflake']:.2f} s")
print(f"ratio nix/rflake: {r['nix']/r['rflake']:.2f}x (target >= 3x)")
PY
