#!/usr/bin/env bash
# Same-run throughput: the token endpoint in its default configuration
# (access log, metrics, rate limits on) against the minimal actix endpoint
# (bench/minimal), with one hot key and with many keys (see bench/README.md,
# "Throughput against the minimal endpoint").
#
#   bench/throughput.sh [--out FILE]
#
# env: DURATION (seconds per measurement, default 8), ROUNDS (default 3),
# WARMUP (seconds of discarded load per server and load, default 1).
#
# Both servers run side by side (release builds, default WORKERS, one per
# core) from the start; each round loads each (server, load) pair once with
# wrk -t1 -c32 in another process, in an order that alternates between
# rounds. Loads: "hot key" sends one signed cookie from one address
# (bench/post.lua); "many keys" rotates 10,000 session cookies and 1,000
# client addresses in X-Forwarded-For, which the service trusts from
# 127.0.0.1 (bench/many-keys.lua). Around each measurement the CPU time
# (utime + stime in /proc/PID/stat, all threads) of the loaded server is
# read, so each round also gives CPU-µs per request. Writes a Markdown
# report to FILE (default bench/results/throughput.md, which the book's
# performance page includes) and prints it: median requests/s with min–max
# per row, the median of the per-round ratios default / minimal with
# min–max, and the same for CPU-µs per request. Wall-clock figures are only
# worth comparing on a quiet machine: the load average is printed at start
# and end (CPU per request moves less with load, but still some).
set -euo pipefail

usage() { sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

OUT=""
while (($#)); do
    case $1 in
        --out) OUT=${2:?--out needs a file}; shift ;;
        --out=*) OUT=${1#--out=} ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1}
valid_int() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }
valid_int "$DURATION" 1 600 || { echo "DURATION must be whole seconds, 1..600" >&2; exit 2; }
valid_int "$ROUNDS" 1 50 || { echo "ROUNDS must be 1..50" >&2; exit 2; }
valid_int "$WARMUP" 0 60 || { echo "WARMUP must be whole seconds, 0..60" >&2; exit 2; }

# shellcheck source=bench/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
readonly KEYS=10000 ADDRS=1000
# The default configuration: access log (info, to a file), metrics, rate
# limits on but out of reach (as in bench/run.sh), 127.0.0.1 a trusted proxy.
readonly BASE_ENV=(
    "${BENCH_SERVICE_ENV[@]}"
    "TRUSTED_PROXIES=127.0.0.1"
)

HARNESS=throughput
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
readonly MINIMAL_BIN="$TARGET_DIR/release/examples/bench-minimal"
OUT=${OUT:-$REPO/bench/results/throughput.md}
harness_init

need curl openssl awk getconf
ensure_wrk
CLK_TCK=$(getconf CLK_TCK)
build_release
log "building: cargo build --release --locked --example bench-minimal"
bounded env -C "$REPO" timeout 3600 cargo build --release --locked --example bench-minimal >&2 ||
    die "release build of bench-minimal failed"

COOKIE_FILE="$TMP/cookies.txt"
env -i "SESSION_SECRET=$SESSION_SECRET" "$MINIMAL_BIN" cookies "$KEYS" >"$COOKIE_FILE"
HOT_COOKIE="session=$(signed_cookie_value "$SESSION_SECRET" alice)"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')

start_service service
SERVICE_URL="http://127.0.0.1:$SVC_PORT/api/realtime-token"
SERVICE_PID=$SVC_PID
MINIMAL_PORT=$(free_port)
(cd "$TMP" && exec env -i PATH="$PATH" "JWT_SECRET=$JWT_SECRET" "SESSION_SECRET=$SESSION_SECRET" \
    "PORT=$MINIMAL_PORT" "$MINIMAL_BIN") >"$TMP/minimal.log" 2>&1 &
MINIMAL_PID=$!
PIDS+=("$MINIMAL_PID")
MINIMAL_URL="http://127.0.0.1:$MINIMAL_PORT/api/realtime-token"
POLL_PAUSE=0.05 wait_ready 15 "$!" "$TMP/minimal.log" minimal answers 200 "http://127.0.0.1:$MINIMAL_PORT/healthz" ||
    die "the minimal endpoint did not start"
for url in "$SERVICE_URL" "$MINIMAL_URL"; do
    [[ $(status POST "$url" "$HOT_COOKIE") == 200 ]] || die "$url did not answer 200"
done

# cpu_ticks PID -> "utime stime" of the whole process (all threads), in
# clock ticks. The fields are counted after the command name's `)`.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat") || die "no /proc/$1/stat: the server exited"
    stat=${stat##*) }
    # shellcheck disable=SC2086 # split into fields 3..
    set -- $stat
    echo "${12} ${13}"
}

# load SERVER LOAD SECONDS -> "requests/s CPU-µs-per-request user system"
# (CPU time per request, then its user and system parts; nothing on
# failure). Fails when a response was not 200 or a socket error happened.
declare -A RPS CPU USR SYS
load() {
    local server=$1 kind=$2 secs=$3 url out pid
    url=$SERVICE_URL pid=$SERVICE_PID
    [[ $server == minimal ]] && url=$MINIMAL_URL pid=$MINIMAL_PID
    out="$TMP/wrk-$server-$kind.txt"
    local envs=("ORIGIN=$ORIGIN") script
    if [[ $kind == hot ]]; then
        script="$REPO/bench/post.lua"
        envs+=("METHOD=POST" "COOKIE=$HOT_COOKIE")
    else
        script="$REPO/bench/many-keys.lua"
        envs+=("COOKIE_FILE=$COOKIE_FILE" "ADDRS=$ADDRS")
    fi
    local ticks_before ticks_after
    ticks_before=$(cpu_ticks "$pid") || exit 1
    bounded env "${envs[@]}" timeout $((secs + 30)) wrk -t1 -c32 "-d${secs}s" -s "$script" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed ($server, $kind)"; }
    ticks_after=$(cpu_ticks "$pid") || exit 1
    local bad sockerr
    bad=$(awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$out")
    sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10; exit }' "$out")
    ((bad == 0 && ${sockerr:-0} == 0)) || { cat "$out" >&2; die "$server/$kind: $bad non-2xx answers, ${sockerr:-0} socket errors"; }
    awk -v before="$ticks_before" -v after="$ticks_after" -v hz="$CLK_TCK" '
        / requests in / { n = $1 }
        /^Requests\/sec:/ { rps = $2 }
        END {
            split(before, b, " "); split(after, a, " ")
            us = 1e6 / hz / n
            if (n > 0) printf "%.0f %.2f %.2f %.2f", rps, (a[1] - b[1] + a[2] - b[2]) * us, (a[1] - b[1]) * us, (a[2] - b[2]) * us
        }' "$out"
}

PAIRS=("service hot" "minimal hot" "service many" "minimal many")
if ((WARMUP > 0)); then
    for pair in "${PAIRS[@]}"; do
        # shellcheck disable=SC2086 # two words
        load $pair "$WARMUP" >/dev/null
    done
fi
for ((round = 1; round <= ROUNDS; round++)); do
    order=("${PAIRS[@]}")
    # Every other round runs the pairs backwards, so neither server always
    # follows the other.
    if ((round % 2 == 0)); then order=("${PAIRS[3]}" "${PAIRS[2]}" "${PAIRS[1]}" "${PAIRS[0]}"); fi
    for pair in "${order[@]}"; do
        log "round $round: $pair ($DURATION s)"
        # shellcheck disable=SC2086
        result=$(load $pair "$DURATION")
        read -r rps cpu usr sys <<<"$result"
        RPS["$pair $round"]=$rps CPU["$pair $round"]=$cpu USR["$pair $round"]=$usr SYS["$pair $round"]=$sys
        log "round $round: $pair: $rps requests/s, $cpu CPU-µs per request ($usr user, $sys system)"
    done
done

# dropped_records -> the service's realtime_token_log_records_dropped_total
dropped_records() {
    curl -s --max-time 5 "http://127.0.0.1:$SVC_PORT/metrics" |
        awk '$1 == "realtime_token_log_records_dropped_total" { print $2; found = 1 } END { if (!found) print "?" }'
}

# median_range FORMAT VALUES... -> "median (min–max)", each printed with FORMAT
median_range() {
    local format=$1
    shift
    printf '%s\n' "$@" | sort -g | awk -v f="$format" '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf f, m
        if (NR > 1) { printf " (" f "–" f ")", v[1], v[NR] } }'
}

# row KIND TABLE -> one table row: the median (min–max) of each server's
# values and of the per-round ratios default / minimal. TABLE is RPS or CPU.
row() {
    local kind=$1 table=$2 label r m=() s=() ratios=() a b
    local -n values=$table
    label="one hot key (one cookie, one address)"
    [[ $kind == many ]] && label="many keys ($KEYS cookies, $ADDRS addresses via X-Forwarded-For)"
    local format=%.0f
    [[ $table == CPU ]] && format=%.1f
    for ((r = 1; r <= ROUNDS; r++)); do
        a=${values["service $kind $r"]} b=${values["minimal $kind $r"]}
        m+=("$b") s+=("$a")
        ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')")
    done
    printf '| %s | %s | %s | %s |\n' "$label" "$(median_range "$format" "${m[@]}")" \
        "$(median_range "$format" "${s[@]}")" "$(median_range %.2f "${ratios[@]}")"
}

# split_row KIND -> user and system CPU-µs per request of both servers.
split_row() {
    local kind=$1 label server table r cells=() v
    label="one hot key"
    [[ $kind == many ]] && label="many keys"
    for server in minimal service; do
        for table in USR SYS; do
            local -n values=$table
            v=()
            for ((r = 1; r <= ROUNDS; r++)); do v+=("${values["$server $kind $r"]}"); done
            cells+=("$(median_range %.1f "${v[@]}")")
        done
    done
    printf '| %s | %s | %s | %s | %s |\n' "$label" "${cells[@]}"
}

report() {
    echo "# Throughput: default configuration against the minimal endpoint"
    echo
    echo "- date: $DATE_START; commit: $(git_rev); nproc: $(nproc)"
    echo "- command: \`DURATION=$DURATION ROUNDS=$ROUNDS WARMUP=$WARMUP bench/throughput.sh\`"
    echo "- load average at start: $LOADAVG_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- wrk -t1 -c32, ${DURATION} s per measurement, $ROUNDS interleaved rounds; medians with min–max"
    echo
    echo "| load | minimal endpoint, requests/s | default configuration, requests/s | default / minimal (per round) |"
    echo "| --- | ---: | ---: | ---: |"
    row hot RPS
    row many RPS
    echo
    echo "CPU time of the loaded server (utime + stime, all its threads; wrk's own is not counted) per request:"
    echo
    echo "| load | minimal endpoint, CPU-µs per request | default configuration, CPU-µs per request | default / minimal (per round) |"
    echo "| --- | ---: | ---: | ---: |"
    row hot CPU
    row many CPU
    echo
    echo "The same split into user and system (kernel) time, CPU-µs per request, median (min–max):"
    echo
    echo "| load | minimal endpoint, user | minimal endpoint, system | default configuration, user | default configuration, system |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    split_row hot
    split_row many
    echo
    echo "- access log lines written by the service: $(wc -l <"$TMP/service.log"); distinct subjects and" \
        "addresses in them: $(awk '/ access\] / { for (i = 1; i <= NF; i++) if ($i ~ /^sub=/) s[$i]; else if ($i ~ /^ip=/) a[$i] }
            END { printf "%d and %d", length(s), length(a) }' "$TMP/service.log")"
    echo "- log records the service dropped (\`realtime_token_log_records_dropped_total\`): $(dropped_records)"
    echo "- service peak RSS (VmHWM): $(mib VmHWM "$SERVICE_PID") MiB"
}

mkdir -p "$(dirname "$OUT")"
report >"$OUT"
cat "$OUT"
log "written to $OUT"
