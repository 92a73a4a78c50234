#!/usr/bin/env bash
# Benchmarks fetching a tarball into a fresh store: `nix flake prefetch <url>` against
# `rflake flake prefetch <url>`, for a .tar.gz and a .tar.zst of the generated 40,000-file,
# ~160 MB tree (bench/gen_tree.py), served by `python3 -m http.server` on 127.0.0.1.
#
# Usage: bench/fetch_tarball.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   FILES      number of files (default 40000)
#   MB         total size in MB (default 160)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 10)
#   STORE_FS   directory for the stores and caches (default: a temporary directory in TMPDIR;
#              e.g. /dev/shm to leave the disk out)
#
# Every run starts from an empty store and an empty cache directory (hyperfine --prepare), so
# each one downloads, unpacks, hashes and registers the whole tree. The previous run's store is
# moved aside, not deleted: deleting 40,000 files just before a run makes ext4's inode
# allocation slow (`recently_deleted`) and the timings erratic. Both tools run in the same
# isolated environment: temporary HOME, NIX_CONFIG without substituters and with a global
# registry file that does not exist.
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
FILES=${FILES:-40000}
MB=${MB:-160}
RUNS=${RUNS:-10}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
command -v zstd >/dev/null 2>&1 || missing+=("zstd (Debian package zstd)")
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

tree="$BENCH_OUT/tree-$FILES-$MB"
[ -d "$tree" ] || python3 bench/gen_tree.py "$tree" "$FILES" "$MB"

serve="$BENCH_OUT/serve-$FILES-$MB"
if [ ! -f "$serve/tree.tar.zst" ]; then
  mkdir -p "$serve"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1700000000 \
    -C "$(dirname "$tree")" -cf "$serve/tree.tar" "$(basename "$tree")"
  gzip -6 -n -c "$serve/tree.tar" >"$serve/tree.tar.gz"
  zstd -q -3 -f "$serve/tree.tar" -o "$serve/tree.tar.zst"
  rm "$serve/tree.tar"
fi

root=$(mktemp -d "${STORE_FS:-${TMPDIR:-/tmp}}/rflake-bench.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$serve" "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; chmod -R u+w "$root" 2>/dev/null; rm -rf "$root"' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" \
    2>/dev/null && break
  sleep 0.1
done

mkdir -p "$root/home"
export HOME="$root/home"
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$root/no-registry.json"

hash_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])'; }

for ext in tar.gz tar.zst; do
  url="http://127.0.0.1:$port/tree.$ext"
  nix_hash=$(env XDG_CACHE_HOME="$root/check-nix" nix flake prefetch --json \
    --store "$root/check-nix-store" "$url" | hash_of)
  rflake_hash=$(env XDG_CACHE_HOME="$root/check-rflake" "$RFLAKE" flake prefetch --json \
    --store "$root/check-rflake-store" "$url" | hash_of)
  if [ "$nix_hash" != "$rflake_hash" ]; then
    echo "$ext: hashes differ: nix $nix_hash, rflake $rflake_hash" >&2
    exit 1
  fi
  echo "$ext: both $nix_hash" >&2
  rm -rf "$root"/check-*

  hyperfine -w 1 -r "$RUNS" \
    --prepare "mkdir -p $root/old && if [ -d $root/store ]; then mv $root/store $root/old/\$(date +%s%N); fi; rm -rf $root/cache; sync" \
    --export-json "$BENCH_OUT/fetch_tarball_$ext.json" \
    --export-markdown "$BENCH_OUT/fetch_tarball_$ext.md" \
    -n "nix $ext" "env XDG_CACHE_HOME=$root/cache nix flake prefetch --store $root/store $url" \
    -n "rflake $ext" "env XDG_CACHE_HOME=$root/cache $RFLAKE flake prefetch --store $root/store $url"
done

python3 - "$BENCH_OUT" <<'PY'
import json, sys
for ext in ["tar.gz", "tar.zst"]:
    r = {x["command"]: x["mean"] for x in json.load(open(f"{sys.argv[1]}/fetch_tarball_{ext}.json"))["results"]}
    n, f = r[f"nix {ext}"], r[f"rflake {ext}"]
    print(f"{ext}: nix {n*1000:.0f} ms, rflake {f*1000:.0f} ms: {n/f:.2f}x")
PY
