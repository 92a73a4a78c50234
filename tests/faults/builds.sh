# shellcheck shell=bash disable=SC2034,SC2153 # KIND is read, TRIALS and ROUNDS set, by run.sh
# The fault campaign's trials of the writers that build (sourced by tests/faults/run.sh, which
# defines the helpers used here): `rflake build` of a small DAG into a chroot store, and
# `rflake profile upgrade` of a profile whose flake changed, each killed at random points; and
# their concurrency rounds, two builds of one DAG into one store and two upgrades of one
# profile.

# --- Fixtures -------------------------------------------------------------------------------

# A DAG of five derivations: a fixed-output one, one with two outputs, two that use them and a
# top; each builder logs its name to $BUILT_LOG (so a round can count the builds) and takes a
# little time. `other` (a quick build whose salt changes) is what surely writes before the
# completing build.
BUILT_LOG=$ROOT/built.log
DAG=$FX/dag/default.nix
mkdir -p "$FX/dag"
cat >"$DAG" <<EOF
let
  system = "x86_64-linux";
  step = name: extra: script: derivation ({
    inherit name system;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" "echo \${name} >> $BUILT_LOG; sleep 0.1; \${script}" ];
  } // extra);
  fod = step "fixed.txt" {
    outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";
  } "printf hi > \$out";
  lib = step "lib" { outputs = [ "out" "dev" ]; } ''
    mkdir -p \$out/lib \$dev/include
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do echo "line \$i" > \$out/lib/f\$i; done
    head -c 200000 /dev/zero > \$out/lib/zeros
    echo '#define X 1' > \$dev/include/x.h
  '';
  a = step "a" { inherit fod; dev = lib.dev; } "mkdir \$out; cat \$fod > \$out/fod; echo \$dev > \$out/dev";
  b = step "b" { inherit lib; } "mkdir \$out; ln -s \$lib/lib \$out/lib; echo b > \$out/b";
in {
  top = step "top" { inherit a b; } "mkdir \$out; echo \$a \$b > \$out/refs";
  other = step "other" { salt = builtins.readFile ./salt; } "echo \$salt > \$out";
}
EOF
echo 0 >"$FX/dag/salt"

# The flake of the profile: version $2 of a package whose build takes a little time.
write_hello_flake() {
  local dir=$1 v=$2
  mkdir -p "$dir"
  cat >"$dir/flake.nix" <<EOF
{
  outputs = { self }: {
    packages.x86_64-linux.default = derivation {
      name = "hello-$v.0";
      system = "x86_64-linux";
      builder = "/bin/sh";
      PATH = "/usr/bin:/bin";
      args = [ "-c" "echo hello >> $BUILT_LOG; sleep 0.1; mkdir -p \$out/bin; echo 'echo Hello $v' > \$out/bin/hello; chmod +x \$out/bin/hello; sleep 0.1" ];
    };
  };
}
EOF
}

# Build directories go here (the builds' TMPDIR), so that leftovers can be found.
BUILD_TMP=$ROOT/build-tmp
mkdir -p "$BUILD_TMP"

# --- Helpers --------------------------------------------------------------------------------

# The command lines (external commands, not functions: `run_killed` must kill rflake itself,
# not a subshell running it), with the builds' TMPDIR.
build_cmd() { BUILD=(env "TMPDIR=$BUILD_TMP" "$RFLAKE" build --store "$1" -f "$DAG" --no-link --max-jobs 2 "$2"); }
build_dag() { build_cmd "$1" "$2"; "${BUILD[@]}"; }
upgrade_cmd() { UPGRADE=(env "TMPDIR=$BUILD_TMP" "$RFLAKE" profile upgrade --store "$1" --profile "$2" --all); }
upgrade() { upgrade_cmd "$1" "$2"; "${UPGRADE[@]}"; }

# Nix 2.8 in a private mount namespace with the chroot store $1 mounted on /nix (it builds a
# profile by reading packages at their logical paths, so it cannot use a chroot store).
nix_on_store() {
  local store=$1 flags=(-m --propagation private)
  shift
  [ "$(id -u)" = 0 ] || flags=(-r "${flags[@]}")
  mkdir -p "$store/nix"
  # shellcheck disable=SC2016
  unshare "${flags[@]}" sh -c 'unset NIX_STATE_DIR; export NIX_REMOTE=local;
    mount --bind "$0" /nix && exec "$@"' "$store/nix" nix --store local "$@"
}

# Builders of killed builds must not outlive them (their shell's command line names
# $BUILT_LOG; a `sleep` it started may): after 200 ms for the kill to land, none may be left.
builders() {
  local f p
  for f in $(grep -lsF "$BUILT_LOG" /proc/[0-9]*/cmdline); do
    p=${f%/cmdline}
    # Not this shell's own subshells (their command line does not hold the path), nor zombies.
    [ -n "$(readlink "$p/cwd" 2>/dev/null)" ] && echo "${p#/proc/}"
  done
  return 0
}
check_no_orphans() {
  local i pids
  for ((i = 0; i < 20; i++)); do
    pids=$(builders)
    [ -n "$pids" ] || return 0
    sleep 0.01
  done
  fail "builders still running after their rflake was killed: $pids"
  # shellcheck disable=SC2086
  kill -9 $pids 2>/dev/null || true
}

# After a completing build: no build directory left, nor anything else in its TMPDIR.
check_build_tmp_settled() {
  local left
  left=$(find "$BUILD_TMP" -mindepth 1 -maxdepth 1 2>/dev/null | head -3)
  [ -z "$left" ] || fail "build directories (or their locks) left: $left"
}

# Temporary roots files of dead processes: none may be left after a completing write.
check_temproots_settled() {
  local store=$1 f
  for f in "$store"/nix/var/nix/temproots/*; do
    [ -e "$f" ] || continue
    fail "temporary roots file left: $f"
  done
}

# --- Kill trials ----------------------------------------------------------------------------

trial_build() {
  KIND=build
  local TRIALS=${BUILD_TRIALS:-$TRIALS}
  local store=$ROOT/build-store
  echo "build (a DAG of 5 derivations, chroot store): $TRIALS trials" >&2
  build_cmd "$store" top
  calibrate "wipe $store" "${BUILD[@]}"
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    wipe "$store"
    : >"$BUILT_LOG"
    run_killed "${BUILD[@]}"
    check_no_orphans
    check_store "$store"
    # The next writes: a build that surely writes (a new salt), then the same build again.
    echo "$TRIAL" >"$FX/dag/salt"
    build_dag "$store" other >/dev/null 2>&1 || fail "the other build failed"
    build_dag "$store" top >/dev/null 2>&1 || fail "the completing build failed"
    check_store_settled "$store"
    check_temproots_settled "$store"
    check_build_tmp_settled
    progress
  done
}

# The profile's state: generation links (number and target) and the current one.
generations() { find "$(dirname "$1")" -maxdepth 1 -name "$(basename "$1")-*-link" -printf '%f %l\n' | sort -V; }

# The profile resolves to a complete generation: `profile` → `profile-N-link` → a valid store
# object whose manifest parses and whose packages are valid.
check_profile() {
  local store=$1 profile=$2 gen target manifest paths
  gen=$(readlink "$profile") || { fail "the profile is not a link"; return; }
  target=$(readlink "$(dirname "$profile")/$gen") || { fail "the profile's link '$gen' dangles"; return; }
  [ -e "$store$target" ] || { fail "the generation '$gen' names a missing '$target'"; return; }
  manifest=$store$target/manifest.json
  if ! paths=$(jq -r '.elements | if type == "object" then .[] else .[] end | .storePaths[]' \
    "$manifest" 2>/dev/null); then
    fail "the manifest of '$gen' does not parse: $(head -c 200 "$manifest" | tr -cd '[:print:]')"
    return
  fi
  # shellcheck disable=SC2086
  nix path-info --store "$store" "$target" $paths >/dev/null 2>&1 ||
    fail "the generation '$gen' or its packages are not valid paths"
}

# After a completing upgrade: only the profile and its generations in the profile's directory,
# each generation rooted, no temporary GC root left.
check_profile_settled() {
  local store=$1 profile=$2 dir name f auto=$1/nix/var/nix/gcroots/auto roots
  dir=$(dirname "$profile") name=$(basename "$profile")
  roots=$(find "$auto" -mindepth 1 -maxdepth 1 -printf '%l\n')
  for f in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    case "${f##*/}" in
      "$name") ;;
      "$name"-[0-9]*-link) grep -qxF "$f" <<<"$roots" ||
        fail "the generation ${f##*/} has no GC root" ;;
      *) fail "left in the profile's directory: ${f##*/}" ;;
    esac
  done
  for f in "$auto"/*; do
    case "$f" in *.tmp-*) fail "temporary GC root left: $f" ;; esac
  done
}

# A fresh store with a profile that Nix 2.8 installed from version 0 of the flake.
UPGRADE_VERSION=0
fresh_profile() {
  local store=$1 profile=$2 flake=$3
  wipe "$store" "$(dirname "$profile")"
  mkdir -p "$(dirname "$profile")"
  UPGRADE_VERSION=0
  write_hello_flake "$flake" 0
  nix_on_store "$store" profile install --profile "$profile" "path:$flake" >/dev/null 2>&1 ||
    { echo "nix profile install failed" >&2; nix_on_store "$store" profile install --profile "$profile" "path:$flake" >&2; exit 1; }
}

next_version() {
  UPGRADE_VERSION=$((UPGRADE_VERSION + 1))
  write_hello_flake "$1" "$UPGRADE_VERSION"
}

trial_upgrade() {
  KIND=upgrade
  local TRIALS=${BUILD_TRIALS:-$TRIALS}
  local store=$ROOT/upgrade-store profile=$ROOT/profiles/profile flake=$FX/hello
  echo "profile upgrade (a changed flake: lock, build, switch): $TRIALS trials" >&2
  fresh_profile "$store" "$profile" "$flake"
  upgrade_cmd "$store" "$profile"
  calibrate "next_version $flake" "${UPGRADE[@]}"
  for ((TRIAL = 1; TRIAL <= TRIALS; TRIAL++)); do
    # A fresh profile now and then, so that the store (verified after every trial) stays small.
    ((TRIAL % 100)) || fresh_profile "$store" "$profile" "$flake"
    next_version "$flake"
    generations "$profile" >"$ROOT/gens-before"
    run_killed "${UPGRADE[@]}"
    check_no_orphans
    check_profile "$store" "$profile"
    generations "$profile" >"$ROOT/gens-after"
    # The generations are the old ones, or those and one more (the highest).
    if ! cmp -s "$ROOT/gens-before" "$ROOT/gens-after"; then
      if [ "$(head -n -1 "$ROOT/gens-after")" != "$(cat "$ROOT/gens-before")" ] ||
        [ "$(tail -n 1 "$ROOT/gens-after" | cut -d- -f2)" -le \
          "$(tail -n 1 "$ROOT/gens-before" | cut -d- -f2)" ]; then
        fail "generations changed other than by one new: $(diff "$ROOT/gens-before" "$ROOT/gens-after" | head -5)"
      fi
    fi
    check_store "$store"
    # The next write surely upgrades (another version), and must succeed.
    next_version "$flake"
    upgrade "$store" "$profile" >/dev/null 2>&1 || fail "the completing upgrade failed"
    check_profile "$store" "$profile"
    jq -e --arg v "hello-$UPGRADE_VERSION.0" '[.elements[] | .storePaths[] | endswith($v)] | any' \
      "$store$(readlink "$(dirname "$profile")/$(readlink "$profile")")/manifest.json" >/dev/null 2>&1 ||
      fail "the completing upgrade did not switch to version $UPGRADE_VERSION"
    check_store_settled "$store"
    check_temproots_settled "$store"
    check_profile_settled "$store" "$profile"
    check_build_tmp_settled
    progress
  done
}

# --- Concurrency ----------------------------------------------------------------------------

parallel_build() {
  KIND=parallel-build
  local store=$ROOT/parallel-build-store pids k status n
  echo "2 parallel builds of one DAG into one store: $ROUNDS rounds" >&2
  for ((TRIAL = 1; TRIAL <= ROUNDS; TRIAL++)); do
    wipe "$store"
    : >"$BUILT_LOG"
    pids=()
    for k in 1 2; do
      build_dag "$store" top >"$ROOT/pbuild-$k.log" 2>&1 &
      pids+=("$!:$k")
    done
    for k in "${pids[@]}"; do
      status=0
      wait "${k%%:*}" || status=$?
      [ "$status" = 0 ] || fail "build ${k#*:} failed ($status): $(tail -5 "$ROOT/pbuild-${k#*:}.log")"
    done
    for n in fixed.txt lib a b top; do
      [ "$(grep -cx "$n" "$BUILT_LOG")" = 1 ] ||
        fail "'$n' was built $(grep -cx "$n" "$BUILT_LOG") times"
    done
    check_store_settled "$store"
    check_temproots_settled "$store"
    check_build_tmp_settled
    progress
  done
}

parallel_upgrade() {
  KIND=parallel-upgrade
  local store=$ROOT/parallel-upgrade-store profile=$ROOT/pprofiles/profile flake=$FX/phello
  local pids k status before after
  echo "2 parallel profile upgrades of one profile: $ROUNDS rounds" >&2
  fresh_profile "$store" "$profile" "$flake"
  for ((TRIAL = 1; TRIAL <= ROUNDS; TRIAL++)); do
    next_version "$flake"
    generations "$profile" >"$ROOT/gens-before"
    pids=()
    for k in 1 2; do
      upgrade "$store" "$profile" >"$ROOT/pupgrade-$k.log" 2>&1 &
      pids+=("$!:$k")
    done
    for k in "${pids[@]}"; do
      status=0
      wait "${k%%:*}" || status=$?
      [ "$status" = 0 ] || fail "upgrade ${k#*:} failed ($status): $(tail -5 "$ROOT/pupgrade-${k#*:}.log")"
    done
    generations "$profile" >"$ROOT/gens-after"
    # Exactly one new generation, the highest, current and of the new version; none lost.
    before=$(wc -l <"$ROOT/gens-before") after=$(wc -l <"$ROOT/gens-after")
    if [ "$after" != $((before + 1)) ] ||
      [ "$(head -n -1 "$ROOT/gens-after")" != "$(cat "$ROOT/gens-before")" ]; then
      fail "expected one new generation: $(diff "$ROOT/gens-before" "$ROOT/gens-after" | head -5)"
    fi
    [ "$(readlink "$profile")" = "$(tail -n 1 "$ROOT/gens-after" | cut -d' ' -f1)" ] ||
      fail "the profile is not the newest generation: $(readlink "$profile")"
    check_profile "$store" "$profile"
    jq -e --arg v "hello-$UPGRADE_VERSION.0" '[.elements[] | .storePaths[] | endswith($v)] | any' \
      "$store$(readlink "$(dirname "$profile")/$(readlink "$profile")")/manifest.json" >/dev/null 2>&1 ||
      fail "the profile is not at version $UPGRADE_VERSION"
    check_store_settled "$store"
    check_temproots_settled "$store"
    check_profile_settled "$store" "$profile"
    progress
  done
}
