#!/usr/bin/env bash
# macOS host (arcbox-fs-macos): type-checked and linted for both Darwin
# targets (no Darwin linker is needed for clippy), and its Linux-side
# tests: the Linux<->Darwin translation tables and the fd-cache logic.
set -euo pipefail
cd "$(dirname "$0")/../.."

targets=(aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"

for t in "${targets[@]}"; do
  echo "--- clippy arcbox-fs-macos --target $t"
  cargo clippy -p arcbox-fs-macos --target "$t" --all-targets -- -D warnings
done

echo "--- tests arcbox-fs-macos (host: translation tables, clock cache)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo test -p arcbox-fs-macos 2>&1 | tee "$out"
echo "--- summary"
grep -E '^test result:' "$out"
