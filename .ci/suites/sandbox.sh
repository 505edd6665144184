#!/bin/bash
# CI suite "sandbox": a deliberately broken build of the Linux host (LOOKUP
# opens the absolute host path with plain openat, following symlinks;
# feature insecure-lookup-for-sandbox-test, built in its own workspace
# tests/sandbox-escape so the feature reaches no other build) reads a file
# outside the share through a symlink when unsandboxed, and cannot once
# arcbox-fs-daemon's sandbox (namespace, chroot) is entered.
# Prints every check and "N passed, M failed"; skips (loudly) only when not
# root. Bounded: one release build of a small crate and a run of < 1 s.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
if [ "$(id -u)" != 0 ]; then
    echo "############################################################"
    echo "### SKIPPED: sandbox suite: needs root (namespaces, mounts)"
    echo "############################################################"
    exit 0
fi
export CARGO_TARGET_DIR=$repo/target/sandbox-escape
if ! timeout 900 cargo build --release -j 2 --manifest-path tests/sandbox-escape/Cargo.toml; then
    echo "FAIL build tests/sandbox-escape"
    echo "0 passed, 1 failed"
    exit 1
fi
timeout 120 "$CARGO_TARGET_DIR/release/arcbox-fs-sandbox-escape"
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
    echo "FAIL sandbox-escape exited with status $rc"
    echo "0 passed, 1 failed"
    exit 1
fi
exit "$rc"
