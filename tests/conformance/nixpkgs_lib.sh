#!/usr/bin/env bash
# Evaluates nixpkgs `lib` with TOOL: its own test suite `tests/misc.nix` (lib.runTests: the
# list of failing tests, empty when all pass), a `lib.evalModules` smoke test, and a service
# configuration over six modules (evalmodules.nix, its expected JSON in evalmodules.json). It
# is a report, not a test: it exits 0 whatever the results, and 1 only when the lib or the
# tool is missing. The lib's other self-contained test files (tests/systems.nix,
# tests/fetchers.nix, path/tests/unit.nix, where present) run too.
#
# Usage: tests/conformance/nixpkgs_lib.sh LIB_DIR [TOOL]
#   LIB_DIR  a nixpkgs `lib` directory (default.nix, modules.nix, tests/misc.nix, …)
#   TOOL     the binary under test: a path, or a command name on PATH such as `nix` (the
#            oracle); default $RFLAKE, else target/release/rflake of this repository
# Environment:
#   OUT_DIR       where the report goes (default target/conformance/<basename of LIB_DIR>-<basename of TOOL>)
#   TIMEOUT       seconds per evaluation (default 120)
#   MEM_LIMIT_KB  virtual memory cap per evaluation, `ulimit -v` (default 8388608, 8 GiB)
#   EXCLUDE       more test names to leave out, separated by blanks
#
# Tests that need all of nixpkgs (their body mentions `../..` or `<nixpkgs>`, e.g.
# `(import ../.. { … }).hello`) are left out by name: the script finds them in misc.nix
# itself and lists them in the report. The lib is copied to a temporary directory, where the
# last line `runTests {` of misc.nix becomes `{`, so that importing it gives the attribute set
# of tests; the tests are then run with the lib's own `runTests` minus the excluded names, all
# in one evaluation. When that evaluation fails as a whole (an error `tryEval` cannot catch),
# each test is run in an evaluation of its own, so the report still names the ones that fail
# and the ones that raise an error.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 1
fi
lib=$1
tool=${2:-${RFLAKE:-$repo/target/release/rflake}}
TIMEOUT=${TIMEOUT:-120}
MEM_LIMIT_KB=${MEM_LIMIT_KB:-8388608}

if [ ! -f "$lib/default.nix" ] || [ ! -f "$lib/tests/misc.nix" ]; then
  echo "error: '$lib' is not a nixpkgs lib directory (no default.nix or tests/misc.nix)" >&2
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

OUT_DIR=${OUT_DIR:-$repo/target/conformance/$(basename "$lib")-$(basename "$tool")}
mkdir -p "$OUT_DIR"
OUT_DIR=$(realpath "$OUT_DIR")
report=$OUT_DIR/report.txt

work=$(mktemp -d "${TMPDIR:-/tmp}/rflake-lib.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
work=$(realpath "$work")
cp -a "$lib" "$work/lib"
chmod -R u+w "$work/lib"
mkdir -p "$work"/{home,cfg,cache,data,state,xdg-dirs,etc,store}

misc=$work/lib/tests/misc.nix
if [ "$(grep -c '^runTests {' "$misc")" != 1 ]; then
  echo "error: $lib/tests/misc.nix has no single line 'runTests {': its layout changed" >&2
  exit 1
fi
sed -i 's/^runTests {/{/' "$misc"

# Tests whose body mentions the whole of nixpkgs: the attribute names at two spaces of indent
# after the `runTests {` line, whose lines up to the next such name mention ../.. or <nixpkgs>.
mapfile -t needs_nixpkgs < <(awk '
  /^\{/ { body = 1; next }
  body && /^  [A-Za-z_][A-Za-z0-9_'"'"'-]* =/ { name = $1 }
  body && name != "" && /\.\.\/\.\.|<nixpkgs>/ { if (!(name in seen)) { seen[name] = 1; print name } }
' "$misc")
read -r -a extra <<<"${EXCLUDE:-}"
excluded=("${needs_nixpkgs[@]}" "${extra[@]}")
excl_nix=""
for t in "${excluded[@]}"; do excl_nix+=" \"$t\""; done

nix_config="experimental-features = nix-command flakes
build-users-group =
substituters =
store = $work/store"
isolated=(env -i "PATH=$PATH" "HOME=$work/home" "XDG_CONFIG_HOME=$work/cfg"
  "XDG_CACHE_HOME=$work/cache" "XDG_DATA_HOME=$work/data" "XDG_STATE_HOME=$work/state"
  "XDG_CONFIG_DIRS=$work/xdg-dirs" "NIX_CONF_DIR=$work/etc" NO_COLOR=1 TERM=dumb
  "NIX_CONFIG=$nix_config")

# evaluate EXPR: `TOOL eval --json --expr EXPR`; sets out, err and rc.
evaluate() {
  {
    (
      cd "$work" || exit 125
      ulimit -v "$MEM_LIMIT_KB"
      exec timeout -k 2 "$TIMEOUT" "${isolated[@]}" "$tool" eval --impure --json --expr "$1"
    ) >"$work/out" 2>"$work/err" </dev/null
  } 2>/dev/null
  rc=$?
  out=$(tr -d '\0' <"$work/out")
  err=$(tr -d '\0' <"$work/err")
}
# The last `error:` line of $err, or what happened when there is none.
why() {
  local m
  m=$(awk -f "$repo/tests/conformance/final_error.awk" <<<"$err" 2>/dev/null)
  case $rc in
    124 | 137) echo "timeout after ${TIMEOUT}s" ;;
    *) echo "${m:-exit code $rc, no error: line}" ;;
  esac
}
# Names in a JSON list of strings, one per line.
names() { sed -e 's/^\[//' -e 's/\]$//' -e 's/","/"\n"/g' <<<"$1" | sed -e 's/^"//' -e 's/"$//' | sed '/^$/d'; }

prelude="let lib = import $work/lib; tests = removeAttrs (import $misc) [$excl_nix ];"
failed=() errored=() mode=""
evaluate "$prelude in builtins.length (builtins.attrNames tests)"
if [ "$rc" != 0 ]; then
  total="?"
  load_error=$(why)
else
  total=$out
  evaluate "$prelude in map (t: t.name) (lib.runTests tests)"
  if [ "$rc" = 0 ]; then
    mode="one evaluation"
    mapfile -t failed < <(names "$out")
  else
    mode="one evaluation per test (the whole run failed: $(why))"
    evaluate "$prelude in builtins.attrNames tests"
    mapfile -t all < <(names "$out")
    for t in "${all[@]}"; do
      evaluate "$prelude in map (t: t.name) (lib.runTests { \"$t\" = tests.\"$t\"; })"
      if [ "$rc" != 0 ]; then
        errored+=("$t: $(why)")
      elif [ "$out" != "[]" ]; then
        failed+=("$t")
      fi
    done
  fi
fi

# The module system: options of several types, priorities, ordering, a submodule, a value
# defined from another option, and a type error caught by tryEval.
modules_expr="let lib = import $work/lib; inherit (lib) mkOption types; in
  let eval = extra: lib.evalModules { modules = [
    { options.a = mkOption { type = types.int; default = 1; };
      options.s = mkOption { type = types.listOf types.str; default = [ ]; };
      options.e = mkOption { type = types.enum [ \"x\" \"y\" ]; default = \"x\"; };
      options.sub = mkOption { type = types.submodule { options.on = mkOption { type = types.bool; default = false; }; }; default = { }; };
      options.m = mkOption { type = types.attrsOf types.int; default = { }; };
      options.n = mkOption { type = types.int; default = 0; }; }
    ({ config, ... }: { options.b = mkOption { type = types.int; }; config.b = config.a * 2; })
    { a = lib.mkForce 5; s = [ \"x\" ]; m.one = 1; }
    { a = 7; s = lib.mkBefore [ \"y\" ]; sub.on = true; m.two = 2; e = \"y\"; }
  ] ++ extra; }; in
  { config = (eval [ ]).config; typeErrorCaught = !(builtins.tryEval (eval [ { n = \"no\"; } ]).config.n).success; }"
modules_want='{"config":{"a":5,"b":10,"e":"y","m":{"one":1,"two":2},"n":0,"s":["y","x"],"sub":{"on":true}},"typeErrorCaught":true}'
evaluate "$modules_expr"
if [ "$rc" = 0 ] && [ "$out" = "$modules_want" ]; then
  modules="pass"
elif [ "$rc" = 0 ]; then
  modules="FAIL: printed $out, expected $modules_want"
else
  modules="FAIL: $(why)"
fi

# A service configuration over six modules (tests/conformance/evalmodules.nix): mkIf, mkMerge,
# mkOverride, mkDefault, submodules, imports, module arguments, assertions; the JSON printed
# must equal evalmodules.json (Nix 2.8's output on the 2022 lib).
services_want=$(tr -d '\n' <"$repo/tests/conformance/evalmodules.json")
evaluate "import $repo/tests/conformance/evalmodules.nix { lib = import $work/lib; }"
if [ "$rc" = 0 ] && [ "$out" = "$services_want" ]; then
  services="pass"
elif [ "$rc" = 0 ]; then
  services="FAIL: printed $out, expected $services_want"
else
  services="FAIL: $(why)"
fi

# The lib's other test files that need nothing but the lib: each evaluates to the list of
# failing tests (`runTests`: [] when all pass) or to null (`throwTestFailures`).
others=()
for f in tests/systems.nix tests/fetchers.nix path/tests/unit.nix; do
  [ -f "$work/lib/$f" ] || continue
  case $f in
    path/tests/unit.nix) evaluate "import $work/lib/$f { libpath = $work/lib; }" ;;
    *) evaluate "import $work/lib/$f" ;;
  esac
  if [ "$rc" = 0 ] && { [ "$out" = "[]" ] || [ "$out" = "null" ]; }; then
    others+=("$f: pass")
  elif [ "$rc" = 0 ]; then
    others+=("$f: FAIL: $out")
  else
    others+=("$f: FAIL: $(why)")
  fi
done

version=$("${isolated[@]}" "$tool" --version 2>/dev/null | head -n 1)
{
  echo "# nixpkgs lib through \`$(basename "$tool") eval --impure --json --expr\`"
  echo "tool: $tool (${version:-version unknown})"
  echo "lib: $lib"
  echo
  if [ "$total" = "?" ]; then
    echo "tests/misc.nix: cannot be loaded: $load_error"
  else
    echo "tests/misc.nix: $((total - ${#failed[@]} - ${#errored[@]}))/$total pass, ${#failed[@]} fail, ${#errored[@]} raise an error ($mode); ${#excluded[@]} excluded"
  fi
  echo "lib.evalModules smoke test: $modules"
  echo "lib.evalModules service configuration (evalmodules.nix): $services"
  [ ${#others[@]} -gt 0 ] && printf '%s\n' "${others[@]}"
  echo
  echo "## failing (${#failed[@]})"
  [ ${#failed[@]} -gt 0 ] && printf '%s\n' "${failed[@]}"
  echo
  echo "## raising an error (${#errored[@]})"
  [ ${#errored[@]} -gt 0 ] && printf '%s\n' "${errored[@]}"
  echo
  echo "## excluded (${#excluded[@]}): need all of nixpkgs (../.. or <nixpkgs>), or EXCLUDE"
  [ ${#excluded[@]} -gt 0 ] && printf '%s\n' "${excluded[@]}"
} >"$report"
sed -n '1,/^## /p' "$report" | sed '$d'
echo "report: $report"
