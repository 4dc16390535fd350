# shellcheck shell=bash
# Shared by bench/run.sh and scripts/faults.sh: process bookkeeping and the
# service start-up. The caller defines log() and die(), TMP, BIN, BASE_ENV
# and the PIDS array, and a cleanup trap that calls stop_pid on each of PIDS.

now_ns() { date +%s%N; }

# True while PID runs (a reaped or zombie process is not running).
alive() { [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# Stops one process we started and its direct children (node cluster
# workers): TERM, up to 5 s, then KILL.
stop_pid() {
    local pid=$1 kids i
    kids=$(pgrep -P "$pid" 2>/dev/null || true)
    # shellcheck disable=SC2086 # $kids is a list of pids
    kill -TERM "$pid" $kids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL "$pid" $kids 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# Runs a long command (build, npm ci, wrk) in the background and waits for it,
# so that a signal reaches the trap at once and the command is stopped too.
bounded() {
    local p rc=0
    "$@" &
    p=$!
    PIDS+=("$p")
    wait "$p" || rc=$?
    forget_pid "$p"
    return "$rc"
}

port_free() { ! (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' && return
    fi
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 40000))
        port_free "$p" && { echo "$p"; return; }
    done
    die "no free port found"
}

mib() { # FIELD PID -> value in MiB from /proc/PID/status
    awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$2/status" 2>/dev/null || echo "?"
}

# Starts the service with BASE_ENV plus "$@", from an empty temp dir (no .env),
# waits for GET /healthz = 200. Sets SVC_PID, SVC_PORT, STARTUP_MS.
start_service() {
    local name=$1 port t0 deadline code
    shift
    port=$(free_port)
    mkdir -p "$TMP/run"
    t0=$(now_ns)
    (cd "$TMP/run" && exec env -i PATH="$PATH" "${BASE_ENV[@]}" "PORT=$port" "$@" "$BIN" serve) \
        >"$TMP/$name.log" 2>&1 &
    SVC_PID=$!
    PIDS+=("$SVC_PID")
    deadline=$((t0 + 15 * 1000000000))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/healthz" || true)
        [[ $code == 200 ]] && break
        if ! alive "$SVC_PID"; then
            tail -n 20 "$TMP/$name.log" >&2 || true
            die "$name exited before answering /healthz"
        fi
        (($(now_ns) < deadline)) || die "$name did not answer /healthz within 15 s"
    done
    # shellcheck disable=SC2034 # read by the caller
    STARTUP_MS=$((($(now_ns) - t0) / 1000000))
    # shellcheck disable=SC2034 # read by the caller
    SVC_PORT=$port
    log "$name: pid $SVC_PID, port $port, first 200 from /healthz after $STARTUP_MS ms"
}
