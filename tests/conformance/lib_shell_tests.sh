#!/usr/bin/env bash
# Runs nixpkgs lib's own shell test scripts (`tests/modules.sh`, the module system, and
# `tests/debug.sh`, `tests/filesystem.sh`, `tests/network.sh`, `path/tests/prop.sh` where
# the lib has them) with TOOL. `tests/sources.sh` and `fileset/tests.sh` read the store paths
# they get at their printed place, /nix/store, which a hermetic run's chroot store is not:
# they run only with BIND_STORE=1.
# They call `nix-instantiate --eval …` (modules.sh a few hundred times: each check an
# evaluation whose output must match a pattern, or whose error must); here `nix-instantiate` on
# their PATH is a small wrapper that turns each call into `TOOL eval`. It is a report, not a
# test: it exits 0 whatever the results, and 1 only when the lib or the tool is missing.
#
# Usage: tests/conformance/lib_shell_tests.sh LIB_DIR [TOOL]
#   LIB_DIR  a nixpkgs `lib` directory (tests/modules.sh, tests/modules/, …)
#   TOOL     the binary under test: a path, or `nix` to run the scripts with Nix's own
#            nix-instantiate (the oracle); default $RFLAKE, else target/release/rflake
# Environment:
#   OUT_DIR  where the reports go (default target/conformance/shell-<basename of LIB_DIR>-<basename of TOOL>)
#   SCRIPTS  the scripts to run, relative to LIB_DIR, separated by blanks (default: those of
#            the five the lib has, and the two above with BIND_STORE=1)
#   BIND_STORE  1: run each script in a private mount namespace (`unshare -m`, needs root or
#            user namespaces) where the temporary chroot store's nix/store is bind-mounted on
#            /nix/store; the machine's own /nix/store is not changed or seen
#
# The wrapper maps nix-instantiate's words to `nix eval`'s: `-E EXPR` → `--expr EXPR`, a file
# → `--file FILE`, `-A ATTR` → the attribute path after it; `--show-trace`, `--json`,
# `--option K V`, `--arg`/`--argstr` pass through; `--eval-only`/`--eval`, `--strict`
# (`eval` prints the whole value), `--read-write-mode` and `--timeout N` are dropped, and
# `--impure` is added (the scripts import files by path); functions in the output are
# printed as nix-instantiate prints them (`<LAMBDA>`, `<PRIMOP>`, `<PRIMOP-APP>`). The lib is
# copied to a temporary `lib/` and the scripts run with `TEST_LIB` naming it, so
# `<nixpkgs/lib>` is the copy. Each
# script's whole output goes to OUT_DIR/<dir>-<script>.txt; the summary gives its exit code and,
# for modules.sh, the pass/fail counts it prints at the end.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 1
fi
lib=$1
tool=${2:-${RFLAKE:-$repo/target/release/rflake}}

if [ ! -f "$lib/tests/modules.sh" ]; then
  echo "error: '$lib' is not a nixpkgs lib directory with tests/modules.sh" >&2
  exit 1
fi
lib=$(realpath "$lib")
if [[ $tool == */* ]]; then
  [ -x "$tool" ] || {
    echo "error: '$tool' is not an executable (build it: cargo build --release, or pass TOOL)" >&2
    exit 1
  }
  tool=$(realpath "$tool")
else
  command -v "$tool" >/dev/null 2>&1 || {
    echo "error: '$tool' is not on PATH" >&2
    exit 1
  }
  tool=$(command -v "$tool")
fi

OUT_DIR=${OUT_DIR:-$repo/target/conformance/shell-$(basename "$lib")-$(basename "$tool")}
mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")

work=$(mktemp -d "${TMPDIR:-/tmp}/rflake-lib-shell.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
work=$(realpath "$work")
cp -a "$lib" "$work/lib"
chmod -R u+w "$work/lib"
mkdir -p "$work"/{home,cfg,cache,data,state,xdg-dirs,etc,store,bin}

if [ "$(basename "$tool")" = nix ]; then
  real=$(dirname "$tool")/nix-instantiate
  [ -x "$real" ] || real=$(command -v nix-instantiate)
  ln -s "$real" "$work/bin/nix-instantiate"
else
  cat >"$work/bin/nix-instantiate" <<EOF
#!/usr/bin/env bash
args=(eval --impure) attr=() file=()
while [ \$# -gt 0 ]; do
  case \$1 in
    --timeout) shift 2 ;;
    --eval-only | --eval | --strict | --read-write-mode) shift ;;
    -E | --expr) args+=(--expr "\$2"); shift 2 ;;
    -A | --attr) attr=("\$2"); shift 2 ;;
    --option | --arg | --argstr) args+=("\$1" "\$2" "\$3"); shift 3 ;;
    -*) args+=("\$1"); shift ;;
    *) file=(--file "\$1"); shift ;;
  esac
done
# nix-instantiate prints functions as <LAMBDA>, <PRIMOP>, <PRIMOP-APP>; nix eval names them
# (a lambda with its position, which may be «string»).
set -o pipefail
"$tool" "\${args[@]}" "\${file[@]}" "\${attr[@]}" |
  LC_ALL=C.UTF-8 sed -E -e 's/«lambda([^«»]|«[^«»]*»)*»/<LAMBDA>/g' \\
    -e 's/«partially applied primop[^»]*»/<PRIMOP-APP>/g' -e 's/«primop[^»]*»/<PRIMOP>/g'
EOF
  chmod +x "$work/bin/nix-instantiate"
fi

nix_config="experimental-features = nix-command flakes
build-users-group =
substituters =
store = $work/store"
if [ -n "${SCRIPTS:-}" ]; then
  read -r -a scripts <<<"$SCRIPTS"
else
  scripts=()
  for s in tests/modules.sh tests/debug.sh tests/filesystem.sh tests/network.sh \
    path/tests/prop.sh; do
    [ -f "$lib/$s" ] && scripts+=("$s")
  done
  [ "${BIND_STORE:-}" = 1 ] && for s in tests/sources.sh fileset/tests.sh; do
    [ -f "$lib/$s" ] && scripts+=("$s")
  done
fi

in_ns=()
if [ "${BIND_STORE:-}" = 1 ]; then
  mkdir -p "$work/store/nix/store"
  # shellcheck disable=SC2016 # expanded by the inner shell
  in_ns=(unshare -m --propagation private sh -c 'mount --bind "$0" /nix/store && exec "$@"'
    "$work/store/nix/store")
fi

echo "# nixpkgs lib's shell tests through \`$(basename "$tool")\`"
echo "lib: $lib"
for s in "${scripts[@]}"; do
  out=$OUT_DIR/${s//\//-}.txt
  (
    cd "$work/lib/tests" || exit 125
    "${in_ns[@]}" env -i "PATH=$work/bin:$PATH" "HOME=$work/home" "XDG_CONFIG_HOME=$work/cfg" \
      "XDG_CACHE_HOME=$work/cache" "XDG_DATA_HOME=$work/data" "XDG_STATE_HOME=$work/state" \
      "XDG_CONFIG_DIRS=$work/xdg-dirs" "NIX_CONF_DIR=$work/etc" NO_COLOR=1 TERM=dumb \
      "NIX_CONFIG=$nix_config" "TEST_LIB=$work/lib" bash "$work/lib/$s"
  ) >"$out" 2>&1 </dev/null
  rc=$?
  sed -i "s#$work/lib#LIB#g" "$out"
  counts=$(grep -E '^[0-9]+ (Pass|Fail)$' "$out" | tr '\n' ' ')
  if [ "$rc" = 0 ]; then
    echo "$s: pass ${counts:+($counts)}"
  else
    echo "$s: FAIL, exit $rc ${counts:+($counts)}; see $out"
  fi
done
