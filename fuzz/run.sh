#!/usr/bin/env bash
# Fuzzes every target of rflake::fuzzing (fuzz/fuzz_targets/) for a number of executions each,
# with libFuzzer through `cargo fuzz` (needs the nightly toolchain and `cargo install
# cargo-fuzz`). New corpus entries go to fuzz/corpus/<target>/, crashes to
# fuzz/artifacts/<target>/: commit the crashes with their fix; the test suite replays both
# (tests/it/fuzz_replay.rs).
#
# Usage: fuzz/run.sh [TARGET...]            (from the repository root; default: every target)
# Environment:
#   RUNS      executions per target (default 10000000, the figure docs/reliability.md records)
#   MAX_LEN   the longest input libFuzzer tries (default 65536)
#   LOG_DIR   also keep libFuzzer's whole output (progress lines) in LOG_DIR/<target>.log
#   JOBS      parallel fuzzing processes per target (default 1: fuzz in this process; more
#             fork workers that log to fuzz-<n>.log here, so two such runs must not share fuzz/)
#   SANITIZER `address` (default) or `none`: cargo fuzz's -s. rflake has no unsafe code, so
#             AddressSanitizer checks only its dependencies' (rowan's trees, C libraries); the
#             slow targets (nix_eval, archive) run 2-5 times faster without it. Panics, stack
#             overflows, timeouts and running out of memory are found either way.
#   TMPDIR    where the archive target unpacks each input: a tmpfs (/dev/shm/…) triples its
#             speed against a disk's /tmp.
set -euo pipefail
cd "$(dirname "$0")"

RUNS=${RUNS:-10000000}
MAX_LEN=${MAX_LEN:-65536}
JOBS=${JOBS:-1}
SANITIZER=${SANITIZER:-address}
targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
parallel=()
if ((JOBS > 1)); then
  parallel=(-jobs="$JOBS" -workers="$JOBS")
fi
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  # The evaluator leaks by design what Nix's garbage collector would collect: interned names
  # and the reference cycles of recursive sets and environments. No leak checking there.
  leaks=()
  if [[ $t == nix_eval ]]; then
    leaks=(-detect_leaks=0)
  fi
  start=$(date +%s)
  cargo +nightly fuzz run -O --debug-assertions -s "$SANITIZER" "$t" "corpus/$t" -- \
    -runs="$RUNS" -max_len="$MAX_LEN" "${parallel[@]}" "${leaks[@]}" \
    -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>&1 |
    tee ${LOG_DIR:+"$LOG_DIR/$t.log"} |
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|Done)' || true
  echo "$t: $(($(date +%s) - start)) s, crashes: $(find "artifacts/$t" -type f | wc -l)"
done
