# Shared by bench/build_dag.sh and bench/build_noop.sh (sourced, not run): checks the tools,
# makes a scratch directory on STORE_FS and re-runs the calling script in a private mount
# namespace where that directory's `nix` is bind-mounted on /nix. Both tools then use their
# default store (/nix/store, state in /nix/var/nix) with `sandbox = false`: no chroot store, so
# neither needs a namespace or a sandbox per build, and the host's /nix is never written
# (the mount is private to the namespace; the host's /nix is only the mount point).
#
# After sourcing: $RFLAKE, $NIX, $root (the scratch directory), $DAG (bench/build_dag.nix),
# $BENCH_OUT, `isolated` (an env command line for both tools), `fresh` (empties /nix, refusing
# unless /nix is the scratch directory's mount).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RFLAKE=${RFLAKE:-$repo/target/release/rflake}
BENCH_OUT=${BENCH_OUT:-$repo/target/bench}
STORE_FS=${STORE_FS:-/dev/shm}
DAG=$repo/bench/build_dag.nix

if [ -z "${RFLAKE_BENCH_ROOT:-}" ]; then
  missing=()
  command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
  command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
  command -v unshare >/dev/null 2>&1 || missing+=("unshare (Debian package util-linux)")
  [ -x "$RFLAKE" ] || missing+=("$RFLAKE (run: cargo build --release, or set RFLAKE)")
  [ -d /nix ] || missing+=("a /nix directory to mount the scratch store on (it is never written)")
  if ((${#missing[@]})); then
    printf 'missing: %s\n' "${missing[@]}" >&2
    exit 1
  fi
  mkdir -p "$BENCH_OUT"
  root=$(mktemp -d "$STORE_FS/rflake-bench-build.XXXXXX")
  trap 'chmod -R u+w "$root" 2>/dev/null; rm -rf "$root"' EXIT
  mkdir -p "$root"/{nix,home,config,cache,data,state,xdg-dirs,etc}
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(--map-root-user)
  RFLAKE_BENCH_ROOT=$root RFLAKE=$(realpath "$RFLAKE") BENCH_OUT=$(realpath "$BENCH_OUT") \
    unshare --mount --propagation private "${as_root[@]}" "$0" "$@"
  exit $?
fi

root=$RFLAKE_BENCH_ROOT
NIX=$(command -v nix)
mount --bind "$root/nix" /nix
isolated=(env -i "PATH=$PATH" "HOME=$root/home" "XDG_CONFIG_HOME=$root/config"
  "XDG_CACHE_HOME=$root/cache" "XDG_DATA_HOME=$root/data" "XDG_STATE_HOME=$root/state"
  "XDG_CONFIG_DIRS=$root/xdg-dirs" "NIX_CONF_DIR=$root/etc" NO_COLOR=1
  "NIX_CONFIG=experimental-features = nix-command flakes
build-users-group =
substituters =
sandbox = false")

# The script hyperfine's --prepare runs: empties the store on /nix, only if /nix is ours.
cat >"$root/fresh.sh" <<FRESH
#!/bin/sh
set -e
[ "\$(stat -c %d:%i /nix)" = "\$(stat -c %d:%i "$root/nix")" ] || { echo "/nix is not the scratch store" >&2; exit 1; }
chmod -R u+w /nix 2>/dev/null || true
rm -rf /nix/store /nix/var
# An empty store, as after installing Nix (rflake's \`auto\` store needs it writable).
mkdir -p /nix/store /nix/var/nix
FRESH
chmod +x "$root/fresh.sh"
fresh() { "$root/fresh.sh"; }

mean_ms() { grep -o '"mean": *[0-9.e+-]*' "$1" | sed 's/.*: *//' | sed -n "$2p" | awk '{ printf "%.1f", $1 * 1000 }'; }
