#!/usr/bin/env bash
# Runs rflake's whole test suite. Installs what the tests need first (Nix 2.8 as the
# differential oracle, git, Mercurial, zsh and fish for the completion checks, OpenSSH for the
# ssh-ng:// store tests, jq for the fault campaign), only if missing. Ends with a short run of
# the fault campaign (tests/faults/run.sh: 10 kill trials per writer, 5 of `build` and
# `profile upgrade`, 2 concurrency rounds).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nix >/dev/null 2>&1 || need+=(nix-bin)
command -v git >/dev/null 2>&1 || need+=(git)
command -v hg >/dev/null 2>&1 || need+=(mercurial)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v jq >/dev/null 2>&1 || need+=(jq)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Build users for the sandbox tests run as root (tests/it/build_sandbox.rs), made as Debian's
# nix-setup-systemd (recommended by nix-bin) makes them, only if missing.
if [ "$(id -u)" = 0 ] && ! getent group nixbld >/dev/null; then
  groupadd --force --system nixbld
  for n in $(seq 1 10); do
    id "nixbld$n" >/dev/null 2>&1 ||
      useradd --system --comment "Nix build user $n" --home-dir /var/empty --gid nixbld \
        --groups nixbld --no-user-group --shell /usr/sbin/nologin "nixbld$n"
  done
fi

# The tests never write the machine's /nix: anything in it newer than this marker is a leak.
marker=$(mktemp)
trap 'rm -f "$marker"' EXIT

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
tests/faults/run.sh --trials 10 --build-trials 5 --rounds 2

# (A machine whose own nix-daemon runs writes there itself: then it is only reported.)
if [ -d /nix ] && leaked=$(find /nix -newer "$marker" 2>/dev/null | head -5) && [ -n "$leaked" ]; then
  if pgrep -x nix-daemon >/dev/null; then
    printf 'warning: /nix changed during the tests (a nix-daemon runs here):\n%s\n' "$leaked" >&2
  else
    printf 'error: the test suite wrote the machine'"'"'s /nix:\n%s\n' "$leaked" >&2
    exit 1
  fi
fi
