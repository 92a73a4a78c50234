#!/usr/bin/env bash
# Benchmarks the evaluator: `rflake eval --expr E` against `nix eval --expr E` (Nix from PATH),
# one hyperfine run with both commands per workload, plus each tool's peak memory.
#
# Usage: bench/eval.sh [NIXPKGS_LIB_2022]   (from the repository root, after cargo build --release)
#   NIXPKGS_LIB_2022  the 2022 nixpkgs lib for the module-system workload (default
#                     $NIXPKGS_LIB_2022, else ../shared/yardsticks/nixpkgs-lib-2022 of the repo)
# Environment:
#   RFLAKE     the rflake binary, or any `nix`-compatible command (default target/release/rflake;
#              RFLAKE=nix benchmarks Nix against itself, which checks every workload)
#   BENCH_OUT  where results are written (default target/bench)
#   WORKLOADS  names of the workloads to run, separated by blanks (default: all)
#   RUNS       hyperfine's --min-runs (default 10; 2 warm-up runs come first)
#
# Every workload is an expression whose value is small (a number, a hash or a store path), so
# printing is not measured. Before timing, each tool evaluates it once under /usr/bin/time
# (peak resident memory, `%M`); the two printed values must be equal, else the table says
# MISMATCH. Both tools run in the same isolated environment (temporary HOME, XDG directories
# and NIX_CONF_DIR; no substituters), each with `--store` naming a chroot store of its own in a
# temporary directory, where the derivation workload writes its .drv files (the warm-up runs
# write them; measured runs find them there, for both tools alike). The module-system workload
# imports the lib by absolute path, so it runs with `--impure`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
RFLAKE=${RFLAKE:-$repo/target/release/rflake}
BENCH_OUT=${BENCH_OUT:-$repo/target/bench}
RUNS=${RUNS:-10}
lib2022=${1:-${NIXPKGS_LIB_2022:-$repo/../shared/yardsticks/nixpkgs-lib-2022}}

missing=()
command -v hyperfine >/dev/null 2>&1 || missing+=("hyperfine (Debian package hyperfine)")
command -v nix >/dev/null 2>&1 || missing+=("nix (Debian package nix-bin)")
[ -x /usr/bin/time ] || missing+=("/usr/bin/time (Debian package time)")
if [[ $RFLAKE == */* ]]; then
  [ -x "$RFLAKE" ] || missing+=("$RFLAKE (run: cargo build --release, or set RFLAKE)")
else
  command -v "$RFLAKE" >/dev/null 2>&1 || missing+=("$RFLAKE (set RFLAKE to a binary)")
fi
[ -f "$lib2022/default.nix" ] || missing+=("the 2022 nixpkgs lib at $lib2022 (pass its directory)")
if ((${#missing[@]})); then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 1
fi
[[ $RFLAKE == */* ]] && RFLAKE=$(realpath "$RFLAKE") || RFLAKE=$(command -v "$RFLAKE")
NIX=$(command -v nix)
lib2022=$(realpath "$lib2022")
mkdir -p "$BENCH_OUT"
BENCH_OUT=$(realpath "$BENCH_OUT")

root=$(mktemp -d "${TMPDIR:-/tmp}/rflake-bench-eval.XXXXXX")
trap 'chmod -R u+w "$root" 2>/dev/null; rm -rf "$root"' EXIT
mkdir -p "$root"/{home,config,cache,data,state,xdg-dirs,etc,store-nix,store-rflake}
isolated=(env -i "PATH=$PATH" "HOME=$root/home" "XDG_CONFIG_HOME=$root/config"
  "XDG_CACHE_HOME=$root/cache" "XDG_DATA_HOME=$root/data" "XDG_STATE_HOME=$root/state"
  "XDG_CONFIG_DIRS=$root/xdg-dirs" "NIX_CONF_DIR=$root/etc" NO_COLOR=1
  "NIX_CONFIG=experimental-features = nix-command flakes
build-users-group =
substituters =")

# The workloads, in the order of the issue. `workload NAME [EXTRA_FLAG]` reads the expression.
names=()
declare -A expr=() flags=()
workload() {
  names+=("$1")
  flags[$1]=${2:-}
  expr[$1]=$(cat)
}

workload fib <<'EOF'
let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 25
EOF

workload foldl-1M <<'EOF'
builtins.foldl' (acc: x: acc + x) 0 (builtins.genList (i: i) 1000000)
EOF

workload sort-200k <<'EOF'
let
  n = 200000;
  xs = builtins.genList (i: let h = i * 7919 + 104729; in h - h / 200003 * 200003) n;
  s = builtins.sort builtins.lessThan xs;
in builtins.head s + builtins.elemAt s (n / 2) + builtins.elemAt s (n - 1)
EOF

workload listToAttrs-100k <<'EOF'
let
  n = 100000;
  s = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) n);
in builtins.foldl' (acc: i: acc + s."k${toString (n - 1 - i)}") 0 (builtins.genList (i: i) n)
EOF

workload mapAttrs-100k <<'EOF'
let
  s = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = i; }) 100000);
  m = builtins.mapAttrs (name: v: v * 2 + builtins.stringLength name) s;
in builtins.foldl' (acc: v: acc + v) 0 (builtins.attrValues m)
EOF

workload strings-50k <<'EOF'
let
  lines = builtins.genList (i: "line ${toString i}: the quick brown fox jumps over the lazy dog") 50000;
  text = builtins.concatStringsSep "\n" lines;
in builtins.stringLength text
EOF

workload replaceStrings-50k <<'EOF'
let
  text = builtins.concatStringsSep "\n" (builtins.genList (i: "line ${toString i}: the quick brown fox jumps over the lazy dog") 50000);
  r = builtins.replaceStrings [ "quick" "lazy" "line" "o" ] [ "slow" "busy" "LINE" "0" ] text;
in builtins.stringLength r
EOF

workload split-50k <<'EOF'
let
  text = builtins.concatStringsSep "\n" (builtins.genList (i: "line ${toString i}: the quick brown fox jumps over the lazy dog") 50000);
in builtins.length (builtins.split "\n|: " text)
EOF

workload hashString-50k <<'EOF'
let
  lines = builtins.genList (i: "line ${toString i}: the quick brown fox jumps over the lazy dog") 50000;
in builtins.hashString "sha256" (builtins.concatStringsSep "\n" (map (builtins.hashString "sha256") lines))
EOF

workload fixpoint-5000x10 <<'EOF'
let
  fix = f: let x = f x; in x;
  extends = overlay: f: self: let super = f self; in super // overlay self super;
  base = self: builtins.listToAttrs (builtins.genList (i: {
    name = "a${toString i}";
    value = if i == 0 then 0 else self."a${toString (i / 2)}" + i;
  }) 5000);
  overlay = k: self: super: {
    "a${toString (k * 400)}" = super."a${toString (k * 400)}" + k;
    "extra${toString k}" = self.a1 + k;
  };
  final = fix (builtins.foldl' (f: k: extends (overlay k) f) base (builtins.genList (k: k) 10));
in builtins.foldl' (acc: v: acc + v) 0 (builtins.attrValues final)
EOF

workload update-3000 <<'EOF'
let
  r = builtins.foldl' (acc: i: acc // { "k${toString i}" = i; }) { } (builtins.genList (i: i) 3000);
in builtins.length (builtins.attrNames r) + r.k2999
EOF

workload with-200k <<'EOF'
let
  s = builtins.listToAttrs (builtins.genList (i: { name = "v${toString i}"; value = i; }) 100);
  f = i: with s; with { x = i; }; v1 + v50 + v99 + x;
in builtins.foldl' (acc: i: acc + f i) 0 (builtins.genList (i: i) 200000)
EOF

workload deepSeq-2^16 <<'EOF'
let
  tree = d: if d == 0 then { v = 1; } else { l = tree (d - 1); r = tree (d - 1); };
in builtins.deepSeq (tree 15) true
EOF

workload json-30k <<'EOF'
let
  recs = builtins.genList (i: {
    id = i;
    name = "item-${toString i}";
    tags = [ "a" "b\"c" "d\n" ];
    ok = i / 2 * 2 == i;
    nothing = null;
    nested = { score = i * 3; label = "x${toString i}"; };
  }) 30000;
  j = builtins.toJSON recs;
  back = builtins.fromJSON j;
in builtins.stringLength j + builtins.length back + (builtins.elemAt back 29999).nested.score
EOF

workload derivations-2000 <<'EOF'
let
  mk = i: prev: derivation {
    name = "chain-${toString i}";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo ${prev} > $out" ];
  };
  last = builtins.foldl' (prev: i: mk i prev) "" (builtins.genList (i: i) 2000);
in last.drvPath
EOF

workload evalModules-1000 --impure <<'EOF'
let
  lib = import @LIB@;
  inherit (lib) mkOption types;
  perModule = 50;
  sub = types.submodule {
    options.enable = mkOption { type = types.bool; default = false; };
    options.name = mkOption { type = types.str; default = "n"; };
  };
  typeOf = i: builtins.elemAt [ types.int types.str (types.listOf types.str) types.bool (types.attrsOf types.int) sub ] (i - i / 6 * 6);
  valueOf = i: builtins.elemAt [ i "s${toString i}" [ "a${toString i}" "b" ] (i / 2 * 2 == i) { x = i; y = i + 1; } { enable = true; } ] (i - i / 6 * 6);
  # Module k declares options o(50k)..o(50k+49) and defines half of the next module's.
  module = k: { config, ... }: {
    options = builtins.listToAttrs (builtins.genList (j: let i = k * perModule + j; in {
      name = "o${toString i}";
      value = mkOption { type = typeOf i; default = valueOf i; description = "option ${toString i}"; };
    }) perModule);
    config = builtins.listToAttrs (builtins.genList (j: let i = (k + 1 - (k + 1) / 20 * 20) * perModule + j; in {
      name = "o${toString i}";
      value = if i - i / 6 * 6 == 0 then lib.mkForce (i * 2) else lib.mkDefault (valueOf i);
    }) (perModule / 2));
  };
  result = lib.evalModules { modules = builtins.genList module 20; };
in builtins.hashString "sha256" (builtins.toJSON result.config)
EOF
expr[evalModules-1000]=${expr[evalModules-1000]//@LIB@/$lib2022}

selected=("${names[@]}")
if [ -n "${WORKLOADS:-}" ]; then
  read -r -a selected <<<"$WORKLOADS"
  for w in "${selected[@]}"; do
    [ -n "${expr[$w]+x}" ] || {
      echo "unknown workload '$w'; known: ${names[*]}" >&2
      exit 1
    }
  done
fi

# The command line of TOOL (nix or rflake) for workload W, as words.
command_of() {
  local tool=$1 w=$2 bin=$NIX
  [ "$tool" = rflake ] && bin=$RFLAKE
  cmd=("$bin" eval --store "$root/store-$tool")
  [ -n "${flags[$w]}" ] && cmd+=("${flags[$w]}")
  cmd+=(--expr "${expr[$w]}")
}
# The same, quoted for hyperfine (which splits it like a POSIX shell).
quoted() {
  local word out=""
  for word in "${cmd[@]}"; do out+=" '${word//\'/\'\\\'\'}'"; done
  echo "${out# }"
}
# once TOOL W: evaluates once, sets value, peak (KiB) and ok.
once() {
  command_of "$1" "$2"
  ok=1
  value=$("${isolated[@]}" /usr/bin/time -f %M -o "$root/peak" "${cmd[@]}" 2>"$root/err") || ok=0
  peak=$(tail -n 1 "$root/peak")
  if [ $ok = 0 ]; then
    peak=""
    echo "warning: $1 failed on $2:" >&2
    sed 's/^/  /' "$root/err" >&2
  fi
}
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo "-"; }
mean_ms() { grep -o '"mean": *[0-9.e+-]*' "$1" | sed 's/.*: *//' | sed -n "$2p" | awk '{ printf "%.1f", $1 * 1000 }'; }

table=$BENCH_OUT/eval.md
{
  echo "| workload | nix mean (ms) | rflake mean (ms) | nix / rflake | nix peak (MiB) | rflake peak (MiB) | value |"
  echo "|---|---:|---:|---:|---:|---:|---|"
} >"$table"
log_sum=0 counted=0
for w in "${selected[@]}"; do
  echo "== $w"
  once nix "$w"
  nix_ok=$ok nix_value=$value nix_peak=$peak
  once rflake "$w"
  rf_ok=$ok rf_value=$value rf_peak=$peak
  note=$nix_value
  if [ "$nix_ok" = 0 ] || [ "$rf_ok" = 0 ]; then
    note="ERROR (nix ok: $nix_ok, rflake ok: $rf_ok)"
  elif [ "$nix_value" != "$rf_value" ]; then
    note="MISMATCH: nix $nix_value, rflake $rf_value"
    echo "warning: $w: nix printed $nix_value, rflake printed $rf_value" >&2
  fi
  nix_ms="-" rf_ms="-" ratio="-"
  if [ "$nix_ok" = 1 ] && [ "$rf_ok" = 1 ]; then
    command_of nix "$w"
    nix_cmd=$(quoted)
    command_of rflake "$w"
    rf_cmd=$(quoted)
    "${isolated[@]}" hyperfine --shell=none --warmup 2 --min-runs "$RUNS" --style basic \
      --command-name "nix $w" --command-name "rflake $w" \
      --export-json "$BENCH_OUT/eval-$w.json" "$nix_cmd" "$rf_cmd"
    nix_ms=$(mean_ms "$BENCH_OUT/eval-$w.json" 1)
    rf_ms=$(mean_ms "$BENCH_OUT/eval-$w.json" 2)
    ratio=$(awk -v n="$nix_ms" -v r="$rf_ms" 'BEGIN { printf "%.2f", n / r }')
    log_sum=$(awk -v s="$log_sum" -v x="$ratio" 'BEGIN { printf "%.9f", s + log(x) }')
    counted=$((counted + 1))
  fi
  echo "| $w | $nix_ms | $rf_ms | $ratio | $(mib "$nix_peak") | $(mib "$rf_peak") | ${note//|/\\|} |" >>"$table"
done
if [ "$counted" -gt 0 ]; then
  geo=$(awk -v s="$log_sum" -v n="$counted" 'BEGIN { printf "%.2f", exp(s / n) }')
  echo "| geometric mean ($counted workloads) | | | $geo | | | |" >>"$table"
fi
echo
echo "nix: $NIX ($(nix --version)); rflake: $RFLAKE"
cat "$table"
echo "results: $table, $BENCH_OUT/eval-*.json"
