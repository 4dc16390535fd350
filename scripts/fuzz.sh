#!/usr/bin/env bash
# Bounded cargo-fuzz run of every target in fuzz/, one target at a time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
#
# Environment:
#   FUZZ_TOOLCHAIN  the nightly toolchain cargo-fuzz runs on (default
#                   nightly; installed with rustup when missing)
#   FUZZ_TARGETS    space-separated subset (default: `cargo fuzz list`)
#   FUZZ_SANITIZER  address (default) or none; falls back to none if the
#                   address-sanitized build fails
#
# Corpora grow under fuzz/corpus/<target> (git-ignored) and start from the
# committed seeds in fuzz/seeds/<target>. A crash is saved by libFuzzer
# under fuzz/artifacts/<target>/; each target's full log goes to
# fuzz/artifacts/logs/<target>.log. Exits non-zero if any target crashed
# (panic, failed property, sanitizer report, per-input timeout or OOM).
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi
cd "$(dirname "$0")/.."

# cargo-fuzz passes nightly-only -Z flags (sanitizer, sancov): it expects a
# nightly toolchain. Installed only when missing (an installed one is not
# updated on every run), without touching rustup itself.
toolchain=${FUZZ_TOOLCHAIN:-nightly}
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    echo "==> installing the $toolchain toolchain"
    rustup toolchain install "$toolchain" --profile minimal --no-self-update
fi
fuzz() { cargo "+$toolchain" fuzz "$@"; }

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

targets=${FUZZ_TARGETS:-$(fuzz list --fuzz-dir fuzz)}
sanitizer=${FUZZ_SANITIZER:-address}

echo "==> building fuzz targets ($toolchain, sanitizer: $sanitizer)"
if ! fuzz build --fuzz-dir fuzz -s "$sanitizer"; then
    if [[ $sanitizer == none ]]; then
        echo "fuzz build failed" >&2
        exit 1
    fi
    echo "==> $sanitizer-sanitized build failed; retrying with -s none" >&2
    sanitizer=none
    fuzz build --fuzz-dir fuzz -s none
fi

mkdir -p fuzz/artifacts/logs
summary=()
failed=0
for target in $targets; do
    corpus=fuzz/corpus/$target
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    corpora=("$corpus")
    [[ -d fuzz/seeds/$target ]] && corpora+=("fuzz/seeds/$target")
    log=fuzz/artifacts/logs/$target.log

    echo "==> fuzzing $target for ${seconds}s"
    started=$(date +%s)
    rc=0
    # One in-process fuzzer (cargo-fuzz's --jobs 1 adds no -fork; libFuzzer's
    # own -jobs=N would move the output to fuzz-N.log files). The outer
    # timeout only guards against a hang that -max_total_time cannot end.
    timeout -s INT -k 30 $((seconds + 120)) \
        cargo "+$toolchain" fuzz run --fuzz-dir fuzz -s "$sanitizer" --jobs 1 "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - started))

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
    execs=$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$last")

    if ((rc == 0)); then
        result="ok"
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        if [[ -n $artifact ]]; then
            result="CRASH: $artifact"
        elif ((rc == 124 || rc == 137)); then
            result="HUNG (killed after $((seconds + 120))s, exit $rc)"
        else
            result="FAILED (exit $rc, no artifact; see $log)"
        fi
        grep -m 3 -E "panicked at|ERROR: |assertion" "$log" | sed 's/^/    /' || true
    fi
    line=$(printf '%-14s %4ss  runs=%-10s exec/s=%-7s cov=%-5s ft=%-6s corp=%-12s %s' \
        "$target" "$elapsed" "${runs:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result")
    echo "$line"
    summary+=("$line")
done

echo
echo "==> summary (sanitizer: $sanitizer, ${seconds}s per target; logs in fuzz/artifacts/logs/)"
printf '%s\n' "${summary[@]}"
if ((failed)); then
    echo "==> at least one target crashed; reproduce with:" \
        "cargo +$toolchain fuzz run <target> <artifact>" >&2
    exit 1
fi
