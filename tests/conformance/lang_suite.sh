#!/usr/bin/env bash
# Runs Nix's language test suite (NixOS/nix tests/functional/lang) through `TOOL eval --file`
# and writes a report of counts and failing test names. It is a report, not a test: it exits 0
# whatever the counts, and 1 only when the suite or the tool is missing.
#
# Usage: tests/conformance/lang_suite.sh SUITE_DIR [TOOL]
#   SUITE_DIR  the suite's `lang` directory (eval-okay-*.nix, eval-fail-*.nix, …)
#   TOOL       the binary under test: a path, or a command name on PATH such as `nix` (the
#              oracle); default $RFLAKE, else target/release/rflake of this repository
# Environment:
#   OUT_DIR       where the report and every test's output go
#                 (default target/conformance/lang-<basename of TOOL>)
#   TIMEOUT       seconds per test (default 10)
#   MEM_LIMIT_KB  virtual memory cap per test, `ulimit -v` (default 4194304, 4 GiB)
#   STORE         the store the tool is told to use (default: a temporary chroot store;
#                 `dummy://` is what lang.sh uses, where writing a .drv is an error)
#
# How each test runs (mirroring lang.sh, see docs/conformance.md for the reasons):
#   - the suite is copied to a temporary directory as `lang/`; every command runs there, so
#     `lang/…` in `.flags` resolves as in lang.sh, and that directory is replaced by `/pwd` in
#     outputs, as lang.sh replaces its own working directory;
#   - environment: only PATH, TEST_VAR=foo, NIX_PATH=lang/dir3:lang/dir4, HOME=/fake-home,
#     temporary XDG directories and NIX_CONF_DIR, and NIX_CONFIG naming a temporary chroot store
#     (`store = DIR`) with no substituters;
#   - `eval-okay-NAME`: `TOOL eval [FLAGS] --file lang/NAME.nix [ATTR]` where FLAGS are the
#     words of `NAME.flags` without `--eval`/`--strict` (`nix eval` always prints the value
#     deeply) and `-A ATTR`/`--attr ATTR` become the attribute path ATTR; passes when it exits 0
#     and stdout equals `NAME.exp`. Tests with `NAME.exp.xml` (nix-instantiate --xml) or
#     `NAME.exp-disabled` are skipped, as lang.sh skips the latter;
#   - `eval-fail-NAME`: FLAGS from `NAME.flags` (comments stripped) or lang.sh's default
#     `--eval --strict --show-trace`, translated the same way; counts when the tool exits 1
#     with an `error:` line and the error is not a command-line usage error; counted separately
#     when its final error message equals the one in `NAME.err.exp` (final_error.awk);
#   - `parse-fail-NAME`: `TOOL eval --file lang/NAME.nix` must fail as eval-fail does; same
#     message compared with the file's path replaced by `«stdin»` (lang.sh parses stdin);
#     `parse-okay-NAME`: passes unless it fails with a parse-time error (syntax error, undefined
#     variable, duplicate attribute or formal), a crash or a timeout;
#   - a test's `NAME.postprocess` script is run on its output as lang.sh runs it.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/conformance"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 1
fi
suite=$1
tool=${2:-${RFLAKE:-$repo/target/release/rflake}}
TIMEOUT=${TIMEOUT:-10}
MEM_LIMIT_KB=${MEM_LIMIT_KB:-4194304}

if ! ls "$suite"/eval-okay-*.nix >/dev/null 2>&1; then
  echo "error: '$suite' holds no eval-okay-*.nix: not Nix's language suite" >&2
  exit 1
fi
suite=$(realpath "$suite")
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
command -v timeout >/dev/null 2>&1 || {
  echo "error: 'timeout' (coreutils) is missing" >&2
  exit 1
}

OUT_DIR=${OUT_DIR:-$repo/target/conformance/lang-$(basename "$tool")}
mkdir -p "$OUT_DIR/out"
OUT_DIR=$(realpath "$OUT_DIR")
res=$OUT_DIR/out
rm -f "$res"/*
report=$OUT_DIR/report.txt

work=$(mktemp -d "${TMPDIR:-/tmp}/rflake-lang.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
work=$(realpath "$work")
cp -a "$suite" "$work/lang"
chmod -R u+w "$work/lang"
# The suite has symbolic links (readDir, pathExists and symlink-resolution tests); a copy made
# without them holds a small file naming the target instead. Restore those links in the copy.
while read -r link target; do
  f=$work/lang/$link
  if [ -f "$f" ] && [ ! -L "$f" ] && [ "$(cat "$f")" = "$target" ]; then
    rm "$f" && ln -s "$target" "$f"
  fi
done <<'LINKS'
readDir/ldir foo
readDir/linked foo/git-hates-directories
symlink-resolution/broken nonexistent
symlink-resolution/foo/overlays ../overlays
LINKS
mkdir -p "$work"/{cfg,cache,data,state,xdg-dirs,etc,store}

nix_config="experimental-features = nix-command flakes
build-users-group =
substituters =
store = ${STORE:-$work/store}"
isolated=(env -i "PATH=$PATH" TEST_VAR=foo NIX_PATH=lang/dir3:lang/dir4 HOME=/fake-home
  "XDG_CONFIG_HOME=$work/cfg" "XDG_CACHE_HOME=$work/cache" "XDG_DATA_HOME=$work/data"
  "XDG_STATE_HOME=$work/state" "XDG_CONFIG_DIRS=$work/xdg-dirs" "NIX_CONF_DIR=$work/etc"
  NO_COLOR=1 TERM=dumb "NIX_CONFIG=$nix_config")

# run NAME ARGS...: runs the tool on one test; stdout and stderr go to $res/NAME.{out,err}
# with the work directory replaced by /pwd; sets rc.
run() {
  local name=$1
  shift
  # (the outer redirection keeps bash's own "Segmentation fault" notices out of the output)
  {
    (
      cd "$work" || exit 125
      ulimit -v "$MEM_LIMIT_KB"
      exec timeout -k 2 "$TIMEOUT" "${isolated[@]}" "$tool" "$@"
    ) >"$res/$name.out" 2>"$res/$name.err" </dev/null
  } 2>/dev/null
  rc=$?
  sed -i "s!$work!/pwd!g" "$res/$name.out" "$res/$name.err"
  if [ -e "$work/lang/$name.postprocess" ]; then
    (cd "$work" && bash "lang/$name.postprocess" "$res/$name") >/dev/null 2>&1
  fi
}

# translate WORD...: sets args to the `eval` arguments for nix-instantiate-style flags.
translate() {
  args=()
  attrs=()
  while [ $# -gt 0 ]; do
    case $1 in
      --eval | --eval-only | --strict) ;;
      -A | --attr)
        attrs+=("${2-}")
        shift
        ;;
      *) args+=("$1") ;;
    esac
    shift
  done
}

# classify: the kind of failure in $res/$name.err with exit code $rc:
# eval (exit 1, an `error:` line, not a usage error), usage, crash, timeout, exit0 or other.
classify() {
  local err=$res/$name.err msg
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    kind=timeout
  elif [ "$rc" -ge 128 ] || [ "$rc" = 101 ] || grep -qE 'panicked at|has overflowed its stack' "$err"; then
    kind=crash
  elif [ "$rc" = 0 ]; then
    kind=exit0
  elif grep -qE "^Usage: |^For more information, try '--help'" "$err"; then
    kind=usage
  else
    msg=$(tr -d '\0' <"$err" | awk -f "$here/final_error.awk" 2>/dev/null | head -n 1)
    if grep -qE "^(unrecogni[sz]ed (flag|option|subcommand|command)|unexpected argument|'[^']*' is not a recogni[sz]ed command|the following required arguments were not provided|flag '[^']*' requires|invalid value '[^']*' for '-)" <<<"$msg"; then
      kind=usage
    elif [ "$rc" = 1 ] && grep -qE '^[[:space:]]*error:' "$err"; then
      kind="eval"
    else
      kind=other
    fi
  fi
}

# same_message EXPECTED_FILE [FROM TO]: whether the final error messages agree (after replacing
# FROM by TO in the tool's output).
same_message() {
  local got want
  want=$(tr -d '\0' <"$1" | awk -f "$here/final_error.awk" 2>/dev/null) || return 1
  got=$(tr -d '\0' <"$res/$name.err" | awk -f "$here/final_error.awk" 2>/dev/null) || return 1
  [ $# -eq 3 ] && got=${got//"$2"/"$3"}
  [ "$got" = "$want" ]
}

# Renderings of `nix eval`'s printer that nix-instantiate prints differently (.exp files are
# nix-instantiate's): functions.
printer_normalise() {
  LC_ALL=C.UTF-8 sed -e 's/«lambda[^»]*»/<LAMBDA>/g' \
    -e 's/«partially applied primop[^»]*»/<PRIMOP-APP>/g' -e 's/«primop[^»]*»/<PRIMOP>/g' "$1"
}

declare -A count=()
inc() { count[$1]=$((${count[$1]:-0} + 1)); }
okay_fail=() fail_noerr=() fail_msg=() pokay_fail=() pfail_noerr=() pfail_msg=() skipped=()

cd "$work/lang" || exit 1
okay_tests=(eval-okay-*.nix)
fail_tests=(eval-fail-*.nix)
pokay_tests=(parse-okay-*.nix)
pfail_tests=(parse-fail-*.nix)
cd "$repo" || exit 1

for f in "${okay_tests[@]}"; do
  name=${f%.nix}
  if [ -e "$work/lang/$name.exp.xml" ]; then
    skipped+=("$name: .exp.xml (nix-instantiate --xml)")
    continue
  elif [ -e "$work/lang/$name.exp-disabled" ]; then
    skipped+=("$name: .exp-disabled")
    continue
  fi
  inc okay
  flags=()
  [ -e "$work/lang/$name.flags" ] && read -r -a flags <"$work/lang/$name.flags"
  translate "${flags[@]}"
  run "$name" eval "${args[@]}" --file "lang/$name.nix" "${attrs[@]}"
  if [ "$rc" = 0 ] && cmp -s "$res/$name.out" "$work/lang/$name.exp"; then
    inc okay_pass
  elif [ "$rc" = 0 ] && cmp -s <(printer_normalise "$res/$name.out") "$work/lang/$name.exp"; then
    inc okay_pass
    inc okay_pass_printer
  else
    if [ "$rc" = 0 ]; then
      kind="output differs"
    else
      classify
      [ "$kind" = eval ] && kind="evaluation error: $(tr -d '\0' <"$res/$name.err" | awk -f "$here/final_error.awk" | head -n 1)"
    fi
    [ "$kind" = crash ] && inc crash
    okay_fail+=("$name: $kind")
  fi
done

for f in "${fail_tests[@]}"; do
  name=${f%.nix}
  inc fail
  if [ -e "$work/lang/$name.flags" ]; then
    read -r -a flags < <(sed -e 's/#.*//' "$work/lang/$name.flags" | tr '\n' ' ')
  else
    flags=(--eval --strict --show-trace)
  fi
  translate "${flags[@]}"
  run "$name" eval "${args[@]}" --file "lang/$name.nix" "${attrs[@]}"
  classify
  if [ "$kind" = eval ]; then
    inc fail_pass
    if same_message "$work/lang/$name.err.exp"; then
      inc fail_same
    else
      fail_msg+=("$name")
    fi
  else
    [ "$kind" = crash ] && inc crash
    fail_noerr+=("$name: $kind")
  fi
done

for f in "${pokay_tests[@]}"; do
  name=${f%.nix}
  inc pokay
  run "$name" eval --file "lang/$name.nix"
  classify
  msg=$(tr -d '\0' <"$res/$name.err" | awk -f "$here/final_error.awk" 2>/dev/null | head -n 1)
  if [ "$kind" = crash ] || [ "$kind" = timeout ] || [ "$kind" = usage ] || { [ "$kind" != exit0 ] &&
    grep -qE "^(syntax error|undefined variable|attribute '[^']*' already defined|duplicate formal function argument|invalid (integer|float))" <<<"$msg"; }; then
    [ "$kind" = crash ] && inc crash
    pokay_fail+=("$name: $kind${msg:+: $msg}")
  else
    inc pokay_pass
  fi
done

for f in "${pfail_tests[@]}"; do
  name=${f%.nix}
  inc pfail
  run "$name" eval --file "lang/$name.nix"
  classify
  if [ "$kind" = eval ]; then
    inc pfail_pass
    if same_message "$work/lang/$name.err.exp" "/pwd/lang/$name.nix" "«stdin»"; then
      inc pfail_same
    else
      pfail_msg+=("$name")
    fi
  else
    [ "$kind" = crash ] && inc crash
    pfail_noerr+=("$name: $kind")
  fi
done

n() { echo "${count[$1]:-0}"; }
list() {
  local title=$1
  shift
  echo
  echo "## $title ($#)"
  [ $# -gt 0 ] && printf '%s\n' "$@"
}
version=$("${isolated[@]}" "$tool" --version 2>/dev/null | head -n 1)
{
  echo "# Nix language suite through \`$(basename "$tool") eval --file\`"
  echo "tool: $tool (${version:-version unknown})"
  echo "suite: $suite"
  echo "timeout ${TIMEOUT}s, memory cap ${MEM_LIMIT_KB} KiB per test, store ${STORE:-a temporary chroot store}"
  echo
  echo "eval-okay:  $(n okay_pass)/$(n okay) print the .exp value ($(n okay_pass_printer) of them after mapping «lambda…»/«primop…» to <LAMBDA>/<PRIMOP>); ${#skipped[@]} skipped"
  echo "eval-fail:  $(n fail_pass)/$(n fail) fail with an evaluation error; $(n fail_same) of them with the .err.exp's final error message"
  echo "parse-okay: $(n pokay_pass)/$(n pokay) not rejected at parse time"
  echo "parse-fail: $(n pfail_pass)/$(n pfail) fail with an evaluation error; $(n pfail_same) of them with the .err.exp's final error message"
  echo "crashes:    $(n crash)"
  list "eval-okay failing" "${okay_fail[@]}"
  list "eval-fail without an evaluation error" "${fail_noerr[@]}"
  list "eval-fail with a different final error message" "${fail_msg[@]}"
  list "parse-okay failing" "${pokay_fail[@]}"
  list "parse-fail without an evaluation error" "${pfail_noerr[@]}"
  list "parse-fail with a different final error message" "${pfail_msg[@]}"
  list "skipped" "${skipped[@]}"
} >"$report"
sed -n '1,/^## /p' "$report" | sed '$d'
echo "report: $report (outputs in $res)"
