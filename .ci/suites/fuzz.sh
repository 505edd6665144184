#!/bin/bash
# CI suite "fuzz": every cargo-fuzz target of fuzz/ (its own workspace) for
# 60 s each, from a scratch corpus seeded with fuzz/seeds/<target>/.
# libFuzzer exits non-zero on a crash (panic, AddressSanitizer report), a
# leak (LeakSanitizer), a unit slower than 10 s (-timeout) or more than
# 2 GiB of RSS; any of these fails the target, and the reproducer is kept in
# fuzz/artifacts/<target>/. Built in cargo-fuzz's default mode: release with
# debug assertions and overflow checks, AddressSanitizer.
# Installs g++ (apt, for libFuzzer), the nightly toolchain (rustup) and
# cargo-fuzz (crates.io) when missing. Prints every check and a final "N passed, M failed" line.
# Time: one build (~3 min on 2 cores) plus 60 s per target.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
export PATH="$HOME/.cargo/bin:$PATH"
secs=${FUZZ_SECONDS:-60}

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
    [ "$failed" = 0 ] || echo "fuzz failures: ${failures[*]}"
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

# libfuzzer-sys builds libFuzzer from C++ sources.
if ! command -v c++ >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q g++ >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q g++ >/dev/null 2>&1; }
    command -v c++ >/dev/null
    check "install g++" $?
    [ "$failed" = 0 ] || finish
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    timeout 900 rustup toolchain install nightly --profile minimal
    check "install nightly" $?
    [ "$failed" = 0 ] || finish
fi
if ! command -v cargo-fuzz >/dev/null; then
    timeout 1200 cargo install cargo-fuzz --locked -q
    check "cargo install cargo-fuzz" $?
    [ "$failed" = 0 ] || finish
fi

log=$(mktemp -d)
timeout 1200 cargo +nightly fuzz build >"$log/build" 2>&1
st=$?
[ "$st" = 0 ] || tail -n 40 "$log/build"
check "fuzz build" "$st"
[ "$failed" = 0 ] || finish

targets=$(cargo +nightly fuzz list 2>/dev/null)
[ "$(echo "$targets" | wc -w)" -ge 3 ]
check "fuzz targets listed (at least 3)" $? "$(echo $targets)"
for t in $targets; do
    corpus=fuzz/corpus/ci-$t
    rm -rf "$corpus"
    mkdir -p "$corpus"
    if [ -d "fuzz/seeds/$t" ]; then
        cp fuzz/seeds/"$t"/* "$corpus"/
    fi
    timeout $((secs + 240)) cargo +nightly fuzz run "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log/$t" 2>&1
    st=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/$t")
    if [ "$st" != 0 ]; then
        grep -E "panicked|ERROR: |SUMMARY|Test unit written" "$log/$t" | head -n 20
        tail -n 30 "$log/$t"
    fi
    check "fuzz $t (${secs}s)" "$st" "${runs:-?} runs"
    rm -rf "$corpus"
done
rm -rf "$log"
finish
