#!/usr/bin/env bash
# Benchmarks `flake archive --to` a remote store (issue #13): `nix flake archive` against
# `rflake flake archive`, of a locked flake with 50 small `path:` inputs (bench/gen_flake_graph.py),
# into an empty store on the far side of
#
#   ssh-ng   `nix-daemon --stdio` run by a loopback OpenSSH server (ssh-ng://127.0.0.1)
#   ssh      `nix-store --serve --write` run by the same server (ssh://127.0.0.1)
#   daemon   a `nix-daemon` on a private store, through its socket (unix://SOCKET)
#
# Nix 2.8 is on the far end for both tools. The server and the daemon use a private store in
# the benchmark's directory (the remote's NIX_CONF_DIR, set through sshd's SetEnv); temporary
# host and user keys; NIX_SSHOPTS points ssh at them, so no ~/.ssh is read or written. Before
# every run the remote store is emptied (hyperfine --prepare); both tools have the 51 paths in
# their local store already (a warm-up archive), so what is timed is locking plus the copy.
#
# Needs: hyperfine, nix (nix-bin), python3, git, OpenSSH (openssh-server, openssh-client).
#
# Usage: bench/flake_archive_remote.sh        (from the repository root)
# Environment:
#   BENCH_OUT  where results are written (default target/bench)
#   RFLAKE     the rflake binary (default target/release/rflake, built here)
#   RUNS       measured runs per command (default 10)
#   KINDS      which remotes to time (default "ssh-ng ssh daemon")
set -euo pipefail

BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-10}
KINDS=${KINDS:-ssh-ng ssh daemon}

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

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rflake-bench-remote.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  chmod -R u+w "$WORK" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# The flake: 50 path inputs, locked once with Nix.
mkdir -p "$WORK/home"
echo '{"flakes":[],"version":2}' >"$WORK/registry.json"
export HOME="$WORK/home" XDG_CACHE_HOME="$WORK/cache" XDG_CONFIG_HOME="$WORK/home/.config"
export XDG_DATA_HOME="$WORK/home/.local/share" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export NIX_CONFIG=$'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nflake-registry = '"$WORK/registry.json"
python3 bench/gen_flake_graph.py "$WORK/graph" --path 50 >/dev/null
root="path:$WORK/graph/root"
nix flake lock --store "$WORK/lock-store" "$root" 2>/dev/null

# The far side: its Nix configuration and store.
remote="$WORK/remote"
mkdir -p "$remote/etc" "$remote/state" "$remote/home"
printf 'experimental-features = nix-command flakes\nbuild-users-group =\nsubstituters =\nstore = %s\n' \
  "$remote/store" >"$remote/etc/nix.conf"

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
SetEnv NIX_CONF_DIR=$remote/etc NIX_STATE_DIR=$remote/state HOME=$remote/home NIX_USER_CONF_FILES=$remote/etc/nix.conf
EOF
mkdir -p /run/sshd 2>/dev/null || true
/usr/sbin/sshd -D -e -f "$WORK/sshd_config" 2>/dev/null &
pids+=($!)
export NIX_SSHOPTS="-p $port -i $WORK/user_key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -F /dev/null"

# A nix-daemon on the same private store, for unix://.
socket="$remote/daemon.sock"
env -i PATH="$PATH" HOME="$remote/home" NIX_CONF_DIR="$remote/etc" NIX_STATE_DIR="$remote/state" \
  NIX_DAEMON_SOCKET_PATH="$socket" nix-daemon >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  [ -S "$socket" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

# Both tools have every path locally; each run starts with an empty remote store.
nix flake archive --store "$WORK/store-nix" "$root"
"$RFLAKE" flake archive --store "$WORK/store-rflake" "$root"
prepare="if [ -e $remote/store ]; then chmod -R u+w $remote/store; rm -rf $remote/store; fi"

for kind in $KINDS; do
  case $kind in
    ssh-ng) to="ssh-ng://127.0.0.1" ;;
    ssh) to="ssh://127.0.0.1" ;;
    daemon) to="unix://$socket" ;;
    *)
      echo "unknown kind '$kind' (known: ssh-ng, ssh, daemon)" >&2
      exit 1
      ;;
  esac
  eval "$prepare"
  if ! "$RFLAKE" flake archive --store "$WORK/store-rflake" --to "$to" "$root" 2>"$WORK/err"; then
    echo "rflake failed:" >&2
    cat "$WORK/err" >&2
    exit 1
  fi
  hyperfine -w 1 -r "$RUNS" --prepare "$prepare" \
    --export-json "$BENCH_OUT/flake_archive_remote_$kind.json" \
    -n nix "nix flake archive --store $WORK/store-nix --to $to $root" \
    -n rflake "$RFLAKE flake archive --store $WORK/store-rflake --to $to $root"
  python3 - "$BENCH_OUT/flake_archive_remote_$kind.json" "$kind" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"{sys.argv[2]}: nix {r['nix']*1000:.0f} ms, rflake {r['rflake']*1000:.0f} ms, "
      f"nix/rflake {r['nix']/r['rflake']:.2f}x (target >= 2x)")
PY
done
