#!/usr/bin/env bash
# Where the default configuration's CPU goes, against the minimal endpoint:
# both servers loaded in turn with wrk (-t1 -c32, one hot key) while
# `perf record -e cpu-clock` samples them (software clock: this kind of VM
# has no hardware counters), then one table of the functions whose CPU-µs per
# request differ most (a function's share of the samples × the server's CPU
# time per request from /proc). Instruction counts (bench/instructions.sh)
# say how much work a request is; this says where the cycles went under load.
#
#   bench/profile.sh [--out FILE]     (default bench/results/profile.md)
#
# Environment: DURATION (seconds per server, default 8), TOP (rows, default 25).
# Needs perf (Debian's linux-perf) and wrk. No timing assertions.
set -euo pipefail

OUT=""
while (($#)); do
    case $1 in
        --out) OUT=${2:?--out needs a file}; shift ;;
        --out=*) OUT=${1#--out=} ;;
        -h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
DURATION=${DURATION:-8}
TOP=${TOP:-25}
[[ $DURATION =~ ^[1-9][0-9]*$ && $TOP =~ ^[1-9][0-9]*$ ]] || { echo "DURATION and TOP are whole numbers" >&2; exit 2; }

# shellcheck source=bench/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
readonly BASE_ENV=(
    "${BENCH_SERVICE_ENV[@]}"
)
HARNESS=profile
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
OUT=${OUT:-$REPO/bench/results/profile.md}
need perf curl openssl python3
ensure_wrk
harness_init
build_release
readonly MINIMAL_BIN="$TARGET_DIR/release/examples/bench-minimal"
bounded env -C "$REPO" timeout 3600 cargo build --release --locked --example bench-minimal >&2 ||
    die "release build of bench-minimal failed"
COOKIE="session=$(signed_cookie_value "$SESSION_SECRET" alice)"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# profile NAME PID URL: warm-up, then DURATION s of load under perf; writes
# $TMP/NAME.txt (perf's flat profile) and sets RPS[NAME] and CPU_US[NAME].
declare -A RPS CPU_US
profile() {
    local name=$1 pid=$2 url=$3 t0 t1 out="$TMP/wrk-$1.txt"
    local envs=(METHOD=POST "COOKIE=$COOKIE" "ORIGIN=$ORIGIN" EXACT_STATUS=0)
    [[ $(status POST "$url" "$COOKIE") == 200 ]] || die "$url did not answer 200"
    bounded env "${envs[@]}" timeout 30 wrk -t1 -c32 -d2s -s "$REPO/bench/post.lua" "$url" >/dev/null
    t0=$(ticks "$pid")
    perf record -q -e cpu-clock -F 4000 -p "$pid" -o "$TMP/$name.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    local perf_pid=$!
    bounded env "${envs[@]}" timeout $((DURATION + 30)) \
        wrk -t1 -c32 "-d${DURATION}s" -s "$REPO/bench/post.lua" "$url" >"$out"
    wait "$perf_pid" || die "perf record failed for $name"
    t1=$(ticks "$pid")
    local total
    total=$(awk '/ requests in / { print $1; exit }' "$out")
    RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2; exit }' "$out")
    CPU_US[$name]=$(awk -v t=$((t1 - t0)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    perf report -i "$TMP/$name.data" --no-children --sort dso,sym --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' >"$TMP/$name.txt"
}

start_service service
profile default "$SVC_PID" "http://127.0.0.1:$SVC_PORT/api/realtime-token"
stop_pid "$SVC_PID"
MINIMAL_PORT=$(free_port)
(cd "$TMP" && exec env -i PATH="$PATH" "JWT_SECRET=$JWT_SECRET" "SESSION_SECRET=$SESSION_SECRET" \
    "PORT=$MINIMAL_PORT" "$MINIMAL_BIN") >"$TMP/minimal.log" 2>&1 &
MINIMAL_PID=$!
PIDS+=("$MINIMAL_PID")
POLL_PAUSE=0.05 wait_ready 15 "$MINIMAL_PID" "$TMP/minimal.log" minimal answers 200 "http://127.0.0.1:$MINIMAL_PORT/healthz" ||
    die "the minimal endpoint did not start"
profile minimal "$MINIMAL_PID" "http://127.0.0.1:$MINIMAL_PORT/api/realtime-token"

{
    echo "# Profile: default configuration against the minimal endpoint"
    echo
    echo "- date: $DATE_START; commit: $(git_rev); nproc: $(nproc)"
    echo "- command: \`DURATION=$DURATION TOP=$TOP bench/profile.sh\`"
    echo "- load average at start: $LOADAVG_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- wrk -t1 -c32, one hot key, ${DURATION} s per server after 2 s of warm-up; perf record -e cpu-clock -F 4000"
    echo "- default: ${RPS[default]} requests/s, ${CPU_US[default]} CPU-µs per request; minimal: ${RPS[minimal]} requests/s, ${CPU_US[minimal]} CPU-µs per request"
    echo
    python3 - "$TMP/default.txt" "${CPU_US[default]}" "$TMP/minimal.txt" "${CPU_US[minimal]}" "$TOP" <<'EOF'
import re, sys
def load(path, cpu):
    out, dsos = {}, {}
    for line in open(path):
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        us = float(m.group(1)) * float(cpu) / 100
        dso = "kernel" if m.group(2).startswith("[kernel") else ("the server" if m.group(2) in ("realtime-token", "bench-minimal") else m.group(2))
        sym = m.group(4).strip()
        sym = sym if len(sym) <= 100 else sym[:97] + "..."
        out[sym] = out.get(sym, 0) + us
        dsos[dso] = dsos.get(dso, 0) + us
    return out, dsos
d, dd = load(sys.argv[1], sys.argv[2])
m, md = load(sys.argv[3], sys.argv[4])
print("CPU-µs per request by where it ran:\n")
print("| where | default | minimal | difference |")
print("| --- | ---: | ---: | ---: |")
for k in sorted(set(dd) | set(md), key=lambda k: -(dd.get(k, 0) - md.get(k, 0))):
    print(f"| {k} | {dd.get(k, 0):.2f} | {md.get(k, 0):.2f} | {dd.get(k, 0) - md.get(k, 0):+.2f} |")
print("\nThe functions whose CPU-µs per request differ most (default minus minimal):\n")
print("| function | default | minimal | difference |")
print("| --- | ---: | ---: | ---: |")
keys = sorted(set(d) | set(m), key=lambda k: -abs(d.get(k, 0) - m.get(k, 0)))
for k in keys[: int(sys.argv[5])]:
    name = k.replace("|", "\\|")
    print(f"| `{name}` | {d.get(k, 0):.2f} | {m.get(k, 0):.2f} | {d.get(k, 0) - m.get(k, 0):+.2f} |")
EOF
} >"$OUT"
log "written to $OUT"
