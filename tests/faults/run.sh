#!/usr/bin/env bash
# The fault campaign of issue #17 (docs/reliability.md): rflake's writers are killed with
# SIGKILL at random points, and run side by side, and what they leave is checked.
#
# Kill trials (TRIALS of each): `registry add`, `registry remove`, `registry pin`,
# `flake archive` into a local store, `flake archive --to file://` a binary cache, and
# (tests/faults/builds.sh) `build` of a DAG of five derivations into a chroot store and
# `profile upgrade` of a profile whose flake changed. Each trial
# runs the command in the background, kills it after a random delay between 0 and 1.3 times
# its measured duration (so some runs finish first), then checks:
#   - the registry (and `flake.lock`) parses: jq, and Nix 2.8 (`nix registry list`);
#   - no update is half-done: the registry's ids are those before, or those after the command;
#   - the store verifies with Nix 2.8 (`nix store verify --all`, which reads every file: 2.8 has
#     no `--check-contents`, it checks contents unless told `--no-contents`), and for the
#     binary cache every `.narinfo` names a NAR file that is there and verifies;
# then writes again, unkilled (first something that surely writes: another tree or id, then the
# same command), and checks that every temporary of the killed process was reclaimed (`tmp-*`
# and `<path>.lock` in the store, `.registry.json.tmp-*`, `*.tmp.*` and `spool.tmp.*` in the
# cache) and that every entry of the store directory is a valid path (nothing half-registered).
#
# For builds and upgrades it also checks that no builder outlives its killed rflake, that the
# next build leaves no build directory (nor its lock) and no temporary roots file, that the
# `profile` link resolves to a complete generation (valid object, manifest that parses, valid
# packages), that the generations are the old ones or those and one more, and that after the
# next upgrade every generation has its GC root and nothing else is left beside the profile.
#
# Concurrency rounds (ROUNDS): 8 parallel `flake archive`s (4 flakes that share an input, two
# processes each, one of them writing its `flake.lock`) into one fresh store, which must all
# succeed and leave a verified store; 4 parallel `registry add`s of different ids into one
# registry, which must keep all 4; 2 parallel `build`s of one DAG into one fresh store, which
# must both succeed with each derivation built once; and 2 parallel `profile upgrade`s of one
# profile, which must both succeed and make exactly one new generation, current, at the new
# version.
#
# Usage: tests/faults/run.sh [--trials N] [--build-trials N] [--rounds R] [--dir DIR]
#                           [--rflake BIN] [--only KIND]
#   --trials  kill trials per writer (default 1000)
#   --build-trials  kill trials of `build` and `profile upgrade`, which take longer (default: as
#             --trials)
#   --rounds  concurrency rounds (default 100)
#   --dir     where the temporary stores, caches and homes go (default $TMPDIR or /tmp; the long
#             campaign uses /dev/shm)
#   --rflake  the binary (default target/debug/rflake, built here)
#   --sandbox build in Nix's sandbox (`sandbox = true`, the host's /usr, /bin, /lib, /lib64 and
#             the campaign's directory visible); by default builds run with `sandbox = false`
#   --only    one of: add remove pin archive cache build upgrade parallel-archive
#             parallel-registry parallel-build parallel-upgrade
# Everything lives in one temporary directory, removed at the end. Nix 2.8 runs isolated: a
# temporary HOME and XDG directories, NIX_CONFIG without substituters or build users, an empty
# global registry file, and a `--store` on every store command.
set -euo pipefail
cd "$(dirname "$0")/../.."

TRIALS=1000
BUILD_TRIALS=
ROUNDS=100
DIR=${TMPDIR:-/tmp}
RFLAKE=
ONLY=
SANDBOX=false
while (($#)); do
  case "$1" in
    --trials) TRIALS=$2; shift 2 ;;
    --build-trials) BUILD_TRIALS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --rflake) RFLAKE=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --sandbox) SANDBOX=true; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

for tool in nix jq tar; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool" >&2; exit 1; }
done
if [ -z "$RFLAKE" ]; then
  cargo build --locked --quiet >&2
  RFLAKE=target/debug/rflake
fi
RFLAKE=$(realpath "$RFLAKE")

ROOT=$(mktemp -d "$DIR/rflake-faults.XXXXXX")
cleanup() {
  chmod -R u+w "$ROOT" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT

# The isolated environment both tools run in.
for v in $(env | sed -n 's/^\(NIX_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export HOME=$ROOT/home XDG_CONFIG_HOME=$ROOT/config XDG_CACHE_HOME=$ROOT/cache \
  XDG_DATA_HOME=$ROOT/data XDG_STATE_HOME=$ROOT/state XDG_CONFIG_DIRS=$ROOT/xdg \
  NIX_CONF_DIR=$ROOT/etc NIX_STATE_DIR=$ROOT/nix-state TZ=UTC NO_COLOR=1
# NIX_STATE_DIR: root's default profile link (made by `profile` commands even with
# --profile, as Nix makes it) must not land in the machine's /nix/var/nix.
mkdir -p "$HOME" "$NIX_STATE_DIR" "$XDG_CONFIG_HOME/nix" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" \
  "$XDG_CONFIG_DIRS" "$NIX_CONF_DIR"
echo '{"flakes":[],"version":2}' >"$ROOT/global-registry.json"
export NIX_CONFIG="experimental-features = nix-command flakes
build-users-group =
substituters =
sandbox = $SANDBOX
flake-registry = $ROOT/global-registry.json"
[ "$SANDBOX" = false ] || NIX_CONFIG+="
extra-sandbox-paths = /usr /bin /lib /lib64 $ROOT"
REGISTRY=$XDG_CONFIG_HOME/nix/registry.json

FAILURES=0
fail() {
  FAILURES=$((FAILURES + 1))
  echo "FAIL [$KIND trial $TRIAL]: $*" >&2
}

# --- Fixtures -------------------------------------------------------------------------------

# A directory of N small files and one of 64 KiB (small: a trial's time goes into checks).
make_tree() {
  local dir=$1 n=$2 i
  mkdir -p "$dir/sub"
  for ((i = 0; i < n; i++)); do echo "file $i of $dir" >"$dir/sub/f$i"; done
  head -c 65536 /dev/zero | tr '\0' 'x' >"$dir/big"
}

FX=$ROOT/fixtures
make_tree "$FX/shared" 20
make_tree "$FX/tarball/proj" 20
tar -C "$FX/tarball" -czf "$FX/proj.tar.gz" proj
for f in 1 2 3 4; do
  make_tree "$FX/own$f" 10
  mkdir -p "$FX/flake$f"
  cat >"$FX/flake$f/flake.nix" <<EOF
{
  inputs.shared = { url = "path:$FX/shared"; flake = false; };
  inputs.own = { url = "path:$FX/own$f"; flake = false; };
  inputs.tarball = { url = "file://$FX/proj.tar.gz"; flake = false; };
  outputs = { self, ... }: { };
}
EOF
  echo "flake $f" >"$FX/flake$f/README"
done
mkdir -p "$FX/pinned/flake"
echo '{ outputs = { self }: { }; }' >"$FX/pinned/flake/flake.nix"
make_tree "$FX/pinned/flake" 20
tar -C "$FX/pinned" -czf "$FX/pinned.tar.gz" flake
echo other >"$FX/pinned/flake/other"
tar -C "$FX/pinned" -czf "$FX/pinned2.tar.gz" flake
PINNED=file://$FX/pinned.tar.gz

# --- Helpers --------------------------------------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Runs "$@" to completion and prints how long it took, in ms.
timed() {
  local t0
  t0=$(now_ms)
  "$@" >/dev/null 2>&1 || { echo "calibration failed: $*" >&2; "$@" >&2 || true; exit 1; }
  echo $(($(now_ms) - t0))
}

KILLED=0
FINISHED=0
# Runs "$@" in the background and SIGKILLs it after a random delay in [0, MAX_MS).
run_killed() {
  local ms=$((RANDOM * 32768 + RANDOM)) pid status=0
  ms=$((ms % MAX_MS))
  "$@" >/dev/null 2>&1 &
  pid=$!
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || status=$?
  if [ "$status" = 137 ]; then KILLED=$((KILLED + 1)); else FINISHED=$((FINISHED + 1)); fi
}

# Every 50 trials or rounds, says how far the campaign got (so a run stopped early still
# counts).
progress() {
  ((TRIAL % 50 == 0)) || return 0
  echo "  $KIND: $TRIAL done; $KILLED killed mid-run, $FINISHED finished first, $FAILURES failures" >&2
}

# Calibrates MAX_MS from the quickest of three complete runs of "${@:2}", each after the
# command $1 (which prepares the state a trial starts from).
calibrate() {
  local prepare=$1 ms=999999 t i
  shift
  for i in 1 2 3; do
    $prepare
    t=$(timed "$@")
    ((t < ms)) && ms=$t
  done
  MAX_MS=$((ms * 13 / 10 + 2))
  echo "  one complete run takes $ms ms; kills fall in [0, $MAX_MS) ms" >&2
}

registry_ids() { jq -r '.flakes[].from.id' "$REGISTRY" | sort; }

# The registry parses (jq, and Nix 2.8 unless $NO_NIX is set) and its ids are one of the
# allowed sets ($@: files).
check_registry() {
  local got ok=
  if ! got=$(jq -r 'if .version == 2 and (.flakes | type == "array") then .flakes[].from.id
      else error("not a registry") end' "$REGISTRY" 2>/dev/null | sort); then
    fail "the registry does not parse: $(head -c 200 "$REGISTRY" | tr -cd '[:print:]')"
    return
  fi
  # Nix 2.8 opens its default store even to list registries: a private one keeps the
  # machine's /nix untouched.
  [ -n "${NO_NIX:-}" ] || nix registry list --store "$ROOT/oracle-store" >/dev/null 2>&1 ||
    fail "Nix 2.8 cannot read the registry"
  for allowed in "$@"; do [ "$got" = "$(cat "$allowed")" ] && ok=1; done
  [ -n "$ok" ] || fail "the registry's ids are neither those before nor those after"
}

registry_temporaries() { find "$(dirname "$REGISTRY")" -maxdepth 1 -name '.registry.json.tmp-*'; }

# Nix 2.8 verifies the store (if it was created) with contents; prints nothing when clean.
check_store() {
  local store=$1 out
  [ -e "$store/nix/var/nix/db/db.sqlite" ] || return 0
  if ! out=$(nix store verify --no-trust --store "$store" --all 2>&1); then
    fail "nix store verify --store $store: $(echo "$out" | head -5)"
  fi
}

# After a completing write: no temporaries, and every entry of the store directory is valid.
check_store_settled() {
  local store=$1 valid entries
  check_store "$store"
  if [ -n "$(find "$store/nix/store" -maxdepth 1 -name 'tmp-*' 2>/dev/null)" ]; then
    fail "temporaries left in $store: $(find "$store/nix/store" -maxdepth 1 -name 'tmp-*' | head -3)"
  fi
  valid=$(nix path-info --store "$store" --all 2>/dev/null | sort)
  entries=$(find "$store/nix/store" -mindepth 1 -maxdepth 1 ! -name .links ! -name 'tmp-*' \
    -printf '/nix/store/%f\n' 2>/dev/null | sort)
  if [ "$valid" != "$entries" ]; then
    fail "store entries that are not valid paths (half-registered): $(comm -13 <(echo "$valid") <(echo "$entries") | head -3)"
  fi
}

# Every .narinfo of a file:// cache names a NAR file that exists, and Nix 2.8 verifies them.
check_cache() {
  local cache=$1 paths=() ni url out
  [ -d "$cache" ] || return 0
  for ni in "$cache"/*.narinfo; do
    [ -e "$ni" ] || continue
    url=$(sed -n 's/^URL: //p' "$ni")
    [ -n "$url" ] && [ -e "$cache/$url" ] || fail "$(basename "$ni") names a missing NAR '$url'"
    paths+=("$(sed -n 's/^StorePath: //p' "$ni")")
  done
  ((${#paths[@]})) || return 0
  if ! out=$(nix store verify --no-trust --store "file://$cache" "${paths[@]}" 2>&1); then
    fail "nix store verify --store file://$cache: $(echo "$out" | head -5)"
  fi
}

check_cache_settled() {
  local cache=$1 leftovers
  check_cache "$cache"
  leftovers=$(find "$cache" \( -name '*.tmp.*' -o -name 'spool.tmp.*' \) 2>/dev/null | head -3)
  [ -z "$leftovers" ] || fail "temporaries left in the cache: $leftovers"
}

check_lock() {
  local lock=$1/flake.lock
  [ -e "$lock" ] || return 0
  jq -e '.version == 7 and (.nodes | type == "object")' "$lock" >/dev/null 2>&1 ||
    fail "flake.lock does not parse: $(head -c 200 "$lock" | tr -cd '[:print:]')"
}

wipe() {
  chmod -R u+w "$@" 2>/dev/null || true
  rm -rf "$@"
}

# --- Kill trials ----------------------------------------------------------------------------

seed_registry() {
  local i
  rm -f "$REGISTRY"
  for i in $(seq 1 40); do
    "$RFLAKE" registry add "seed$i" "github:example/seed$i" >/dev/null
  done
}

trial_add() {
  KIND=add
  seed_registry
  echo "registry add: $TRIALS trials" >&2
  calibrate : "$RFLAKE" registry add calib github:example/calib
  "$RFLAKE" registry remove calib
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    registry_ids >"$ROOT/before"
    { cat "$ROOT/before"; echo "new$TRIAL"; } | sort >"$ROOT/after"
    run_killed "$RFLAKE" registry add "new$TRIAL" "github:example/new$TRIAL"
    check_registry "$ROOT/before" "$ROOT/after"
    # The next write reclaims what the killed one left.
    "$RFLAKE" registry remove "new$TRIAL" || fail "the completing remove failed"
    [ -z "$(registry_temporaries)" ] || fail "temporaries left: $(registry_temporaries)"
    NO_NIX=1 check_registry "$ROOT/before"
    progress
  done
}

add_calib() { "$RFLAKE" registry add calib github:example/calib; }

trial_remove() {
  KIND=remove
  seed_registry
  echo "registry remove: $TRIALS trials" >&2
  calibrate add_calib "$RFLAKE" registry remove calib
  "$RFLAKE" registry add old1 github:example/old1
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    registry_ids >"$ROOT/before"
    grep -vx "old$TRIAL" "$ROOT/before" >"$ROOT/after"
    run_killed "$RFLAKE" registry remove "old$TRIAL"
    check_registry "$ROOT/before" "$ROOT/after"
    "$RFLAKE" registry add "old$((TRIAL + 1))" "github:example/old$((TRIAL + 1))" ||
      fail "the completing add failed"
    [ -z "$(registry_temporaries)" ] || fail "temporaries left: $(registry_temporaries)"
    if registry_ids | grep -qx "old$TRIAL"; then "$RFLAKE" registry remove "old$TRIAL"; fi
    progress
  done
}

trial_pin() {
  KIND=pin
  local store=$ROOT/pin-store
  seed_registry
  echo "registry pin: $TRIALS trials" >&2
  "$RFLAKE" registry add pinme "$PINNED"
  "$RFLAKE" registry add other "file://$FX/pinned2.tar.gz"
  calibrate "wipe $store" "$RFLAKE" registry pin pinme --store "$store"
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    # A fresh store each time, so that every pin downloads and unpacks.
    wipe "$store"
    "$RFLAKE" registry add pinme "$PINNED"
    registry_ids >"$ROOT/before"
    cp "$REGISTRY" "$ROOT/registry-before"
    run_killed "$RFLAKE" registry pin pinme --store "$store"
    check_registry "$ROOT/before"
    # The entry is the unpinned one or a pin with this tree's hash, nothing in between.
    if ! cmp -s "$REGISTRY" "$ROOT/registry-before"; then
      jq -e '.flakes[] | select(.from.id == "pinme") | .to.narHash | startswith("sha256-")' \
        "$REGISTRY" >/dev/null || fail "pinme is neither unpinned nor pinned"
    fi
    check_store "$store"
    # The next writes: one that surely writes the store (another tree), then the pin again.
    "$RFLAKE" registry pin other --store "$store" >/dev/null 2>&1 || fail "the other pin failed"
    "$RFLAKE" registry add other "file://$FX/pinned2.tar.gz"
    "$RFLAKE" registry pin pinme --store "$store" >/dev/null 2>&1 || fail "the completing pin failed"
    [ -z "$(registry_temporaries)" ] || fail "temporaries left: $(registry_temporaries)"
    check_store_settled "$store"
    progress
  done
}

trial_archive() {
  KIND=archive
  local store=$ROOT/archive-store flake=$FX/flake1
  echo "flake archive (local store): $TRIALS trials" >&2
  calibrate "wipe $store" "$RFLAKE" flake archive --store "$store" "path:$flake"
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    wipe "$store"
    # Every other trial the lock file is written too.
    ((TRIAL % 2)) && rm -f "$flake/flake.lock"
    run_killed "$RFLAKE" flake archive --store "$store" "path:$flake"
    check_lock "$flake"
    check_store "$store"
    # The next writes: another flake (whose own input is surely not in the store yet), then
    # this one again.
    "$RFLAKE" flake archive --store "$store" "path:$FX/flake3" >/dev/null 2>&1 ||
      fail "the other archive failed"
    "$RFLAKE" flake archive --store "$store" "path:$flake" >/dev/null 2>&1 ||
      fail "the completing archive failed"
    check_lock "$flake"
    check_store_settled "$store"
    progress
  done
}

trial_cache() {
  KIND=cache
  local store=$ROOT/cache-store cache=$ROOT/binary-cache flake=$FX/flake2
  echo "flake archive --to file:// (binary cache): $TRIALS trials" >&2
  calibrate "wipe $store $cache" "$RFLAKE" flake archive --store "$store" --to "file://$cache" "path:$flake"
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    wipe "$store" "$cache"
    run_killed "$RFLAKE" flake archive --store "$store" --to "file://$cache" "path:$flake"
    check_store "$store"
    check_cache "$cache"
    "$RFLAKE" flake archive --store "$store" --to "file://$cache" "path:$FX/flake3" >/dev/null 2>&1 ||
      fail "the other archive failed"
    "$RFLAKE" flake archive --store "$store" --to "file://$cache" "path:$flake" >/dev/null 2>&1 ||
      fail "the completing archive failed"
    check_store_settled "$store"
    check_cache_settled "$cache"
    progress
  done
}

# --- Concurrency ----------------------------------------------------------------------------

parallel_archive() {
  KIND=parallel-archive
  local store=$ROOT/parallel-store pids f k status
  echo "8 parallel flake archives into one store: $ROUNDS rounds" >&2
  for ((TRIAL = 1; TRIAL <= ROUNDS; TRIAL++)); do
    wipe "$store"
    rm -f "$FX/flake1/flake.lock"
    pids=()
    for f in 1 2 3 4; do
      for k in 1 2; do
        "$RFLAKE" flake archive --store "$store" "path:$FX/flake$f" >"$ROOT/par-$f$k.log" 2>&1 &
        pids+=("$!:$f$k")
      done
    done
    for k in "${pids[@]}"; do
      status=0
      wait "${k%%:*}" || status=$?
      [ "$status" = 0 ] ||
        fail "archive ${k#*:} failed ($status): $(grep -v '^waiting for' "$ROOT/par-${k#*:}.log" | tail -5)"
    done
    check_lock "$FX/flake1"
    check_store_settled "$store"
    progress
  done
}

parallel_registry() {
  KIND=parallel-registry
  local pids k status
  seed_registry
  echo "4 parallel registry writers: $ROUNDS rounds" >&2
  for ((TRIAL = 1; TRIAL <= ROUNDS; TRIAL++)); do
    registry_ids >"$ROOT/before"
    pids=()
    for k in 1 2 3 4; do
      "$RFLAKE" registry add "r$TRIAL-$k" "github:example/r$TRIAL-$k" &
      pids+=($!)
    done
    for k in "${pids[@]}"; do
      status=0
      wait "$k" || status=$?
      [ "$status" = 0 ] || fail "a registry add failed ($status)"
    done
    { cat "$ROOT/before"; printf 'r%s-%s\n' "$TRIAL" 1 "$TRIAL" 2 "$TRIAL" 3 "$TRIAL" 4; } |
      sort >"$ROOT/after"
    check_registry "$ROOT/after"
    progress
  done
}

# The writers that build: `rflake build` and `rflake profile upgrade`.
# shellcheck source=tests/faults/builds.sh
. tests/faults/builds.sh

# --- Run ------------------------------------------------------------------------------------

START=$(date +%s)
echo "rflake fault campaign: $TRIALS kill trials per writer, $ROUNDS concurrency rounds, in $ROOT" >&2
KIND=setup TRIAL=0
for kind in add remove pin archive cache build upgrade parallel-archive parallel-registry \
  parallel-build parallel-upgrade; do
  [ -z "$ONLY" ] || [ "$ONLY" = "$kind" ] || continue
  before_killed=$KILLED before_finished=$FINISHED
  case "$kind" in
    add) trial_add ;;
    remove) trial_remove ;;
    pin) trial_pin ;;
    archive) trial_archive ;;
    cache) trial_cache ;;
    build) trial_build ;;
    upgrade) trial_upgrade ;;
    parallel-archive) parallel_archive ;;
    parallel-registry) parallel_registry ;;
    parallel-build) parallel_build ;;
    parallel-upgrade) parallel_upgrade ;;
  esac
  case "$kind" in
    parallel-*) echo "  $kind: $ROUNDS rounds, $FAILURES failures so far" >&2 ;;
    *) echo "  $kind: $((KILLED - before_killed)) killed mid-run, $((FINISHED - before_finished)) finished first, $FAILURES failures so far" >&2 ;;
  esac
done
echo "done in $(($(date +%s) - START)) s: $KILLED processes killed mid-run, $FINISHED finished before the kill, $FAILURES failures" >&2
((FAILURES == 0))
