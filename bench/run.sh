#!/usr/bin/env bash
# Reproducible load benchmark and soak for realtime-token (see bench/README.md).
#
#   bench/run.sh [--no-peers] [--no-formats] [--no-rooms] [--exact-status] [--soak MINUTES] [--out FILE]
#
# env: DURATION (seconds per row, default 8), WARMUP (seconds of discarded
# load before each row, default 1, 0 = none), PEER_DIR (node peer folder).
#
# Builds the release binary, starts it on 127.0.0.1 with a fixed
# configuration, loads it with wrk (-t1 -c32) and prints a Markdown report on
# stdout (progress goes to stderr). --soak loads the token endpoint instead
# for MINUTES x 60 s, counts every status, reports RSS after each minute and
# exits 1 on any unexpected status or socket error. Session-format rows
# (bench/formats.sh; --no-formats skips them) load one service per format
# with a cookie its real library wrote. Room source rows (bench/rooms.sh;
# --no-rooms skips them) add ROOMS_QUERY, asked on every request and with a
# 5 s cache, alone and beside the postgres backend. Everything is bounded in
# time; every process it starts is stopped on exit. No timing assertions.
# --out FILE also writes the report to FILE (e.g. bench/results/run.md).
set -euo pipefail

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

PEERS=1
FORMATS=1
ROOMS=1
EXACT=0
SOAK=0
OUT=""
ORIG_ARGS=("$@")
while (($#)); do
    case $1 in
        --no-peers) PEERS=0 ;;
        --no-formats) FORMATS=0 ;;
        --no-rooms) ROOMS=0 ;;
        --exact-status) EXACT=1 ;;
        --soak)
            [[ $# -ge 2 ]] || { echo "--soak needs MINUTES" >&2; exit 2; }
            SOAK=$2
            shift
            ;;
        --soak=*) SOAK=${1#--soak=} ;;
        --out) OUT=${2:?--out needs a file}; shift ;;
        --out=*) OUT=${1#--out=} ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

DURATION=${DURATION:-8}
WARMUP=${WARMUP:-1}
valid_int() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }
if ! valid_int "$DURATION" 1 600; then echo "DURATION must be whole seconds, 1..600" >&2; exit 2; fi
if ! valid_int "$WARMUP" 0 60; then echo "WARMUP must be whole seconds, 0..60" >&2; exit 2; fi
if ! valid_int "$SOAK" 0 240; then echo "--soak MINUTES must be a whole number, 1..240" >&2; exit 2; fi

# ---------------------------------------------------------------- constants
# shellcheck source=bench/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
readonly REDIS_URL=redis://127.0.0.1:6379
readonly REDIS_SID=bench-sid-1
readonly REDIS_KEY="sess:$REDIS_SID"
readonly REDIS_DOC='{"cookie":{"originalMaxAge":86400000,"httpOnly":true,"path":"/"},"userId":"alice"}'
readonly WRK_THREADS=1 WRK_CONNECTIONS=32
# The fixed service configuration (the process gets nothing else but PATH):
# bench/env.sh's, rate limits out of reach. Builds without a limiter ignore them.
readonly BASE_ENV=(
    "${BENCH_SERVICE_ENV[@]}"
)
readonly REDIS_ENV=(
    "SESSION_BACKEND=redis"
    "REDIS_URL=$REDIS_URL"
    "SESSION_COOKIE=connect.sid"
)

HARNESS=bench
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
readonly LUA="$REPO/bench/post.lua"
# shellcheck source=bench/formats.sh
source "$(dirname "${BASH_SOURCE[0]}")/formats.sh"
# shellcheck source=bench/rooms.sh
source "$(dirname "${BASH_SOURCE[0]}")/rooms.sh"
# shellcheck source=bench/scale.sh
source "$(dirname "${BASH_SOURCE[0]}")/scale.sh"
# shellcheck source=bench/signing.sh
source "$(dirname "${BASH_SOURCE[0]}")/signing.sh"
harness_init
if [[ -n $OUT ]]; then
    # The report is all that goes to stdout: into OUT, shown at exit.
    mkdir -p "$(dirname "$OUT")"
    exec 3>&1 >"$OUT"
fi
REDIS_SEEDED=0
on_exit() {
    if [[ -n $OUT ]]; then
        cat "$OUT" >&3
        log "report written to $OUT"
    fi
    ((FORMATS)) && formats_cleanup
    ((ROOMS)) && rooms_cleanup
    if ((REDIS_SEEDED)); then
        timeout 5 redis-cli -h 127.0.0.1 -p 6379 del "$REDIS_KEY" >/dev/null 2>&1 || true
    fi
}

# ---------------------------------------------------------------- helpers
mib_tree() { # FIELD PID -> sum over PID and its direct children, in MiB
    local total=0 p v
    for p in "$2" $(pgrep -P "$2" 2>/dev/null || true); do
        v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    awk -v k="$total" 'BEGIN { printf "%.1f", k / 1024 }'
}

metrics_rss_mib() { # PORT -> process_resident_memory_bytes in MiB
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk '$1 == "process_resident_memory_bytes" { printf "%.1f", $2 / 1048576; found = 1 } END { if (!found) print "?" }'
}

listening() { ! answers 000 "$1" --max-time 1; } # URL answers HTTP at all

# Starts a node peer script with its env; waits until it answers HTTP at all.
start_peer() { # NAME DIR PORT SCRIPT ENV...
    local name=$1 dir=$2 port=$3 script=$4
    shift 4
    (cd "$dir" && exec env -i PATH="$PATH" "JWT_SECRET=$JWT_SECRET" \
        "SESSION_SECRET=$SESSION_SECRET" "PORT=$port" "$@" node "$script") \
        >"$TMP/$name.log" 2>&1 &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    POLL_PAUSE=0.05 wait_ready 20 "$PEER_PID" "$TMP/$name.log" "$name" listening "http://127.0.0.1:$port/" ||
        return 1
    sleep 1 # let every cluster worker come up
    log "$name: pid $PEER_PID, port $port"
}

# Row results, keyed by row id.
declare -A R_LABEL R_RPS R_P50 R_P99 R_BAD R_TOTAL R_NOTE R_SOCKERR R_CPU_SVC R_CPU_PG
readonly CLK_TCK=$(getconf CLK_TCK)
ROWS=()
WRK_CMDS=()

# http_count BASE ROUTE STATUS -> how many requests the service has answered
# on ROUTE with STATUS so far, from its own /metrics (0 when absent).
http_count() {
    curl -s --max-time 5 "$1/metrics" |
        awk -v want="realtime_token_http_request_seconds_count{route=\"$2\",status=\"$3\"}" \
            '$1 == want { n = $2 } END { printf "%d", n + 0 }'
}

# cpu_ticks PID -> "SERVICE POSTGRES": the CPU ticks (user + system) that
# process PID and all PostgreSQL server processes have used so far.
cpu_ticks() {
    local svc=0 pg=0 pid t
    [[ -r /proc/$1/stat ]] && svc=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
    for pid in $(pgrep -x postgres); do
        t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) && pg=$((pg + t))
    done
    echo "$svc $pg"
}

us_per_request() { # TICKS REQUESTS -> CPU-µs per request
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "?" }'
}

# run_wrk ID LABEL EXPECT METHOD URL [COOKIE]
#   EXPECT: the status every response should have (200 or 401).
# wrk's own counter only knows "status >= 400", which cannot tell the expected
# 401 from a 403 or 429. For our service (env METRICS_BASE and ROUTE set) the
# exact count comes from its own /metrics before and after the row, which costs
# wrk nothing; otherwise (the soak, --exact-status, peer rows expecting an
# error status) every response is counted in Lua by status, which costs wrk
# CPU: ~10% fewer requests/s on 2 cores.
run_wrk() {
    local id=$1 label=$2 expect=$3 method=$4 url=$5 cookie=${6:-}
    local out="$TMP/wrk-$id.txt" origin="" exact=$EXACT
    local metrics_base=${METRICS_BASE:-} route=${ROUTE:-} before=0
    [[ -n $metrics_base ]] && exact=0
    ((expect >= 300)) && [[ -z $metrics_base ]] && exact=1
    [[ $method == POST ]] && origin=$ORIGIN
    local cmd=(wrk "-t$WRK_THREADS" "-c$WRK_CONNECTIONS" "-d${DURATION}s" --latency -s "$LUA" "$url")
    local envs=("METHOD=$method" "COOKIE=$cookie" "ORIGIN=$origin" "EXACT_STATUS=$exact")
    if ((WARMUP > 0)); then
        bounded env "${envs[@]}" timeout $((WARMUP + 20)) \
            wrk "-t$WRK_THREADS" "-c$WRK_CONNECTIONS" "-d${WARMUP}s" -s "$LUA" "$url" >/dev/null 2>&1 ||
            die "wrk warm-up for '$label' failed"
    fi
    [[ -n $metrics_base ]] && before=$(http_count "$metrics_base" "$route" "$expect")
    local cpu0 cpu1
    read -ra cpu0 <<<"$(cpu_ticks "${SVC_PID:-0}")"
    log "load: $label ($DURATION s)"
    bounded env "${envs[@]}" timeout $((DURATION + 30)) "${cmd[@]}" >"$out" 2>&1 || {
        cat "$out" >&2
        die "wrk failed for '$label'"
    }
    read -ra cpu1 <<<"$(cpu_ticks "${SVC_PID:-0}")"
    WRK_CMDS+=("$(printf '%q ' "${envs[@]}" "${cmd[@]}")")
    local total sockerr bad note="" counted
    total=$(awk '/ requests in / { print $1; exit }' "$out")
    sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10; exit }' "$out")
    sockerr=${sockerr:-0} total=${total:-0}
    if [[ -n $metrics_base ]]; then
        # Requests wrk sent that the service did not answer with EXPECT.
        local answered
        answered=$(($(http_count "$metrics_base" "$route" "$expect") - before))
        bad=$((total > answered ? total - answered : 0))
    elif ((exact)); then # post.lua's "status CODE COUNT" lines
        bad=$(awk -v e="$expect" '$1 == "status" && $2 != e { n += $3 } END { print n + 0 }' "$out")
        note=$(awk -v e="$expect" '$1 == "status" && $2 != e { printf " %s:%s", $2, $3 }' "$out")
        [[ -z $note ]] || note=" (${note# })"
        counted=$(awk '$1 == "status" { n += $3 } END { print n + 0 }' "$out")
        if [[ $counted != "$total" ]]; then
            note+=" (Lua counted $counted responses)"
            bad="?"
        fi
    else # wrk counts statuses >= 400 in "Non-2xx or 3xx"
        bad=$(awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$out")
    fi
    ((sockerr == 0)) || note+=" (+$sockerr socket errors)"
    R_NOTE[$id]=$note
    R_SOCKERR[$id]=$sockerr
    R_LABEL[$id]=$label
    R_RPS[$id]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2; exit }' "$out")
    R_P50[$id]=$(awk '$1 == "50%" { print $2; exit }' "$out")
    R_P99[$id]=$(awk '$1 == "99%" { print $2; exit }' "$out")
    R_BAD[$id]=$bad
    R_TOTAL[$id]=$total
    # CPU-µs per request of the service (SVC_PID) and of PostgreSQL.
    R_CPU_SVC[$id]=$(us_per_request $((cpu1[0] - cpu0[0])) "$total")
    R_CPU_PG[$id]=$(us_per_request $((cpu1[1] - cpu0[1])) "$total")
    ROWS+=("$id")
}

na_row() { # ID LABEL WHY
    R_LABEL[$1]=$2
    R_RPS[$1]="n/a ($3)"
    ROWS+=("$1")
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }

# print_row ID LAST...: | label | requests/s | p50 | p99 | unexpected | LAST... |
print_row() {
    local id=$1
    shift
    if [[ ${R_RPS[$id]} == n/a* ]]; then
        printf '| %s | %s | | | | |\n' "${R_LABEL[$id]}" "${R_RPS[$id]}"
        return
    fi
    printf '| %s | %s | %s | %s | %s of %s%s |' "${R_LABEL[$id]}" "${R_RPS[$id]}" \
        "${R_P50[$id]}" "${R_P99[$id]}" "${R_BAD[$id]}" "${R_TOTAL[$id]}" "${R_NOTE[$id]}"
    printf ' %s |' "$@"
    echo
}

find_peer_dir() {
    local d
    for d in "${PEER_DIR:-}" /work/shared/bench/node-peer "$REPO/../shared/bench/node-peer"; do
        [[ -n $d && -f $d/stateless.mjs ]] && { (cd "$d" && pwd); return; }
    done
    return 1
}

# ---------------------------------------------------------------- prepare
need curl openssl awk
ensure_wrk
build_release

COOKIE_ALICE="session=$(signed_cookie_value "$SESSION_SECRET" alice)"
COOKIE_BAD="session=s%3Aalice.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
COOKIE_REDIS="connect.sid=$(signed_cookie_value "$SESSION_SECRET" "$REDIS_SID")"

# The exact command line, as it could be typed again.
CMDLINE="DURATION=$DURATION WARMUP=$WARMUP "
((SOAK)) && CMDLINE=""
CMDLINE+=$(printf '%q' "${BASH_SOURCE[0]}")
((${#ORIG_ARGS[@]})) && CMDLINE+=" $(printf '%q ' "${ORIG_ARGS[@]}")"
CMDLINE=${CMDLINE% }

print_header() {
    echo "# realtime-token benchmark"
    echo
    echo "- command: \`$CMDLINE\`"
    echo "- date: $DATE_START (start)"
    echo "- nproc: $(nproc); load average at start: $LOADAVG_START"
    echo "- commit: $(git_rev)"
    local load="${DURATION}s per row after ${WARMUP}s discarded warm-up"
    ((SOAK)) && load="1-minute slices, no warm-up"
    echo "- $(wrk -v 2>&1 | head -n 1 | sed 's/ Copyright.*//'), -t$WRK_THREADS -c$WRK_CONNECTIONS, $load, 127.0.0.1 only"
    echo "- service env (plus PATH and PORT, nothing else; run from an empty dir): \`${BASE_ENV[*]}\`"
}
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%dT%H:%M:%SZ')

# ---------------------------------------------------------------- soak mode
if ((SOAK > 0)); then
    start_service service
    URL="http://127.0.0.1:$SVC_PORT/api/realtime-token"
    expect_status 200 POST "$URL" "$COOKIE_ALICE"
    print_header
    echo "- mode: soak, POST /api/realtime-token (valid signed cookie), $SOAK x 60 s; every response's status counted in Lua"
    echo "- start-up (spawn to first 200 from /healthz): $STARTUP_MS ms"
    echo "- VmRSS idle before load: $(mib VmRSS "$SVC_PID") MiB"
    echo
    echo "| minute | requests/s | p50 | p99 | unexpected statuses | VmRSS MiB | process_resident_memory_bytes MiB |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    declare -A RSS_AT MRSS_AT
    DURATION=60 WARMUP=0 EXACT=1 FAILED=0
    for ((m = 1; m <= SOAK; m++)); do
        run_wrk "$m" "$m" 200 POST "$URL" "$COOKIE_ALICE"
        alive "$SVC_PID" || die "the service died during minute $m"
        RSS_AT[$m]=$(mib VmRSS "$SVC_PID")
        MRSS_AT[$m]=$(metrics_rss_mib "$SVC_PORT")
        [[ ${R_BAD[$m]} == 0 && ${R_SOCKERR[$m]} == 0 ]] || FAILED=1
        print_row "$m" "${RSS_AT[$m]}" "${MRSS_AT[$m]}"
    done
    echo
    rss_growth() { # FROM TO
        local d='BEGIN { if (a == "?" || b == "?") print "?"; else printf "%+.1f", b - a }'
        echo "- RSS minute $1 -> minute $2: VmRSS ${RSS_AT[$1]} -> ${RSS_AT[$2]} MiB" \
            "($(awk -v a="${RSS_AT[$1]}" -v b="${RSS_AT[$2]}" "$d") MiB);" \
            "process_resident_memory_bytes ${MRSS_AT[$1]} -> ${MRSS_AT[$2]} MiB" \
            "($(awk -v a="${MRSS_AT[$1]}" -v b="${MRSS_AT[$2]}" "$d") MiB)"
    }
    ((SOAK < 2)) || rss_growth 1 "$SOAK"
    ((SOAK < 5)) || rss_growth 2 5
    ((SOAK <= 2 || SOAK == 5)) || rss_growth 2 "$SOAK"
    echo "- peak RSS (VmHWM): $(mib VmHWM "$SVC_PID") MiB"
    echo "- access log lines written by the service (default RUST_LOG=info): $(wc -l <"$TMP/service.log")"
    echo "- [$( ((FAILED)) && echo FAIL || echo ok)] unexpected statuses and socket errors: must be 0"
    echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- wrk command (each minute): \`${WRK_CMDS[0]% }\`"
    exit "$FAILED"
fi

# ---------------------------------------------------------------- our service
(cd "$TMP" && env -i PATH="$PATH" "${BASE_ENV[@]}" timeout 20 "$BIN" check-config) >"$TMP/config.txt" 2>&1 ||
    { cat "$TMP/config.txt" >&2; die "check-config failed for the fixed configuration"; }

start_service service
MAIN_STARTUP_MS=$STARTUP_MS
BASE="http://127.0.0.1:$SVC_PORT"
expect_status 200 GET "$BASE/healthz"
expect_status 200 POST "$BASE/api/realtime-token" "$COOKIE_ALICE"
expect_status 401 POST "$BASE/api/realtime-token" "$COOKIE_BAD"

export METRICS_BASE=$BASE
ROUTE=/healthz run_wrk healthz "GET /healthz" 200 GET "$BASE/healthz"
export ROUTE=/api/realtime-token
run_wrk token "POST /api/realtime-token, signed cookie" 200 POST "$BASE/api/realtime-token" "$COOKIE_ALICE"
run_wrk bad "POST /api/realtime-token, bad cookie (expect 401)" 401 POST "$BASE/api/realtime-token" "$COOKIE_BAD"
MAIN_HWM=$(mib VmHWM "$SVC_PID")
MAIN_LOG_LINES=$(wc -l <"$TMP/service.log")
stop_pid "$SVC_PID"

# The same endpoint with the access log and metrics off: their cost.
start_service service-quiet RUST_LOG=warn METRICS=off
unset METRICS_BASE ROUTE
run_wrk quiet "POST /api/realtime-token, signed cookie, access log + metrics off" 200 POST \
    "http://127.0.0.1:$SVC_PORT/api/realtime-token" "$COOKIE_ALICE"
stop_pid "$SVC_PID"

# The Redis backend, when this build has one.
REDIS_LABEL="POST /api/realtime-token, redis session"
REDIS_HWM="" REDIS_STARTUP_MS=""
redis_ok() { [[ $(timeout 5 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]]; }
if ! (cd "$TMP" && env -i PATH="$PATH" "${BASE_ENV[@]}" "${REDIS_ENV[@]}" timeout 20 "$BIN" check-config) \
    >"$TMP/config-redis.txt" 2>&1; then
    na_row redis "$REDIS_LABEL" "backend not in this build"
elif ! command -v redis-cli >/dev/null 2>&1 || ! redis_ok; then
    na_row redis "$REDIS_LABEL" "no redis answering on 127.0.0.1:6379"
else
    timeout 5 redis-cli -h 127.0.0.1 -p 6379 set "$REDIS_KEY" "$REDIS_DOC" EX 3600 >/dev/null
    REDIS_SEEDED=1
    start_service service-redis "${REDIS_ENV[@]}"
    REDIS_STARTUP_MS=$STARTUP_MS
    expect_status 200 POST "http://127.0.0.1:$SVC_PORT/api/realtime-token" "$COOKIE_REDIS"
    METRICS_BASE="http://127.0.0.1:$SVC_PORT" ROUTE=/api/realtime-token \
        run_wrk redis "$REDIS_LABEL" 200 POST "http://127.0.0.1:$SVC_PORT/api/realtime-token" "$COOKIE_REDIS"
    REDIS_HWM=$(mib VmHWM "$SVC_PID")
    stop_pid "$SVC_PID"
fi

# ---------------------------------------------------------------- token signing: ES256, EdDSA
run_signing_rows

# ---------------------------------------------------------------- session formats
((FORMATS)) && run_format_rows

# ---------------------------------------------------------------- room sources
((ROOMS)) && run_rooms_rows

# ---------------------------------------------------------------- at scale: TLS, shared limits
run_scale_rows

# ---------------------------------------------------------------- node peers
PEER_ROWS=()
PEER_NOTES=()
if ((PEERS)); then
    if ! PEER_SRC=$(find_peer_dir); then
        PEER_NOTES+=("node peers skipped: no node-peer folder found")
    elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        PEER_NOTES+=("node peers skipped: node or npm not installed")
    else
        PEER_DIR_COPY="$TMP/node-peer"
        cp -R "$PEER_SRC" "$PEER_DIR_COPY"
        chmod -R u+w "$PEER_DIR_COPY"
        log "npm ci in a copy of $PEER_SRC"
        if ! bounded env -C "$PEER_DIR_COPY" timeout 600 npm ci --no-audit --no-fund >"$TMP/npm.log" 2>&1; then
            tail -n 20 "$TMP/npm.log" >&2 || true
            PEER_NOTES+=("node peers skipped: npm ci failed")
        else
            mkcookie() { (cd "$PEER_DIR_COPY" && env -i PATH="$PATH" "SESSION_SECRET=$SESSION_SECRET" timeout 20 node mkcookie.mjs "$1"); }
            NODE_V=$(node --version)
            PEER_NOTES+=("node $NODE_V; peer sources: $PEER_SRC (npm ci in a temp copy)")

            # stateless.mjs, 2 cluster workers
            port=8091
            port_free "$port" || port=$(free_port)
            NODE_COOKIE="session=$(mkcookie alice)"
            if [[ $NODE_COOKIE != "$COOKIE_ALICE" ]]; then
                PEER_NOTES+=("note: mkcookie.mjs and this script disagree on alice's cookie")
            fi
            if start_peer node-stateless "$PEER_DIR_COPY" "$port" stateless.mjs WORKERS=2; then
                expect_status 200 POST "http://127.0.0.1:$port/api/realtime-token" "$NODE_COOKIE"
                run_wrk node1 "node stateless.mjs, WORKERS=2, signed cookie" 200 POST \
                    "http://127.0.0.1:$port/api/realtime-token" "$NODE_COOKIE"
                PEER_NOTES+=("stateless.mjs peak RSS (VmHWM, primary + workers): $(mib_tree VmHWM "$PEER_PID") MiB")
                PEER_ROWS+=(node1)
                stop_pid "$PEER_PID"
            else
                PEER_NOTES+=("stateless.mjs did not start")
            fi

            # express-redis.mjs, 1 process
            if command -v redis-cli >/dev/null 2>&1 && redis_ok; then
                timeout 5 redis-cli -h 127.0.0.1 -p 6379 set "$REDIS_KEY" "$REDIS_DOC" EX 3600 >/dev/null
                REDIS_SEEDED=1
                port=8092
                port_free "$port" || port=$(free_port)
                NODE_RCOOKIE="connect.sid=$(mkcookie "$REDIS_SID")"
                if start_peer node-express-redis "$PEER_DIR_COPY" "$port" express-redis.mjs "REDIS_URL=$REDIS_URL"; then
                    expect_status 200 POST "http://127.0.0.1:$port/api/realtime-token" "$NODE_RCOOKIE"
                    run_wrk node2 "node express-redis.mjs, 1 process, redis session" 200 POST \
                        "http://127.0.0.1:$port/api/realtime-token" "$NODE_RCOOKIE"
                    PEER_NOTES+=("express-redis.mjs peak RSS (VmHWM): $(mib_tree VmHWM "$PEER_PID") MiB")
                    PEER_ROWS+=(node2)
                    stop_pid "$PEER_PID"
                else
                    PEER_NOTES+=("express-redis.mjs did not start")
                fi
            else
                PEER_NOTES+=("express-redis.mjs skipped: redis-cli ping on 127.0.0.1:6379 failed")
            fi
        fi
    fi
fi

# ---------------------------------------------------------------- report
print_header
echo
echo "| row | requests/s | p50 | p99 | unexpected statuses | ratio to /healthz |"
echo "| --- | --- | --- | --- | --- | --- |"
for id in healthz token redis bad quiet "${SIGNING_ROWS[@]}" "${FORMAT_ROWS[@]}" "${ROOMS_ROWS[@]}" "${SCALE_ROWS[@]}" "${PEER_ROWS[@]}"; do
    print_row "$id" "$(ratio "${R_RPS[$id]}" "${R_RPS[healthz]:-0}")"
done
echo
echo "- peak RSS of the service (VmHWM, after rows 1, 2 and 4): $MAIN_HWM MiB"
[[ -n $REDIS_HWM ]] && echo "- peak RSS of the redis-backed instance (VmHWM): $REDIS_HWM MiB"
echo "- start-up (spawn to first 200 from /healthz, curl polling): $MAIN_STARTUP_MS ms"
[[ -n $REDIS_STARTUP_MS ]] && echo "- start-up, redis-backed instance: $REDIS_STARTUP_MS ms"
echo "- access log lines written by the service (default RUST_LOG=info) during the run: $MAIN_LOG_LINES"
echo "- cost of the access log + metrics on the token row: $(awk -v on="${R_RPS[token]}" -v off="${R_RPS[quiet]}" 'BEGIN { if (off > 0) printf "%.1f%%", (1 - on / off) * 100; else print "?" }') fewer requests/s than with both off"
echo "- unexpected statuses: our rows from the service's own /metrics (requests wrk sent minus those answered with the expected status); node rows from wrk's \"Non-2xx or 3xx\" count$( ((EXACT)) && echo " (per response in Lua: --exact-status)")"
for id in "${PEER_ROWS[@]}"; do
    echo "- our signed-cookie token row / ${R_LABEL[$id]}: $(ratio "${R_RPS[token]}" "${R_RPS[$id]}")x"
done
for note in "${SIGNING_NOTES[@]}" "${FORMAT_NOTES[@]}" "${ROOMS_NOTES[@]}" "${SCALE_NOTES[@]}" "${PEER_NOTES[@]}"; do echo "- $note"; done
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "<details><summary>configuration and wrk commands</summary>"
echo
echo '```'
echo "# realtime-token check-config, fixed env (PORT is picked per run)"
cat "$TMP/config.txt"
if [[ -n $REDIS_HWM ]]; then
    echo
    echo "# realtime-token check-config, fixed env + ${REDIS_ENV[*]}"
    cat "$TMP/config-redis.txt"
fi
echo
echo "# wrk commands, one per row"
for c in "${WRK_CMDS[@]}"; do echo "${c% }"; done
echo '```'
echo
echo "</details>"
