#!/bin/bash
# CI suite "miri": the virtio crate's queue and chain tests under Miri
# (undefined behaviour: out-of-bounds or misaligned access, references to
# guest memory used after the rules allow, data races in the worker pool).
# Runs `cargo +nightly miri test -p arcbox-fs-iobuf --lib` (the IoBuf /
# IoBufMut views and their volatile copies), then
# `cargo +nightly miri test -p arcbox-fs-virtio` over:
#   --lib                  guest memory views (volatile.rs),
#                          region translation (mem.rs), chain reader/writer (chain.rs);
#   --test malicious       hostile rings and chains through queue, chain and device;
#   --test pool            the worker pool serving a queue from threads;
#   --test proptest_chains arbitrary tables and rings, PROPTEST_CASES=4.
# Not under Miri: virtio_drivers_interop (mprotect and signal handlers).
# -Zmiri-ignore-leaks: the tests leak their 'static device on purpose
# (LeakSanitizer in the fuzz suite checks the server's leaks);
# -Zmiri-disable-isolation: proptest reads the clock and its config.
# Installs the nightly toolchain and its miri and rust-src components when
# missing. Prints every check and a final "N passed, M failed" line.
# Time: about 6 minutes on 2 idle cores (Miri is ~100x slower than native).
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"

passed=0
failed=0
failures=()
check() { # check NAME STATUS [DETAIL]
    if [ "$2" = 0 ]; then
        passed=$((passed + 1))
        echo "PASS $1${3:+: $3}"
    else
        failed=$((failed + 1))
        failures+=("$1")
        echo "FAIL $1${3:+: $3}"
    fi
}
finish() {
    [ "$failed" = 0 ] || echo "miri failures: ${failures[*]}"
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

if ! cargo +nightly --version >/dev/null 2>&1; then
    timeout 900 rustup toolchain install nightly --profile minimal
    check "install nightly" $?
    [ "$failed" = 0 ] || finish
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    timeout 900 rustup component add miri rust-src --toolchain nightly
    check "install miri" $?
    [ "$failed" = 0 ] || finish
fi
timeout 900 cargo +nightly miri setup >/dev/null 2>&1
check "miri setup" $?
[ "$failed" = 0 ] || finish

export PROPTEST_CASES=4
export MIRIFLAGS="-Zmiri-ignore-leaks -Zmiri-disable-isolation"
# The guest-memory views themselves, then the virtio crate's queues, chains
# and pool over them.
for t in "-p arcbox-fs-iobuf --lib" "-p arcbox-fs-virtio --lib" \
    "-p arcbox-fs-virtio --test malicious" "-p arcbox-fs-virtio --test pool" \
    "-p arcbox-fs-virtio --test proptest_chains"; do
    log=$(mktemp)
    # shellcheck disable=SC2086 # $t is several words on purpose
    timeout 1200 cargo +nightly miri test $t >"$log" 2>&1
    st=$?
    [ "$st" = 0 ] || tail -n 60 "$log"
    check "miri $t" "$st" "$(grep -E '^test result' "$log" | tail -n 1)"
    rm -f "$log"
done
finish
