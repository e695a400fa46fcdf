#!/usr/bin/env bash
# A short run of every cargo-fuzz target in fuzz/ (check.sh runs it; see the README's "Fuzzing"):
#   tests/fuzz-smoke.sh [SECONDS_PER_TARGET]     (default 20; FUZZ_TARGET_DIR: the build directory)
# Needs the nightly toolchain (fails saying how to install it when missing) and cargo-fuzz
# (installed with `cargo install --locked cargo-fuzz` when missing). Each target starts from its
# seed corpus fuzz/corpus/TARGET; what it finds goes to a temporary directory, so the repository
# does not grow. A crash or a broken invariant fails the run and leaves the input in
# fuzz/artifacts/TARGET/.
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${1:-20}"
target_dir="${FUZZ_TARGET_DIR:-fuzz/target}"
targets="scope basic_header params htpasswd policy config"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "error: the fuzz smoke needs the nightly toolchain (cargo-fuzz builds with -Z flags):" >&2
    echo "  rustup toolchain install nightly --profile minimal" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: installing it"
    cargo install --locked cargo-fuzz
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# -s none: regent forbids unsafe code, and without AddressSanitizer a run is about twice as fast.
cargo +nightly fuzz build -s none --target-dir "$target_dir"
for target in $targets; do
    mkdir -p "$work/$target"
    echo "fuzz $target for ${seconds}s"
    cargo +nightly fuzz run -s none --target-dir "$target_dir" "$target" "$work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 2>"$work/$target.log" || {
        tail -n 60 "$work/$target.log" >&2
        echo "error: fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    }
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$work/$target.log" | tr '\n' ' '
    echo
done
