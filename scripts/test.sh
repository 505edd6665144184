#!/usr/bin/env bash
# The test command: sets the machine up, then runs every check CI runs.
# Usage: scripts/test.sh            (everything)
#        SUITES="virtio" scripts/test.sh   (only the named .ci/suites)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests || exit 1

passed=0
failed=0
failures=()
logs=target/ci-logs
rm -rf "$logs"
mkdir -p "$logs"
# Runs one step, its output also kept in $logs (the end of the run repeats
# the failures' panic messages, so that the tail of the output says why).
step() {
  local name=$1
  shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  # (tee in a process substitution: a daemon a suite leaves behind with
  # its output open cannot hold the step up.)
  if "$@" > >(tee "$logs/${name// /_}.log") 2>&1; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

step "fmt" cargo fmt --all -- --check
step "clippy" cargo clippy --workspace --all-targets -- -D warnings
step "tests" cargo test --workspace --no-fail-fast
for t in thumbv7em-none-eabihf aarch64-unknown-none riscv64gc-unknown-none-elf x86_64-unknown-none; do
  step "no_std core $t" cargo build -q -p arcbox-fs --no-default-features --target "$t"
done
for t in thumbv7em-none-eabihf aarch64-unknown-none; do
  step "no_std virtio $t" cargo build -q -p arcbox-fs-virtio --no-default-features --target "$t"
done
step "loom" env RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
  cargo test -q -p arcbox-fs-loom-tests --release

for suite in .ci/suites/*.sh; do
  [ -e "$suite" ] || continue
  name=$(basename "$suite" .sh)
  if [ -n "${SUITES:-}" ] && ! grep -qw "$name" <<<"$SUITES"; then
    continue
  fi
  step "suite $name" bash "$suite"
done

echo
if [ "$failed" -gt 0 ]; then
  for name in "${failures[@]}"; do
    echo "--- why $name failed (from $logs/${name// /_}.log):"
    grep -E -A6 "panicked at|^---- |^test .* FAILED|^not ok|^FAIL|error(\[|:)" \
      "$logs/${name// /_}.log" | head -80
  done
  echo "failed steps: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
