#!/usr/bin/env bash
# Benchmarks archiving a big path flake into a fresh chroot store (issue #5, benchmark (b)):
# `nix flake archive path:<tree>` against `rflake flake archive path:<tree>`, on the generated
# 40,000-file, ~160 MB tree of bench/gen_tree.py with a `flake.nix` (no inputs) at its root.
# A third command, `floor`, is examples/copy_floor.rs: a bare copy of the same tree on one
# thread per core, with no NAR, hash or database. It is what creating the copy costs on this
# machine, so it bounds what any implementation can reach (see docs/performance.md).
#
# Usage: bench/flake_archive_path.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   FILES      number of files (default 40000)
#   MB         total size in MB (default 160)
#   PREPARE    how the previous run's store is disposed of before each run: `move` (default)
#              moves it aside, `delete` deletes it (see below)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 10)
#   STORE_FS   directory for the stores and caches (default: a temporary directory in TMPDIR;
#              e.g. /dev/shm to leave the disk out)
#
# Every run starts from an empty store and an empty cache directory (hyperfine --prepare).
# With PREPARE=move the previous run's store is moved aside, not deleted: deleting 40,000
# files on ext4 without a journal just before a run makes its inode allocation slow
# (`recently_deleted`) and the timings erratic. But then every run writes into memory the
# system has not used for a while, which on a VM that hands free memory back to its host (as
# this one does) costs a host page fault per page. PREPARE=delete frees the previous store's
# memory for the next run, as a plain `rm -rf` would. Both tools run in the same isolated
# environment: temporary HOME, NIX_CONFIG without substituters and with an empty global
# registry file. The tree stays in the page cache (warm-up run).
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
FILES=${FILES:-40000}
MB=${MB:-160}
RUNS=${RUNS:-10}
PREPARE=${PREPARE:-move}
case "$PREPARE" in
  move | delete) ;;
  *)
    echo "PREPARE must be 'move' or 'delete', not '$PREPARE'" >&2
    exit 1
    ;;
esac

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
if [ -z "${RFLAKE:-}" ]; then
  cargo build --release >&2
  RFLAKE=target/release/rflake
fi
RFLAKE=$(realpath "$RFLAKE")
cargo build --release --example copy_floor >&2
FLOOR=$(realpath target/release/examples/copy_floor)
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(realpath "$BENCH_OUT")

tree="$BENCH_OUT/flake-tree-$FILES-$MB"
if [ ! -f "$tree/flake.nix" ]; then
  rm -rf "$tree"
  python3 bench/gen_tree.py "$tree" "$FILES" "$MB"
  echo '{ outputs = { self }: { }; }' >"$tree/flake.nix"
  echo '{"nodes":{"root":{}},"root":"root","version":7}' >"$tree/flake.lock"
fi

WORK=$(mktemp -d "${STORE_FS:-${TMPDIR:-/tmp}}/rflake-bench.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/home"
echo '{"flakes":[],"version":2}' >"$WORK/registry.json"
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"

rflake_cmd=(flake archive)

store_path() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("path") or d["storePath"])'; }
nix_path=$(XDG_CACHE_HOME="$WORK/check-nix" nix flake archive --json \
  --store "$WORK/check-nix-store" "path:$tree" | store_path)
rflake_path=$(XDG_CACHE_HOME="$WORK/check-rflake" "$RFLAKE" "${rflake_cmd[@]}" --json \
  --store "$WORK/check-rflake-store" "path:$tree" | store_path)
if [ "$nix_path" != "$rflake_path" ]; then
  echo "store paths differ: nix $nix_path, rflake $rflake_path" >&2
  exit 1
fi
echo "both: $nix_path" >&2
chmod -R u+w "$WORK"/check-*
rm -rf "$WORK"/check-*

if [ "$PREPARE" = move ]; then
  dispose="mkdir -p $WORK/old && mv $WORK/store $WORK/old/\$(date +%s%N)"
else
  dispose="chmod -R u+w $WORK/store && rm -rf $WORK/store"
fi
hyperfine -w 1 -r "$RUNS" \
  --prepare "if [ -d $WORK/store ]; then $dispose; fi; rm -rf $WORK/cache; sync" \
  --export-json "$BENCH_OUT/flake_archive_path.json" \
  --export-markdown "$BENCH_OUT/flake_archive_path.md" \
  -n nix "env XDG_CACHE_HOME=$WORK/cache nix flake archive --store $WORK/store path:$tree" \
  -n rflake "env XDG_CACHE_HOME=$WORK/cache $RFLAKE ${rflake_cmd[*]} --store $WORK/store path:$tree" \
  -n floor "mkdir -p $WORK/store && $FLOOR $tree $WORK/store/copy"

python3 - "$BENCH_OUT/flake_archive_path.json" "${rflake_cmd[*]}" "$PREPARE" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n, f, b = r["nix"], r["rflake"], r["floor"]
cpu = lambda x: x["user"] + x["system"]
print(f"nix flake archive {n['mean']:.2f} s (cpu {cpu(n):.2f} s), "
      f"rflake {sys.argv[2]} {f['mean']:.2f} s (cpu {cpu(f):.2f} s), "
      f"floor {b['mean']:.2f} s (cpu {cpu(b):.2f} s), PREPARE={sys.argv[3]}")
print(f"ratio nix/rflake: {n['mean']/f['mean']:.2f}x (target >= 3x); "
      f"nix/floor: {n['mean']/b['mean']:.2f}x (a bare copy: about the best any implementation can do here)")
PY
