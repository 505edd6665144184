#!/usr/bin/env bash
# MSRV suite: checks that the crates build with the oldest toolchains their
# Cargo.toml `rust-version`s promise: the workspace's (let-chains in the
# transports) for every crate, and core's (heapless 0.9) for the embeddable
# crates arcbox-fs, arcbox-fs-virtio (no_std) and arcbox-fs-linux, which
# declare it. Toolchains are installed with
# rustup (minimal profile) when missing. `cargo check` under the checkout's
# target/ (rustc keeps per-toolchain artefacts apart). Bounded (~4 min on 2
# cores once the toolchains are installed); prints a final "N passed, M
# failed" and exits non-zero on failure.
set -u
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
version_in() { sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$1" | head -n1; }
ws=$(version_in Cargo.toml)
core=$(version_in core/Cargo.toml)
pass=0; fail=0
step() { # name, command...
  local name=$1; shift
  if timeout 900 "$@"; then pass=$((pass+1)); echo "ok: $name"; else fail=$((fail+1)); echo "FAILED: $name"; fi
}
toolchain() { # version
  rustup run "$1" rustc --version >/dev/null 2>&1 ||
    timeout 600 rustup toolchain install "$1" --profile minimal >/dev/null
}
if [ -z "$ws" ] || [ -z "$core" ]; then
  echo "FAILED: rust-version missing in Cargo.toml ($ws) or core/Cargo.toml ($core)"
  echo "0 passed, 1 failed"
  exit 1
fi
if toolchain "$ws"; then pass=$((pass+1)); echo "ok: toolchain $ws"; else fail=$((fail+1)); echo "FAILED: toolchain $ws"; fi
step "cargo +$ws check --workspace" cargo "+$ws" check --workspace --locked -j2
if toolchain "$core"; then pass=$((pass+1)); echo "ok: toolchain $core"; else fail=$((fail+1)); echo "FAILED: toolchain $core"; fi
step "cargo +$core check -p arcbox-fs -p arcbox-fs-virtio -p arcbox-fs-linux" \
  cargo "+$core" check -p arcbox-fs -p arcbox-fs-virtio -p arcbox-fs-linux --locked -j2
step "cargo +$core check -p arcbox-fs --no-default-features (no_std, no alloc)" \
  cargo "+$core" check -p arcbox-fs --no-default-features --locked -j2
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
