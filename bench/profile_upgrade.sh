#!/usr/bin/env bash
# Benchmarks `profile upgrade --all` of a 50-element profile (5 local `path:` flakes with 10
# packages each, installed by Nix 2.8): Nix 2.8 (`nix profile upgrade '.*'`, its regex over
# attribute paths) against rflake (`rflake profile upgrade --all`), in two scenarios:
#   unchanged  nothing changed: every flake re-locked and evaluated, nothing built or switched
#   one        one flake changed (a new value its first package reads): its 10 elements get the
#              new locked reference, one package is rebuilt, a new generation is made
#
# Usage: bench/profile_upgrade.sh          (from the repository root, after cargo build --release)
# Environment:
#   RFLAKE     the rflake binary                      (default target/release/rflake)
#   BENCH_OUT  where results are written              (default target/bench)
#   RUNS       hyperfine runs per command             (default 3)
#   SCENARIOS  which scenarios                        (default "unchanged one")
#   STORE_FS   the directory the store is created in  (default /dev/shm: tmpfs, no disk)
#   PERF       if set, also records one rflake run per scenario with `perf record -g` into
#              BENCH_OUT/profile_upgrade-<scenario>.perf (`perf report -i …` reads it)
#
# Nix 2.8 cannot build a profile with a chroot store, so everything runs in a private mount
# namespace (`unshare -m`; `-r -m` for a non-root user) in which a fresh store under STORE_FS is
# bind-mounted on /nix: the machine's /nix is hidden and never touched. Both tools use that
# store as `store = local`. Each tool upgrades its own copy of the same profile, restored before
# every run (hyperfine --prepare): Nix 2.8's as 2.8 wrote it (manifest version 2), rflake's as
# current Nix writes it (version 3, made once by rflake; 2.8 cannot read version 3, and current
# Nix would rewrite a version-2 profile on every upgrade).
set -euo pipefail

RFLAKE=${RFLAKE:-target/release/rflake}
BENCH_OUT=${BENCH_OUT:-target/bench}
RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-unchanged one}
STORE_FS=${STORE_FS:-/dev/shm}

if [ -z "${RFLAKE_BENCH_INSIDE:-}" ]; then
  missing=()
  command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
  command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
  command -v unshare >/dev/null 2>&1 || missing+=("unshare (Debian package util-linux)")
  command -v jq >/dev/null 2>&1 || missing+=("jq (Debian package jq)")
  [ -x "$RFLAKE" ] || missing+=("$RFLAKE (run: cargo build --release, or set RFLAKE)")
  [ -d /nix ] || missing+=("a /nix directory to mount the benchmark's store on")
  if ((${#missing[@]})); then
    printf 'missing: %s\n' "${missing[@]}" >&2
    exit 1
  fi
  mkdir -p "$BENCH_OUT"
  root=$(mktemp -d "$STORE_FS/rflake-bench-profile.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  flags=(-m --propagation private)
  [ "$(id -u)" = 0 ] || flags=(-r -m --propagation private)
  RFLAKE_BENCH_INSIDE=1 ROOT=$root RFLAKE=$(realpath "$RFLAKE") BENCH_OUT=$(realpath "$BENCH_OUT") \
    unshare "${flags[@]}" "$0" "$@"
  exit
fi

# Inside the namespace.
mkdir -p "$ROOT"/{nix,home,config,cache,data,state,xdg-dirs,etc,flakes,profiles/nix}
mount --bind "$ROOT/nix" /nix
export HOME=$ROOT/home XDG_CONFIG_HOME=$ROOT/config XDG_CACHE_HOME=$ROOT/cache \
  XDG_DATA_HOME=$ROOT/data XDG_STATE_HOME=$ROOT/state XDG_CONFIG_DIRS=$ROOT/xdg-dirs \
  NIX_CONF_DIR=$ROOT/etc NIX_REMOTE=local NO_COLOR=1 \
  GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_SYSTEM=/dev/null
export NIX_CONFIG="experimental-features = nix-command flakes
build-users-group =
substituters =
sandbox = false
store = local
flake-registry = $ROOT/etc/empty-registry.json"
echo '{"flakes":[],"version":2}' >"$ROOT/etc/empty-registry.json"

# Five flakes, ten packages each; every flake's p1 reads ./stamp.
for f in 1 2 3 4 5; do
  dir=$ROOT/flakes/f$f
  mkdir -p "$dir"
  echo 0 >"$dir/stamp"
  {
    echo '{'
    echo '  outputs = { self }: let'
    echo '    pkg = n: extra: derivation ({'
    echo "      name = \"f$f-p\${n}-1.0\";"
    echo '      system = "x86_64-linux";'
    echo '      builder = "/bin/sh";'
    echo '      PATH = "/usr/bin:/bin";'
    echo "      args = [ \"-c\" \"mkdir -p \$out/bin; echo 'echo $f \${n}' > \$out/bin/f$f-p\${n}; chmod +x \$out/bin/f$f-p\${n}\" ];"
    echo '    } // extra);'
    echo '  in {'
    echo '    packages.x86_64-linux = {'
    echo '      p1 = pkg "1" { stamp = builtins.readFile ./stamp; };'
    for n in 2 3 4 5 6 7 8 9 10; do
      echo "      p$n = pkg \"$n\" { };"
    done
    echo '    };'
    echo '  };'
    echo '}'
  } >"$dir/flake.nix"
done

installables=()
for f in 1 2 3 4 5; do
  for n in 1 2 3 4 5 6 7 8 9 10; do
    installables+=("path:$ROOT/flakes/f$f#p$n")
  done
done
echo "installing 50 packages with Nix 2.8..." >&2
nix profile install --profile "$ROOT/profiles/nix/profile" "${installables[@]}" 2>/dev/null
[ "$(jq '.elements | length' "$ROOT/profiles/nix/profile/manifest.json")" = 50 ]
# rflake's copy: the same profile, rewritten once as version 3 by rflake.
cp -a "$ROOT/profiles/nix" "$ROOT/profiles/rflake"
"$RFLAKE" profile upgrade --profile "$ROOT/profiles/rflake/profile" --all
[ "$(jq '.version' "$ROOT/profiles/rflake/profile/manifest.json")" = 3 ]
for t in nix rflake; do cp -a "$ROOT/profiles/$t" "$ROOT/profiles/$t.base"; done

# The store paths of a profile's elements, sorted, one per line.
paths() { jq -r '[.elements[] | .storePaths[]] | sort | .[]' "$1/profile/manifest.json"; }
reset() { rm -rf "$ROOT/profiles/$1" && cp -a "$ROOT/profiles/$1.base" "$ROOT/profiles/$1"; }
nix_cmd="nix profile upgrade --profile $ROOT/profiles/nix/profile '.*'"
rflake_cmd="$RFLAKE profile upgrade --profile $ROOT/profiles/rflake/profile --all"

summary=$BENCH_OUT/profile_upgrade.txt
: >"$summary"
for scenario in $SCENARIOS; do
  case $scenario in
    unchanged) change=":" ;;
    # A new value for f1's p1 before every run, so every run rebuilds one package.
    one) change="date +%s%N > $ROOT/flakes/f1/stamp" ;;
    *) echo "unknown scenario '$scenario'" >&2; exit 1 ;;
  esac
  # Benchmarking different results would be meaningless: check first.
  eval "$change"
  reset nix && reset rflake
  eval "$nix_cmd" 2>/dev/null
  eval "$rflake_cmd" 2>/dev/null
  if [ "$(paths "$ROOT/profiles/nix")" != "$(paths "$ROOT/profiles/rflake")" ]; then
    echo "warning: $scenario: nix and rflake installed different store paths:" >&2
    diff <(paths "$ROOT/profiles/nix") <(paths "$ROOT/profiles/rflake") >&2 || true
  fi
  if [ -n "${PERF:-}" ]; then
    eval "$change"
    reset rflake
    perf record -F 20000 --call-graph dwarf,16384 -o "$BENCH_OUT/profile_upgrade-$scenario.perf" -- \
      bash -c "$rflake_cmd" 2>/dev/null
  fi
  # No shell around the measured commands (-N): hyperfine's correction for a shell's start-up
  # is noisier than these runs are long; it discards the commands' output itself.
  hyperfine -N --runs "$RUNS" --warmup 2 \
    --prepare "bash -c '$change; rm -rf $ROOT/profiles/nix && cp -a $ROOT/profiles/nix.base $ROOT/profiles/nix'" \
    --prepare "bash -c '$change; rm -rf $ROOT/profiles/rflake && cp -a $ROOT/profiles/rflake.base $ROOT/profiles/rflake'" \
    --command-name "nix 2.8 ($scenario)" --command-name "rflake ($scenario)" \
    --export-markdown "$BENCH_OUT/profile_upgrade-$scenario.md" \
    --export-json "$BENCH_OUT/profile_upgrade-$scenario.json" \
    "$nix_cmd" "$rflake_cmd"
  mapfile -t means < <(jq '.results[].mean' "$BENCH_OUT/profile_upgrade-$scenario.json")
  awk -v s="$scenario" -v n="${means[0]}" -v r="${means[1]}" \
    'BEGIN { printf "%s: nix mean %.1f ms, rflake mean %.1f ms, nix/rflake = %.1fx\n", s, n*1000, r*1000, n/r }' |
    tee -a "$summary"
done
echo "results: $BENCH_OUT/profile_upgrade-*.{md,json}, $summary"
