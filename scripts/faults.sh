#!/usr/bin/env bash
# Fault scenarios for realtime-token (see "Faults" in docs/src/development.md).
#
#   scripts/faults.sh [--only redis|upstream] [--out DIR]
#
#   redis     a private redis-server (free port, nothing on disk) is SIGKILLed
#             under load and restarted: 5 s healthy, 5 s down, 5 s after
#   upstream  the "who am I" upstream starts hanging: 5 s ok, 5 s hang, 5 s ok
#
# Default: both. Per-request CSVs and JSON summaries go to DIR (default
# target/faults). Only 127.0.0.1 is targeted; every loop is bounded in time;
# everything started is stopped on exit. Exit 1 on a violation. The soak
# (full load for minutes, every status counted) is bench/run.sh --soak.
set -euo pipefail

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

ONLY=""
OUT=""
ORIG_ARGS=("$@")
while (($#)); do
    case $1 in
        --only)
            [[ $# -ge 2 ]] || { echo "--only needs redis or upstream" >&2; exit 2; }
            ONLY=$2
            shift
            ;;
        --only=*) ONLY=${1#--only=} ;;
        --soak | --soak=*) echo "the soak is bench/run.sh --soak MINUTES" >&2; exit 2 ;;
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
case $ONLY in
    "") PARTS=(redis upstream) ;;
    redis | upstream) PARTS=("$ONLY") ;;
    soak) echo "the soak is bench/run.sh --soak MINUTES" >&2; exit 2 ;;
    *) echo "--only must be redis or upstream" >&2; exit 2 ;;
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

HARNESS=faults
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly HELPER="$REPO/scripts/faults/faults.py"
OUT=${OUT:-$REPO/target/faults}
harness_init

# ---------------------------------------------------------------- helpers
sleep_until() { # NS: sleeps until the wall clock reaches NS (at most 60 s)
    local left=$((($1 - $(now_ns)) / 1000000))
    ((left > 60000)) && left=60000
    # In the background (bounded), so that a signal reaches the trap at once.
    if ((left > 0)); then bounded sleep "$(awk -v m="$left" 'BEGIN { printf "%.3f", m / 1000 }')"; fi
}

# start_load NAME URL COOKIE: the Python load client in the background; waits
# for its first answer. Sets LOAD_PID and LOAD_CSV.
start_load() {
    local name=$1 url=$2 cookie=$3
    LOAD_CSV="$OUT/$name.csv"
    rm -f "$TMP/$name.ready" "$LOAD_CSV"
    python3 "$HELPER" load --url "$url" --header "Cookie: $cookie" --connections "$CONNECTIONS" \
        --max-seconds $((4 * PHASE_S + 20)) --timeout 5 --out "$LOAD_CSV" --ready "$TMP/$name.ready" \
        2>"$TMP/$name-load.log" &
    LOAD_PID=$!
    PIDS+=("$LOAD_PID")
    wait_ready 10 "$LOAD_PID" "$TMP/$name-load.log" "the load client" test -s "$TMP/$name.ready" ||
        die "the load client had no answer"
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

pong() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

start_redis() { # on REDIS_PORT, loading REDIS_DIR/seed.rdb when present
    [[ $REDIS_PORT != 6379 ]] || die "refusing to use port 6379 (the machine's shared Redis)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        --dir "$REDIS_DIR" --dbfilename seed.rdb --logfile "$TMP/redis-server.log" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    POLL_PAUSE=0.01 wait_ready 10 "$REDIS_PID" "$TMP/redis-server.log" redis-server pong ||
        die "redis-server did not answer PING"
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
    cookie="connect.sid=$(signed_cookie_value "$SESSION_SECRET" "$SID")"
    expect_status 200 POST "$url" "$cookie"
    expect_status 401 POST "$url" "connect.sid=$(signed_cookie_value "$SESSION_SECRET" no-such-sid)"

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
    readyz=$(http_code "http://127.0.0.1:$SVC_PORT/readyz")
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
    local t_ready t_fault t_restore url cookie rc=0
    echo
    echo "## Upstream that starts hanging"
    echo
    UP_PORT=$(free_port)
    python3 "$HELPER" upstream --port "$UP_PORT" --max-seconds 300 >"$TMP/upstream.log" 2>&1 &
    UP_PID=$!
    PIDS+=("$UP_PID")
    POLL_PAUSE=0.05 wait_ready 10 "$UP_PID" "$TMP/upstream.log" "the upstream" \
        answers 200 "http://127.0.0.1:$UP_PORT/me" --max-time 1 -H "Cookie: sid=$SID" ||
        die "the upstream did not answer GET /me with 200"
    log "upstream: pid $UP_PID, port $UP_PORT"

    start_service service-upstream "SESSION_BACKEND=upstream" "SESSION_UPSTREAM_URL=http://127.0.0.1:$UP_PORT/me" \
        "SESSION_CACHE_TTL=off" "SESSION_LOOKUP_TIMEOUT=${UPSTREAM_TIMEOUT_MS}ms"
    url="http://127.0.0.1:$SVC_PORT/api/realtime-token"
    cookie="sid=$SID"
    expect_status 200 POST "$url" "$cookie"
    expect_status 401 POST "$url" "sid=someone-else"

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

# ------------------------------------------------------------------- main
need curl openssl python3 awk
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
build_release

echo "# realtime-token faults"
echo
CMDLINE=$(printf '%q ' scripts/faults.sh "${ORIG_ARGS[@]}")
echo "- command: \`${CMDLINE% }\`; parts: ${PARTS[*]}"
echo "- date: $(date -u '+%Y-%m-%dT%H:%M:%SZ'); commit: $(git_rev); nproc: $(nproc); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- results (per-request CSVs and JSON summaries): $OUT"

for part in "${PARTS[@]}"; do
    "part_$part"
done

echo
echo "## Summary"
echo
for r in "${RESULTS[@]}"; do echo "- $r"; done
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((FAILED)); then exit 1; fi
