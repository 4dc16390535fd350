#!/usr/bin/env bash
# Microbenchmark of signing and verifying one token per algorithm (HS256,
# ES256, EdDSA), in one process on one thread: examples/sign_bench.rs in a
# release build. Prints a Markdown report with the command, date, commit,
# nproc and load average. No assertions; numbers compare within one run.
#
#   bench/sign.sh
#
# env: SIGN_BENCH_SECS (seconds per measurement, default 1), SIGN_BENCH_ROUNDS
# (default 5; the median is reported).
set -euo pipefail
cd "$(dirname "$0")/.."
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
timeout 3600 cargo build --release --locked --example sign_bench >&2
target=${CARGO_TARGET_DIR:-target}
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git status --porcelain -- src examples Cargo.toml Cargo.lock 2>/dev/null) ]] ||
    rev+=" + uncommitted changes"
echo "# realtime-token signing microbenchmark"
echo
echo "- command: \`SIGN_BENCH_SECS=${SIGN_BENCH_SECS:-1} SIGN_BENCH_ROUNDS=${SIGN_BENCH_ROUNDS:-5} bench/sign.sh\`"
echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ'); commit: $rev"
echo "- nproc: $(nproc); load average at start: $load_start"
echo
timeout 600 "$target/release/examples/sign_bench"
echo
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
