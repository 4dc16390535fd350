# shellcheck shell=bash
# The harness shared by bench/run.sh (benchmark and soak) and scripts/faults.sh
# (fault scenarios): logging, a temp dir and a trap that stops every process
# started, the release build, the service start-up and status checks.
#
# The caller sets HARNESS (log prefix) and BASE_ENV (the service's whole
# environment), optionally ORIGIN (sent with POSTs) and an on_exit function
# (run by the trap), then calls harness_init.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Where cargo puts the build: CARGO_TARGET_DIR (relative to the repository,
# where cargo runs) when set, else target/.
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR="$REPO/$TARGET_DIR"
BIN="$TARGET_DIR/release/realtime-token"
readonly REPO TARGET_DIR BIN

log() { printf '[%s] %s\n' "$HARNESS" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() { # TOOL...
    local t
    for t; do command -v "$t" >/dev/null 2>&1 || die "$t is required"; done
}

# Creates TMP and the PIDS list; on exit, interrupt or termination every
# process in PIDS is stopped, on_exit runs and TMP is removed.
harness_init() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/rt-$HARNESS.XXXXXX")
    PIDS=()
    trap harness_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

harness_cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if declare -F on_exit >/dev/null; then on_exit || true; fi
    rm -rf "$TMP"
    exit "$rc"
}

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

# Runs a long command (build, npm ci, wrk, sleep) in the background and waits
# for it, so that a signal reaches the trap at once and the command is
# stopped too.
bounded() {
    local p rc=0
    "$@" &
    p=$!
    PIDS+=("$p")
    wait "$p" || rc=$?
    forget_pid "$p"
    return "$rc"
}

# wait_ready SECONDS PID LOG WHAT CMD...: polls CMD until it succeeds, every
# POLL_PAUSE seconds (default 0.02; 0 = at once again). Returns 1 (after
# showing the end of LOG) when PID exits first or SECONDS pass.
wait_ready() {
    local secs=$1 pid=$2 file=$3 what=$4 pause=${POLL_PAUSE:-0.02} deadline
    shift 4
    deadline=$(($(now_ns) + secs * 1000000000))
    until "$@"; do
        if ! alive "$pid"; then
            tail -n 20 "$file" >&2 || true
            log "$what exited before it was ready"
            return 1
        fi
        (($(now_ns) < deadline)) || { log "$what was not ready within $secs s"; return 1; }
        [[ $pause == 0 ]] || sleep "$pause"
    done
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

# http_code URL [CURL ARGS...] -> the status code (000 = no answer within 5 s)
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${@:2}" "$1" || true; }
answers() { [[ $(http_code "${@:2}") == "$1" ]]; } # CODE URL [CURL ARGS...]

# status METHOD URL [COOKIE] -> the status code; POSTs carry ORIGIN if set.
status() {
    local args=(-X "$1")
    [[ $1 == POST && -n ${ORIGIN:-} ]] && args+=(-H "Origin: $ORIGIN")
    [[ -n ${3:-} ]] && args+=(-H "Cookie: $3")
    http_code "$2" "${args[@]}"
}

expect_status() { # WANT METHOD URL [COOKIE]
    local got
    got=$(status "$2" "$3" "${4:-}")
    [[ $got == "$1" ]] || die "$2 $3 answered $got, expected $1"
}

# The express/cookie-parser signed value, percent-encoded: s%3A<value>.<sig>
signed_cookie_value() { # SECRET VALUE
    local sig
    sig=$(printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" -binary | base64 | tr -d '=')
    printf 's:%s.%s' "$2" "$sig" | sed -e 's/:/%3A/g' -e 's/+/%2B/g' -e 's#/#%2F#g'
}

# wrk from the distribution when it is missing (bench/run.sh, bench/throughput.sh).
ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return
    log "installing wrk"
    bounded timeout 600 apt-get install -y wrk >&2 ||
        { bounded timeout 600 apt-get update >&2 && bounded timeout 600 apt-get install -y wrk >&2; } ||
        die "could not install wrk"
}

build_release() {
    log "building: cargo build --release --locked"
    bounded env -C "$REPO" timeout 3600 cargo build --release --locked >&2 || die "release build failed"
    [[ -x $BIN ]] || die "no binary at $BIN"
}

git_rev() { # -> short commit, noting uncommitted changes to what is built
    local rev
    rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git -C "$REPO" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]]; then
        rev+=" + uncommitted changes in src/ or Cargo.*"
    fi
    echo "$rev"
}

# Starts the service with BASE_ENV plus "$@", from an empty temp dir (no .env),
# waits for GET /healthz = 200. Sets SVC_PID, SVC_PORT, STARTUP_MS.
start_service() {
    local name=$1 port t0
    shift
    port=$(free_port)
    mkdir -p "$TMP/run"
    t0=$(now_ns)
    (cd "$TMP/run" && exec env -i PATH="$PATH" "${BASE_ENV[@]}" "PORT=$port" "$@" "$BIN" serve) \
        >"$TMP/$name.log" 2>&1 &
    SVC_PID=$!
    PIDS+=("$SVC_PID")
    # No pause between polls: STARTUP_MS measures the start-up.
    POLL_PAUSE=0 wait_ready 15 "$SVC_PID" "$TMP/$name.log" "$name" \
        answers 200 "http://127.0.0.1:$port/healthz" --max-time 1 ||
        die "$name did not answer GET /healthz with 200"
    # shellcheck disable=SC2034 # read by the caller
    STARTUP_MS=$((($(now_ns) - t0) / 1000000))
    # shellcheck disable=SC2034 # read by the caller
    SVC_PORT=$port
    log "$name: pid $SVC_PID, port $port, first 200 from /healthz after $STARTUP_MS ms"
}
