#!/usr/bin/env bash
# Fault-and-soak run for realtime-token (see "Faults and soak" in README.md).
#
#   scripts/faults.sh [--only redis|upstream|soak] [--soak MINUTES] [--out DIR]
#
#   redis     a private redis-server (free port, nothing on disk) is SIGKILLed
#             under load and restarted: 5 s healthy, 5 s down, 5 s after
#   upstream  the "who am I" upstream starts hanging: 5 s ok, 5 s hang, 5 s ok
#   soak      signed-cookie backend at full load (wrk -t1 -c32), MINUTES x 60 s,
#             requests/s, statuses and RSS after each minute
#
# Default: redis + upstream (+ soak when --soak is given); --only soak without
# --soak runs 5 minutes. Per-request CSVs and JSON summaries go to DIR
# (default target/faults). Only 127.0.0.1 is targeted; every loop is bounded
# in time; everything started is stopped on exit. Exit 1 on a violation.
set -euo pipefail

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

ONLY=""
SOAK=0
OUT=""
ORIG_ARGS=("$@")
while (($#)); do
    case $1 in
        --only)
            [[ $# -ge 2 ]] || { echo "--only needs redis, upstream or soak" >&2; exit 2; }
            ONLY=$2
            shift
            ;;
        --only=*) ONLY=${1#--only=} ;;
        --soak)
            [[ $# -ge 2 ]] || { echo "--soak needs MINUTES" >&2; exit 2; }
            SOAK=$2
            shift
            ;;
        --soak=*) SOAK=${1#--soak=} ;;
        --out)
            [[ $# -ge 2 ]] || { echo "--out needs DIR" >&2; exit 2; }
            OUT=$2
            shift
            ;;
        --out=*) OUT=${1#--out=} ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if ! [[ $SOAK =~ ^[0-9]+$ ]] || ((SOAK > 240)); then
    echo "--soak MINUTES must be a whole number, 1..240" >&2
    exit 2
fi
case $ONLY in
    "")
        PARTS=(redis upstream)
        if ((SOAK > 0)); then PARTS+=(soak); fi
        ;;
    redis | upstream) PARTS=("$ONLY") ;;
    soak)
        PARTS=(soak)
        if ((SOAK == 0)); then SOAK=5; fi
        ;;
    *) echo "--only must be redis, upstream or soak" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------- constants
readonly JWT_SECRET=faults-jwt-secret-0123456789abcdef0123456789
readonly SESSION_SECRET=faults-session-secret-0123456789abcdef01
readonly SID=fault-sid
readonly SESSION_DOC='{"cookie":{"originalMaxAge":86400000},"userId":"alice"}'
readonly PHASE_S=5            # seconds per phase
readonly CONNECTIONS=16       # load client connections (redis, upstream)
readonly REDIS_TIMEOUT_MS=200 UPSTREAM_TIMEOUT_MS=300
readonly BASE_ENV=(
    "JWT_SECRET=$JWT_SECRET"
    "SESSION_SECRET=$SESSION_SECRET"
    "REALTIME_ROOMS=document-*"
    "RATE_LIMIT_IP=off"
    "RATE_LIMIT_SUBJECT=off"
    "HOST=127.0.0.1"
    "RUST_LOG=warn"
)

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPT_DIR")
readonly SCRIPT_DIR REPO
readonly HELPER="$SCRIPT_DIR/faults/faults.py"
readonly LUA="$SCRIPT_DIR/faults/status.lua"
readonly BIN="$REPO/target/release/realtime-token"
# shellcheck source=scripts/lib.sh
source "$REPO/scripts/lib.sh"
OUT=${OUT:-$REPO/target/faults}

log() { printf '[faults] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------- processes, cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-faults.XXXXXX")
PIDS=()

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
sleep_until() { # NS: sleeps until the wall clock reaches NS (at most 60 s)
    local left=$((($1 - $(now_ns)) / 1000000))
    ((left > 60000)) && left=60000
    # In the background (bounded), so that a signal reaches the trap at once.
    if ((left > 0)); then bounded sleep "$(awk -v m="$left" 'BEGIN { printf "%.3f", m / 1000 }')"; fi
}

status_of() { # URL [COOKIE] -> status of a POST (000 = no answer)
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 5 -X POST)
    [[ -n ${2:-} ]] && args+=(-H "Cookie: $2")
    curl "${args[@]}" "$1" || true
}

expect_status() { # WANT URL [COOKIE]
    local got
    got=$(status_of "$2" "${3:-}")
    [[ $got == "$1" ]] || die "POST $2 answered $got, expected $1"
}

metrics_rss_mib() { # PORT -> process_resident_memory_bytes in MiB
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk '$1 == "process_resident_memory_bytes" { printf "%.1f", $2 / 1048576; found = 1 } END { if (!found) print "?" }'
}

# start_load NAME URL COOKIE: the Python load client in the background; waits
# for its first answer. Sets LOAD_PID and LOAD_CSV.
start_load() {
    local name=$1 url=$2 cookie=$3 deadline
    LOAD_CSV="$OUT/$name.csv"
    rm -f "$TMP/$name.ready" "$LOAD_CSV"
    python3 "$HELPER" load --url "$url" --header "Cookie: $cookie" --connections "$CONNECTIONS" \
        --max-seconds $((4 * PHASE_S + 20)) --timeout 5 --out "$LOAD_CSV" --ready "$TMP/$name.ready" \
        2>"$TMP/$name-load.log" &
    LOAD_PID=$!
    PIDS+=("$LOAD_PID")
    deadline=$(($(now_ns) + 10 * 1000000000))
    until [[ -s $TMP/$name.ready ]]; do
        alive "$LOAD_PID" || { cat "$TMP/$name-load.log" >&2; die "the load client exited"; }
        (($(now_ns) < deadline)) || die "the load client had no answer within 10 s"
        sleep 0.02
    done
    log "$name: load running ($CONNECTIONS keep-alive connections)"
}

# stop_load: asks the load client to stop (SIGUSR1), waits up to 20 s for it
# to write its CSV.
stop_load() {
    local deadline i
    kill -USR1 "$LOAD_PID" 2>/dev/null || true
    deadline=$(($(now_ns) + 20 * 1000000000))
    while alive "$LOAD_PID" && (($(now_ns) < deadline)); do sleep 0.05; done
    alive "$LOAD_PID" && log "the load client did not stop within 20 s"
    stop_pid "$LOAD_PID"
    [[ -s $LOAD_CSV ]] || { cat "$TMP"/*-load.log >&2 || true; die "the load client wrote no results"; }
    i=$(($(wc -l <"$LOAD_CSV") - 1))
    log "load stopped: $i requests recorded in $LOAD_CSV"
}

# Each part ends with `record PART RC`; the parts always return 0 so that
# `set -e` keeps working inside them (it is off in functions called from
# `f || ...`). A violation makes the script exit 1 at the end.
RESULTS=()
FAILED=0
record() {
    if (($2 == 0)); then RESULTS+=("$1: PASS"); else RESULTS+=("$1: FAIL"); FAILED=1; fi
}

# ------------------------------------------------------------------ redis
REDIS_PID=""
REDIS_PORT=""
REDIS_DIR=""

start_redis() { # on REDIS_PORT, loading REDIS_DIR/seed.rdb when present
    local deadline
    [[ $REDIS_PORT != 6379 ]] || die "refusing to use port 6379 (the machine's shared Redis)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$REDIS_DIR" --dbfilename seed.rdb --logfile "$TMP/redis-server.log" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    deadline=$(($(now_ns) + 10 * 1000000000))
    until [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; do
        alive "$REDIS_PID" || { tail -n 20 "$TMP/redis-server.log" >&2; die "redis-server exited"; }
        (($(now_ns) < deadline)) || die "redis-server did not answer PING within 10 s"
        sleep 0.01
    done
}

part_redis() {
    local t_ready t_fault t_restore t_pong t_kill0 cookie url rc=0 key_back readyz
    echo
    echo "## Redis outage under load"
    echo
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        die "redis-server and redis-cli are needed (apt-get install redis-server)"
    fi
    REDIS_DIR="$TMP/redis"
    mkdir -p "$REDIS_DIR"
    REDIS_PORT=$(free_port)
    start_redis
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" set "sess:$SID" "$SESSION_DOC" >/dev/null
    # The seed as an RDB file: the restarted server loads it before it serves
    # a command, so the service never sees an empty store (which would be 401).
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" save >/dev/null
    [[ -s $REDIS_DIR/seed.rdb ]] || die "redis SAVE wrote no seed.rdb"
    log "private redis-server: pid $REDIS_PID, port $REDIS_PORT, seeded sess:$SID"

    start_service service-redis "SESSION_BACKEND=redis" "REDIS_URL=redis://127.0.0.1:$REDIS_PORT" \
        "SESSION_LOOKUP_TIMEOUT=${REDIS_TIMEOUT_MS}ms"
    url="http://127.0.0.1:$SVC_PORT/api/realtime-token"
    cookie="connect.sid=$(python3 "$HELPER" cookie "$SESSION_SECRET" "$SID")"
    expect_status 200 "$url" "$cookie"
    expect_status 401 "$url" "connect.sid=$(python3 "$HELPER" cookie "$SESSION_SECRET" no-such-sid)"

    echo "- private redis-server $(redis-server --version | awk '{ print $3 }') on 127.0.0.1:$REDIS_PORT (--save '' --appendonly no), key sess:$SID"
    echo "- service: SESSION_BACKEND=redis, SESSION_LOOKUP_TIMEOUT=${REDIS_TIMEOUT_MS}ms, RATE_LIMIT_IP/SUBJECT=off, port $SVC_PORT"
    echo "- load: POST /api/realtime-token, $CONNECTIONS keep-alive connections, closed loop; phases of $PHASE_S s"

    start_load redis "$url" "$cookie"
    t_ready=$(now_ns)
    sleep_until $((t_ready + PHASE_S * 1000000000))
    t_kill0=$(now_ns)
    kill -KILL "$REDIS_PID"
    wait "$REDIS_PID" 2>/dev/null || true
    forget_pid "$REDIS_PID"
    t_fault=$(now_ns)
    log "redis-server SIGKILLed (pid $REDIS_PID)"
    sleep_until $((t_fault + PHASE_S * 1000000000))
    t_restore=$(now_ns)
    start_redis
    t_pong=$(now_ns)
    log "redis-server restarted (pid $REDIS_PID), PONG after $(((t_pong - t_restore) / 1000000)) ms"
    sleep_until $((t_restore + PHASE_S * 1000000000))
    stop_load
    key_back=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" exists "sess:$SID")
    readyz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$SVC_PORT/readyz" || true)
    alive "$SVC_PID" || die "the service died"

    echo "- SIGKILL to reaped: $(((t_fault - t_kill0) / 1000000)) ms; restart (spawn) to PONG: $(((t_pong - t_restore) / 1000000)) ms; seed present after restart: $([[ $key_back == 1 ]] && echo yes || echo NO)"
    echo "- fault = redis-server reaped after SIGKILL; restore = restarted redis-server spawned"
    echo
    python3 "$HELPER" report --csv "$LOAD_CSV" --kind redis --fault "$t_fault" --restore "$t_restore" \
        --timeout-ms "$REDIS_TIMEOUT_MS" --json "$OUT/redis.json" || rc=$?
    echo "- [info] GET /readyz after the run: $readyz; service log lines (RUST_LOG=warn): $(wc -l <"$TMP/service-redis.log")"
    if [[ $key_back != 1 ]]; then rc=1; fi
    stop_pid "$SVC_PID"
    stop_pid "$REDIS_PID"
    record redis "$rc"
}

# --------------------------------------------------------------- upstream
set_upstream_mode() { # MODE -> prints the switch time (ns) reported by the upstream
    local answer at
    answer=$(curl -s --max-time 5 -X POST "http://127.0.0.1:$UP_PORT/_mode/$1") ||
        die "the upstream did not answer the mode switch"
    at=$(printf '%s' "$answer" | sed -n 's/.*"at_ns": *\([0-9]*\).*/\1/p')
    [[ -n $at ]] || die "unexpected mode answer: $answer"
    echo "$at"
}

part_upstream() {
    local t_ready t_fault t_restore url cookie rc=0 deadline
    echo
    echo "## Upstream that starts hanging"
    echo
    UP_PORT=$(free_port)
    python3 "$HELPER" upstream --port "$UP_PORT" --max-seconds 300 >"$TMP/upstream.log" 2>&1 &
    UP_PID=$!
    PIDS+=("$UP_PID")
    deadline=$(($(now_ns) + 10 * 1000000000))
    until [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "Cookie: sid=$SID" \
        "http://127.0.0.1:$UP_PORT/me" || true) == 200 ]]; do
        alive "$UP_PID" || { cat "$TMP/upstream.log" >&2; die "the upstream exited"; }
        (($(now_ns) < deadline)) || die "the upstream did not answer within 10 s"
        sleep 0.05
    done
    log "upstream: pid $UP_PID, port $UP_PORT"

    start_service service-upstream "SESSION_BACKEND=upstream" "SESSION_UPSTREAM_URL=http://127.0.0.1:$UP_PORT/me" \
        "SESSION_CACHE_TTL=off" "SESSION_LOOKUP_TIMEOUT=${UPSTREAM_TIMEOUT_MS}ms"
    url="http://127.0.0.1:$SVC_PORT/api/realtime-token"
    cookie="sid=$SID"
    expect_status 200 "$url" "$cookie"
    expect_status 401 "$url" "sid=someone-else"

    echo "- upstream: scripts/faults/faults.py upstream on 127.0.0.1:$UP_PORT (GET /me -> 200 {\"id\":\"alice\"}, or never answers while hanging)"
    echo "- service: SESSION_BACKEND=upstream, SESSION_CACHE_TTL=off, SESSION_LOOKUP_TIMEOUT=${UPSTREAM_TIMEOUT_MS}ms, RATE_LIMIT_IP/SUBJECT=off, port $SVC_PORT"
    echo "- load: POST /api/realtime-token, $CONNECTIONS keep-alive connections, closed loop; phases of $PHASE_S s"

    start_load upstream "$url" "$cookie"
    t_ready=$(now_ns)
    sleep_until $((t_ready + PHASE_S * 1000000000))
    t_fault=$(set_upstream_mode hang)
    log "upstream hangs"
    sleep_until $((t_fault + PHASE_S * 1000000000))
    t_restore=$(set_upstream_mode ok)
    log "upstream answers again"
    sleep_until $((t_restore + PHASE_S * 1000000000))
    stop_load
    alive "$SVC_PID" || die "the service died"

    echo "- fault / restore = the moments the upstream switched mode (its own clock reading, answered to the switch request)"
    echo
    python3 "$HELPER" report --csv "$LOAD_CSV" --kind upstream --fault "$t_fault" --restore "$t_restore" \
        --timeout-ms "$UPSTREAM_TIMEOUT_MS" --json "$OUT/upstream.json" || rc=$?
    stop_pid "$SVC_PID"
    stop_pid "$UP_PID"
    echo "- [info] service log lines (RUST_LOG=warn): $(wc -l <"$TMP/service-upstream.log"); /me requests seen by the upstream: $(tail -n 1 "$TMP/upstream.log" | sed 's/^upstream: done //')"
    record upstream "$rc"
}

# ------------------------------------------------------------------- soak
part_soak() {
    local url cookie m out rps total bad sockerr statuses rss mrss counted rc=0
    local -a RSS_AT MRSS_AT
    echo
    echo "## Soak: signed-cookie backend, $SOAK x 60 s at full load"
    echo
    start_service service-soak
    url="http://127.0.0.1:$SVC_PORT/api/realtime-token"
    cookie="session=$(python3 "$HELPER" cookie "$SESSION_SECRET" alice)"
    expect_status 200 "$url" "$cookie"
    echo "- service: SESSION_BACKEND=signed-cookie (default), RATE_LIMIT_IP/SUBJECT=off, port $SVC_PORT"
    echo "- load: \`wrk -t1 -c32 -d60s -s scripts/faults/status.lua\` per minute (statuses counted exactly)"
    echo "- VmRSS idle before load: $(mib VmRSS "$SVC_PID") MiB"
    echo
    echo "| minute | requests/s | requests | non-2xx | socket errors | VmRSS MiB | process_resident_memory_bytes MiB |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    for ((m = 1; m <= SOAK; m++)); do
        out="$TMP/wrk-$m.txt"
        bounded env "COOKIE=$cookie" timeout 90 wrk -t1 -c32 -d60s -s "$LUA" "$url" >"$out" 2>&1 ||
            { cat "$out" >&2; die "wrk failed in minute $m"; }
        alive "$SVC_PID" || die "the service died in minute $m"
        cp "$out" "$OUT/soak-wrk-minute-$m.txt"
        rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2; exit }' "$out")
        total=$(awk '/ requests in / { print $1; exit }' "$out")
        bad=$(awk '$1 == "status" && $2 !~ /^2/ { n += $3 } END { print n + 0 }' "$out")
        statuses=$(awk '$1 == "status" && $2 !~ /^2/ { printf " %s:%s", $2, $3 }' "$out")
        sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10; exit }' "$out")
        sockerr=${sockerr:-0}
        counted=$(awk '$1 == "status" { n += $3 } END { print n + 0 }' "$out")
        if [[ $counted != "$total" ]]; then
            log "minute $m: status lines count $counted responses, wrk $total"
            bad="? (status count $counted != $total)"
            rc=1
        fi
        rss=$(mib VmRSS "$SVC_PID")
        mrss=$(metrics_rss_mib "$SVC_PORT")
        RSS_AT[m]=$rss
        MRSS_AT[m]=$mrss
        if [[ $bad != 0 || $sockerr != 0 ]]; then rc=1; fi
        printf '| %s | %s | %s | %s%s | %s | %s | %s |\n' "$m" "$rps" "$total" "$bad" "$statuses" "$sockerr" "$rss" "$mrss"
    done
    echo
    growth() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", b - a }'; }
    echo "- RSS growth minute 1 -> minute $SOAK: VmRSS ${RSS_AT[1]} -> ${RSS_AT[SOAK]} MiB ($(growth "${RSS_AT[1]}" "${RSS_AT[SOAK]}") MiB); metrics ${MRSS_AT[1]} -> ${MRSS_AT[SOAK]} MiB"
    if ((SOAK >= 2)); then
        echo "- RSS growth minute 2 -> minute $SOAK (last): VmRSS ${RSS_AT[2]} -> ${RSS_AT[SOAK]} MiB ($(growth "${RSS_AT[2]}" "${RSS_AT[SOAK]}") MiB); metrics ${MRSS_AT[2]} -> ${MRSS_AT[SOAK]} MiB ($(growth "${MRSS_AT[2]}" "${MRSS_AT[SOAK]}") MiB)"
        if ((SOAK == 2)); then
            echo "  (with 2 minutes, minute 2 is the last one: use --soak 5 or more for a real growth figure)"
        fi
    fi
    echo "- peak RSS (VmHWM): $(mib VmHWM "$SVC_PID") MiB; service log lines (RUST_LOG=warn): $(wc -l <"$TMP/service-soak.log")"
    echo "- [$([[ $rc == 0 ]] && echo ok || echo FAIL)] unexpected statuses (non-2xx) and socket errors: must be 0"
    stop_pid "$SVC_PID"
    record soak "$rc"
}

# ------------------------------------------------------------------- main
for tool in curl python3 awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
if [[ " ${PARTS[*]} " == *" soak "* ]] && ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    bounded timeout 600 apt-get install -y wrk >&2 ||
        { bounded timeout 600 apt-get update >&2 && bounded timeout 600 apt-get install -y wrk >&2; } ||
        die "could not install wrk"
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log "building: cargo build --release --locked"
bounded env -C "$REPO" timeout 3600 cargo build --release --locked >&2 || die "release build failed"
[[ -x $BIN ]] || die "no binary at $BIN"

GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]] &&
    GIT_REV+=" + uncommitted changes in src/ or Cargo.*"
echo "# realtime-token faults and soak"
echo
CMDLINE=$(printf '%q ' scripts/faults.sh "${ORIG_ARGS[@]}")
echo "- command: \`${CMDLINE% }\`; parts: ${PARTS[*]}"
echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ'); commit: $GIT_REV; nproc: $(nproc); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- results (per-request CSVs and JSON summaries of the fault parts, wrk output per soak minute): $OUT"

for part in "${PARTS[@]}"; do
    "part_$part"
done

echo
echo "## Summary"
echo
for r in "${RESULTS[@]}"; do echo "- $r"; done
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((FAILED)); then exit 1; fi
