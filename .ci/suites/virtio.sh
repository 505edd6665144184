#!/usr/bin/env bash
# arcbox-fs-virtio suite: unit + interop (virtio-drivers) + malicious + proptest
# tests, the vmm embedding example, no_std cross builds, loom models, and a bounded cargo-fuzz run when a
# nightly toolchain and cargo-fuzz are present. Builds under the checkout's
# target/ (loom under target/loom, as scripts/test.sh). Bounded (~8 min); prints a
# final "N passed, M failed" and exits non-zero on failure.
set -u
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
rustup target add thumbv7em-none-eabihf aarch64-unknown-none >/dev/null 2>&1 || true
pass=0; fail=0
step() { # name, command...
  local name=$1; shift
  if timeout 420 "$@"; then pass=$((pass+1)); echo "ok: $name"; else fail=$((fail+1)); echo "FAILED: $name"; fi
}
step "tests" cargo test -p arcbox-fs-virtio -j2
step "clippy" cargo clippy -p arcbox-fs-virtio --all-targets -j2 -- -D warnings
# The embedding example: prints INIT, LOOKUP, READ through the DAX window, stats.
step "example vmm" bash -c 'out=$(cargo run -q -p arcbox-fs-virtio --example vmm -j2) || { echo "$out"; exit 1; }
  echo "$out"
  for want in "guest: INIT -> error 0" "guest: LOOKUP hello.txt -> error 0" \
      "guest: READ (DAX window) -> 52 bytes" "FUSE_SETUPMAPPING" "vmm: ok"; do
    grep -qF "$want" <<<"$out" || { echo "missing: $want"; exit 1; }
  done'
step "fmt" cargo fmt -p arcbox-fs-virtio -- --check
for t in thumbv7em-none-eabihf aarch64-unknown-none; do
  step "no_std build $t" cargo build -p arcbox-fs-virtio --no-default-features --target "$t" -j2
done
step "loom" env RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="${CARGO_TARGET_DIR}/loom" \
  cargo test -p arcbox-fs-loom-tests --release --test virtio_queue -j2
if [ -f fuzz/Cargo.toml ] && cargo +nightly --version >/dev/null 2>&1 && command -v cargo-fuzz >/dev/null 2>&1; then
  step "fuzz (60 s)" bash -c 'cd fuzz && cargo +nightly fuzz run virtio_queue -- -max_total_time=60'
else
  echo "skip: fuzz (needs nightly and cargo-fuzz; the proptest twin ran with the tests)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
