#!/usr/bin/env bash
# Benchmarks substitution (issue #15): realising a 500-path closure of small files from a
# loopback HTTP binary cache into a fresh store, `nix build <path>` (Nix 2.8) against
# `rflake build <path>`.
#
# The fixture is built once: a generated expression of 500 derivations (10 layers of 50, each
# output a small file referring to two outputs of the layer below; the last layer's first
# output is the root and refers to the rest of its layer) is built by rflake into a scratch
# store, and `nix copy` writes its closure to a directory cache signed with a fresh key
# (`xz` NARs, Nix's default). nginx (Debian package nginx-light; one worker, HTTP/1.1 with
# keep-alive, as a binary cache is commonly served) serves the directory on 127.0.0.1, or
# bench/serve.py (Python's threaded server, one connection per request) with SERVER=python. Each measured run substitutes the root's closure into an empty chroot store with
# an empty XDG cache (no narinfo disk cache), with the cache as the only substituter and its
# key trusted; both tools use their default jobs settings.
#
# Usage: bench/substitute.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 10)
#   STORE_FS   directory for the stores and caches (default /dev/shm)
#   LAYERS, WIDTH  the shape of the closure (default 10 x 50)
#   KEEP       when set, the work directory (fixture, cache) is kept
#   SERVER     nginx (default) or python
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-10}
LAYERS=${LAYERS:-10}
WIDTH=${WIDTH:-50}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
SERVER=${SERVER:-nginx}
if [ "$SERVER" = nginx ]; then
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$NGINX" ] || missing+=("nginx (Debian package nginx-light), or SERVER=python")
fi
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

WORK=$(mktemp -d "${STORE_FS:-/dev/shm}/rflake-bench.XXXXXX")
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "${KEEP:-}" ] || { chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"; }' EXIT
mkdir -p "$WORK/home"
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nsandbox = false'

# The fixture: LAYERS x WIDTH derivations.
python3 - "$LAYERS" "$WIDTH" >"$WORK/closure.nix" <<'PY'
import sys
layers, width = int(sys.argv[1]), int(sys.argv[2])
print('let system = "x86_64-linux";')
print('  mk = name: refs: derivation { inherit system name; builder = "/bin/sh";')
print('    args = [ "-c" "echo ${name} ${toString refs} > $out" ]; };')
for k in range(layers):
    for j in range(width):
        if k == 0:
            refs = ""
        else:
            refs = f"p{k-1}_{j} p{k-1}_{(j+1) % width}"
        if k == layers - 1 and j == 0:
            refs += " " + " ".join(f"p{k}_{i}" for i in range(1, width))
        print(f'  p{k}_{j} = mk "p{k}-{j}" [ {refs} ];')
print(f'in p{layers-1}_0')
PY
root=$("$RFLAKE" build --store "$WORK/src" -f "$WORK/closure.nix" --no-link --print-out-paths -j 2)
nix key generate-secret --key-name bench-1 >"$WORK/key.sk"
key=$(nix key convert-secret-to-public <"$WORK/key.sk")
nix copy --store "$WORK/src" --to "file://$WORK/cache?secret-key=$WORK/key.sk" "$root" 2>/dev/null
count=$(ls "$WORK/cache" | grep -c '\.narinfo$')
echo "cache holds $count paths (root $root)" >&2
chmod -R u+w "$WORK/src"
rm -rf "$WORK/src"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ "$SERVER" = nginx ]; then
  mkdir -p "$WORK/nginx/tmp"
  cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
$([ "$(id -u)" = 0 ] && echo "user root root;")
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp;
  types { text/x-nix-narinfo narinfo; application/x-nix-nar nar; }
  default_type application/octet-stream;
  server { listen 127.0.0.1:$port; root $WORK/cache; }
}
CONF
  "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" >/dev/null 2>&1 &
else
  python3 bench/serve.py "$port" "$WORK/cache" >/dev/null 2>&1 &
fi
server=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/nix-cache-info')" \
    2>/dev/null && break
  sleep 0.1
done
url="http://127.0.0.1:$port"
opts="--option substituters $url --option trusted-public-keys $key --no-link"

# Both must substitute the whole closure and build nothing.
for tool in nix "$RFLAKE"; do
  XDG_CACHE_HOME="$WORK/check-cache" $tool build --store "$WORK/check" $opts "$root" 2>"$WORK/check.err" || {
    cat "$WORK/check.err" >&2
    exit 1
  }
  copied=$(grep -c "^copying path" "$WORK/check.err" || true)
  if [ "$copied" != "$count" ] || grep -q "^building" "$WORK/check.err"; then
    echo "$tool copied $copied of $count paths:" >&2
    head "$WORK/check.err" >&2
    exit 1
  fi
  chmod -R u+w "$WORK/check" "$WORK/check-cache" 2>/dev/null || true
  rm -rf "$WORK/check" "$WORK/check-cache"
done
echo "both substitute all $count paths (work directory $WORK, served by $SERVER at $url)" >&2

hyperfine -w 1 -r "$RUNS" \
  --prepare "chmod -R u+w $WORK/store 2>/dev/null; rm -rf $WORK/store $WORK/xdg-cache" \
  --export-json "$BENCH_OUT/substitute.json" \
  --export-markdown "$BENCH_OUT/substitute.md" \
  -n nix "env XDG_CACHE_HOME=$WORK/xdg-cache nix build --store $WORK/store $opts $root" \
  -n rflake "env XDG_CACHE_HOME=$WORK/xdg-cache $RFLAKE build --store $WORK/store $opts $root"

python3 - "$BENCH_OUT/substitute.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"nix {r['nix']*1000:.0f} ms, rflake {r['rflake']*1000:.0f} ms")
print(f"ratio nix/rflake: {r['nix']/r['rflake']:.2f}x (target >= 3x)")
PY
