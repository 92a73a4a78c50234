#!/usr/bin/env bash
# Benchmarks `flake archive` into a remote store (issue #13): `nix flake archive` against
# `rflake flake archive`, of a locked flake with 50 small `path:` inputs (bench/gen_flake_graph.py),
# or of the 40,000-file path flake of bench/gen_tree.py (`tree-*` kinds), into an empty store on
# the far side of
#
#   ssh-ng   `--to ssh-ng://127.0.0.1`: `nix-daemon --stdio` run by a loopback OpenSSH server
#   ssh      `--to ssh://127.0.0.1`: `nix-store --serve --write` run by the same server
#   daemon   `--to unix://SOCKET`: a `nix-daemon` on a private store, through its socket
#   store    `--store unix://SOCKET`: the same daemon as the command's own store (Nix fetches
#            into it; rflake fetches into its staging store, then copies)
#   tree-ssh-ng, tree-ssh, tree-daemon, tree-store: the same with the 40,000-file flake
#
# Nix 2.8 is on the far end for both tools. The server and the daemon use a private store:
# `/nix/store` of a private mount namespace in which a directory of the benchmark is mounted on
# /nix (needs root; the machine's /nix is untouched), configured by the remote's NIX_CONF_DIR
# (set through sshd's SetEnv); temporary host and user keys; NIX_SSHOPTS points ssh at them, so no ~/.ssh is read or written. Before
# every run the remote store is emptied (hyperfine --prepare); both tools have the 51 paths in
# their local store already (a warm-up archive), so what is timed is locking plus the copy.
#
# Needs: root (unshare, mount), hyperfine, nix (nix-bin), python3, git, OpenSSH
# (openssh-server, openssh-client).
#
# Usage: bench/flake_archive_remote.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 10)
#   KINDS      which remotes to time (default "ssh-ng ssh daemon store")
#   STORE_FS   the directory all stores live under (default $TMPDIR or /tmp; e.g. /dev/shm)
#   ROUNDS     how many times each comparison is repeated, rotating the order (default 1)
#   RFLAKE_PARAMS  store URI parameters for rflake's runs only (e.g. max-connections=1, to
#              compare rflake with itself via RFLAKE_B)
#   RFLAKE_B   a second rflake binary (or the same) timed as `rflake-b`, with RFLAKE_B_PARAMS
#   PRESENT    when 1, also time each command with every path already in the remote store:
#              what is left (connecting, locking, one validity query) is the fixed cost, and
#              the difference to the full run is the copy itself
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-10}
KINDS=${KINDS:-ssh-ng ssh daemon store}
ROUNDS=${ROUNDS:-1}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
command -v python3 >/dev/null 2>&1 || missing+=("python3")
command -v ssh-keygen >/dev/null 2>&1 || missing+=("ssh-keygen (Debian package openssh-client)")
[ -x /usr/sbin/sshd ] || missing+=("sshd (Debian package openssh-server)")
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
export RFLAKE BENCH_OUT

# The far side's store is `/nix/store` in a private mount namespace (a temporary directory is
# mounted on /nix there, the machine's /nix is never touched): Nix 2.8 with `--store unix://…`
# reads the daemon's paths directly from /nix/store, so a chroot store would not do.
if [ -z "${RFLAKE_BENCH_NS:-}" ]; then
  exec unshare -m --propagation private env RFLAKE_BENCH_NS=1 bash "$0" "$@"
fi

WORK=$(mktemp -d "${STORE_FS:-${TMPDIR:-/tmp}}/rflake-bench-remote.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  chmod -R u+w "$WORK" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/nix"
mount --bind "$WORK/nix" /nix

# The flake: 50 path inputs, locked once with Nix.
mkdir -p "$WORK/home"
echo '{"flakes":[],"version":2}' >"$WORK/registry.json"
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache" XDG_CONFIG_HOME="$WORK/home/.config"
export XDG_DATA_HOME="$WORK/home/.local/share" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"
python3 bench/gen_flake_graph.py "$WORK/graph" --path 50 >/dev/null
root="path:$WORK/graph/root"
nix flake lock --store "$WORK/lock-store" "$root" 2>/dev/null
tree_root=
if [[ " $KINDS " == *" tree-"* ]]; then
  python3 bench/gen_tree.py "$WORK/tree" >/dev/null
  echo '{ outputs = { self }: { }; }' >"$WORK/tree/flake.nix"
  echo '{"nodes":{"root":{}},"root":"root","version":7}' >"$WORK/tree/flake.lock"
  tree_root="path:$WORK/tree"
fi

# The far side: its Nix configuration; its store is /nix/store (see above).
remote="$WORK/remote"
mkdir -p "$remote/etc" "$remote/home"
# `store = local`: with `auto`, a daemon whose state directory does not exist yet would connect
# to its own socket (NIX_DAEMON_SOCKET_PATH) and recurse.
printf 'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nstore = local\n' \
  >"$remote/etc/nix.conf"

# A loopback OpenSSH server with temporary keys, whose sessions use that configuration.
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/user_key"
cp "$WORK/user_key.pub" "$WORK/authorized_keys"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $WORK/host_key
AuthorizedKeysFile $WORK/authorized_keys
PidFile $WORK/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
LogLevel ERROR
SetEnv NIX_CONF_DIR=$remote/etc HOME=$remote/home NIX_USER_CONF_FILES=$remote/etc/nix.conf
EOF
mkdir -p /run/sshd 2>/dev/null || true
/usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>/dev/null &
pids+=($!)
export NIX_SSHOPTS="-p $port -i $WORK/user_key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -F /dev/null"

# A nix-daemon on the same private store, for unix://.
socket="$remote/daemon.sock"
env -i PATH="$PATH" HOME="$remote/home" NIX_CONF_DIR="$remote/etc" NIX_DAEMON_SOCKET_PATH="$socket" nix-daemon >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  [ -S "$socket" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

# Both tools have every path locally; each run starts with an empty remote store.
for r in "$root" $tree_root; do
  nix flake archive --store "$WORK/store-nix" "$r"
  "$RFLAKE" flake archive --store "$WORK/store-rflake" "$r"
done
prepare="chmod -R u+w /nix 2>/dev/null; rm -rf /nix/store /nix/var"
with_params() { # URI PARAMS
  if [ -z "$2" ]; then echo "$1"; elif [[ "$1" == *"?"* ]]; then echo "$1&$2"; else echo "$1?$2"; fi
}

for round in $(seq "$ROUNDS"); do
for kind in $KINDS; do
  flake=$root
  case $kind in
    tree-*) flake=$tree_root ;;
  esac
  mode=--to
  case ${kind#tree-} in
    ssh-ng) to="ssh-ng://127.0.0.1" ;;
    ssh) to="ssh://127.0.0.1" ;;
    daemon) to="unix://$socket" ;;
    store)
      to="unix://$socket"
      mode=--store
      ;;
    *)
      echo "unknown kind '$kind' (known: ssh-ng, ssh, daemon, store, tree-<kind>)" >&2
      exit 1
      ;;
  esac
  # With --store the remote is the command's store; otherwise the local store is the source.
  nix_cmd="nix flake archive --store $WORK/store-nix --to $to $flake"
  rflake_to=$(with_params "$to" "${RFLAKE_PARAMS:-}")
  rflake_cmd="$RFLAKE flake archive --store $WORK/store-rflake --to $rflake_to $flake"
  b_cmd=
  if [ -n "${RFLAKE_B:-}" ]; then
    b_cmd="$RFLAKE_B flake archive --store $WORK/store-rflake --to $(with_params "$to" "${RFLAKE_B_PARAMS:-}") $flake"
  fi
  if [ $mode = --store ]; then
    nix_cmd="nix flake archive --store $to $flake"
    rflake_cmd="$RFLAKE flake archive --store $rflake_to $flake"
    [ -z "$b_cmd" ] || b_cmd="$RFLAKE_B flake archive --store $(with_params "$to" "${RFLAKE_B_PARAMS:-}") $flake"
  fi
  for c in "$nix_cmd" "$rflake_cmd"; do
    eval "$prepare"
    if ! $c 2>"$WORK/err"; then
      echo "failed: $c" >&2
      cat "$WORK/err" >&2
      exit 1
    fi
  done
  # Rotate which command goes first from round to round.
  all=(nix "$nix_cmd" rflake "$rflake_cmd")
  [ -z "$b_cmd" ] || all+=(rflake-b "$b_cmd")
  n=$((${#all[@]} / 2))
  cmds=()
  for i in $(seq 0 $((n - 1))); do
    j=$(((i + round - 1) % n))
    cmds+=(-n "${all[2 * j]}" "${all[2 * j + 1]}")
  done
  json="$BENCH_OUT/flake_archive_remote_${kind}_$round.json"
  hyperfine -w 1 -r "$RUNS" --prepare "$prepare" --export-json "$json" "${cmds[@]}" >&2
  python3 - "$json" "$kind" "$round" <<'PY'
import json, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
target = "1.5x" if sys.argv[2].startswith("tree-") else "2x"
def fmt(name):
    r = res[name]
    return f"{name} {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} (min {r['min']*1000:.0f})"
line = f"{sys.argv[2]} round {sys.argv[3]}: " + ", ".join(fmt(n) for n in res)
line += f"; nix/rflake {res['nix']['mean']/res['rflake']['mean']:.2f}x (target >= {target})"
if "rflake-b" in res:
    line += f"; rflake-b/rflake {res['rflake-b']['mean']/res['rflake']['mean']:.2f}x"
print(line)
PY
  if [ "${PRESENT:-0}" = 1 ]; then
    $rflake_cmd 2>/dev/null
    json="$BENCH_OUT/flake_archive_remote_${kind}_present_$round.json"
    hyperfine -w 1 -r "$RUNS" --export-json "$json" "${cmds[@]}" >&2
    python3 - "$json" "$kind" <<'PY'
import json, sys
res = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print(f"{sys.argv[2]} (all present): " + ", ".join(
    f"{n} {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f}" for n, r in res.items()))
PY
  fi
done
done
