#!/usr/bin/env bash
# Instructions per token request, counted by valgrind's callgrind (see
# bench/README.md, "Instruction counts").
#
#   bench/instructions.sh [--rows LIST] [--out FILE]
#
# env: N1 (requests of the short run, default 200), N2 (of the long run,
# default 1200), REPEAT (runs per count, default 1; more shows the spread),
# SERVICE_BIN (count this realtime-token binary instead of the build, e.g.
# an older commit's; the report names it).
#
# For each row the release binary runs under callgrind with WORKERS=1 twice:
# once serving N1 requests, once N2, each sent by curl (another process,
# not counted) over one keep-alive connection, one after another, every
# status checked. Instructions per request = (I(N2) - I(N1)) / (N2 - N1):
# start-up and shutdown cancel out. Rows: the minimal actix endpoint
# (bench/minimal), and the service lean (RUST_LOG=warn METRICS=off
# RATE_LIMIT_IP=off RATE_LIMIT_SUBJECT=off), with the access log alone,
# metrics alone, rate limits alone (out of reach) and the default (all
# three), for the signed-cookie and the redis backends; and the minimal
# endpoint and the signed-cookie default with many keys (1,000 cookies,
# 100 addresses in X-Forwarded-For from a trusted proxy). Writes a Markdown
# table with date and commit to FILE (default bench/results/instructions.md)
# and prints it. --rows takes a comma list of row ids: minimal,
# minimal-many, BACKEND-lean, -log, -metrics, -limits, -default (BACKEND
# signed-cookie or redis), signed-cookie-default-many.
set -euo pipefail

usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

ONLY=""
OUT=""
while (($#)); do
    case $1 in
        --rows) ONLY=${2:?--rows needs a list}; shift ;;
        --rows=*) ONLY=${1#--rows=} ;;
        --out) OUT=${2:?--out needs a file}; shift ;;
        --out=*) OUT=${1#--out=} ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done

N1=${N1:-200}
N2=${N2:-1200}
REPEAT=${REPEAT:-1}
valid_int() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= $2 && $1 <= $3)); }
valid_int "$N1" 1 100000 || { echo "N1 must be 1..100000" >&2; exit 2; }
valid_int "$N2" $((N1 + 1)) 1000000 || { echo "N2 must be more than N1" >&2; exit 2; }
valid_int "$REPEAT" 1 10 || { echo "REPEAT must be 1..10" >&2; exit 2; }

# shellcheck source=bench/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
readonly REDIS_URL=redis://127.0.0.1:6379
# A per-run session id: other sessions share this Redis.
REDIS_SID="bench-instr-$$-$RANDOM"
readonly REDIS_DOC='{"cookie":{"originalMaxAge":86400000,"httpOnly":true,"path":"/"},"userId":"alice"}'
readonly BASE_ENV=(
    "JWT_SECRET=$JWT_SECRET"
    "SESSION_SECRET=$SESSION_SECRET"
    "REALTIME_ROOMS=document-*"
    "HOST=127.0.0.1"
    "ALLOWED_ORIGINS=$ORIGIN"
    "WORKERS=1"
)
# Limits on but out of reach, as in bench/run.sh: the bookkeeping is counted.
readonly LIMITS_ON=("RATE_LIMIT_IP=1000000000/s" "RATE_LIMIT_SUBJECT=1000000000/s")
readonly LIMITS_OFF=("RATE_LIMIT_IP=off" "RATE_LIMIT_SUBJECT=off")
readonly REDIS_ENV=("SESSION_BACKEND=redis" "REDIS_URL=$REDIS_URL" "SESSION_COOKIE=connect.sid")

HARNESS=instructions
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
MINIMAL_BIN="$TARGET_DIR/release/examples/bench-minimal"
OUT=${OUT:-$REPO/bench/results/instructions.md}
harness_init
REDIS_SEEDED=0
on_exit() {
    ((REDIS_SEEDED)) && timeout 5 redis-cli -h 127.0.0.1 -p 6379 del "sess:$REDIS_SID" >/dev/null 2>&1
    return 0
}

need valgrind curl openssl awk ss
build_release
log "building: cargo build --release --locked --example bench-minimal"
bounded env -C "$REPO" timeout 3600 cargo build --release --locked --example bench-minimal >&2 ||
    die "release build of bench-minimal failed"

COOKIE_ALICE="session=$(signed_cookie_value "$SESSION_SECRET" alice)"
readonly MANY_KEYS=1000 MANY_ADDRS=100
MANY_COOKIES="$TMP/cookies.txt"
env -i "SESSION_SECRET=$SESSION_SECRET" "$MINIMAL_BIN" cookies "$MANY_KEYS" >"$MANY_COOKIES"
COOKIE_REDIS="connect.sid=$(signed_cookie_value "$SESSION_SECRET" "$REDIS_SID")"

# quanta (governor's clock) calibrates the TSC once at start-up in a busy
# loop that runs for a time, not a number of rounds: under callgrind its
# count changes from run to run by millions. It is start-up work, which the
# difference of two runs cancels anyway, so it is not counted at all.
CALLGRIND_OPTS=(--toggle-collect='quanta::Calibration::calibrate' --collect-atstart=yes) # this order: a toggle turns collect-atstart off

listening_on() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

# count_run N WHAT ENV... -> prints the instructions (all threads) a
# process made while serving N token requests, start to exit. WHAT is
# `service` or `minimal`.
count_run() {
    local n=$1 what=$2 port out cmd pid i
    shift 2
    port=$(free_port)
    out="$TMP/callgrind.$what.$n.$RANDOM"
    cmd=("${SERVICE_BIN:-$BIN}" serve)
    [[ $what == minimal ]] && cmd=("$MINIMAL_BIN")
    # No request before the counted ones (a readiness poll would be counted):
    # wait for the listening socket, then curl queues on it.
    (cd "$TMP/run" && exec env -i PATH="$PATH" "${BASE_ENV[@]}" "PORT=$port" "$@" \
        valgrind --tool=callgrind --callgrind-out-file="$out" "${CALLGRIND_OPTS[@]}" "${cmd[@]}") >"$TMP/$what.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    POLL_PAUSE=0.1 wait_ready 120 "$pid" "$TMP/$what.log" "$what under callgrind" listening_on "$port" ||
        die "$what did not listen on $port"
    # One curl, N transfers on one keep-alive connection, one at a time.
    if [[ $COOKIE == many ]]; then
        # Request i: the i-th of MANY_KEYS cookies, address 10.0.<i mod MANY_ADDRS>;
        # `next` starts each transfer's own options (the connection stays).
        awk -v n="$n" -v port="$port" -v origin="$ORIGIN" -v addrs="$MANY_ADDRS" '
            { c[NR - 1] = $0 }
            END {
                for (i = 0; i < n; i++) {
                    printf "url = \"http://127.0.0.1:%s/api/realtime-token\"\noutput = \"/dev/null\"\n", port
                    printf "request = \"POST\"\nwrite-out = \"%%{http_code}\\n\"\n"
                    printf "header = \"Origin: %s\"\nheader = \"Cookie: session=%s\"\n", origin, c[i % NR]
                    printf "header = \"X-Forwarded-For: 10.0.%d.%d\"\n", int((i % addrs) / 256), (i % addrs) % 256
                    if (i < n - 1) print "next"
                }
            }' "$MANY_COOKIES" >"$TMP/curl.cfg"
    else
        {
            printf -- '-X POST\n-H "Origin: %s"\n-H "Cookie: %s"\n-w "%%{http_code}\\n"\n' "$ORIGIN" "$COOKIE"
            for ((i = 0; i < n; i++)); do
                printf 'url = "http://127.0.0.1:%s/api/realtime-token"\noutput = "/dev/null"\n' "$port"
            done
        } >"$TMP/curl.cfg"
    fi
    bounded timeout 1800 curl -sS --config "$TMP/curl.cfg" >"$TMP/codes.txt" || die "curl failed for $what (exit $?)"
    local ok
    ok=$(grep -c '^200$' "$TMP/codes.txt" || true)
    ((ok == n)) || die "$what answered $ok of $n requests with 200: $(sort "$TMP/codes.txt" | uniq -c | tr '\n' ' ')"
    kill -TERM "$pid"
    for ((i = 0; i < 600; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
    [[ -s $out ]] || { tail -n 20 "$TMP/$what.log" >&2; die "callgrind wrote no profile for $what"; }
    awk '$1 == "summary:" { print $2 }' "$out"
    rm -f "$out"
}

# Row results.
declare -A LABEL PER_REQ SPREAD BACKEND_OF
ROWS=()

# measure ID LABEL WHAT COOKIE ENV...
#   COOKIE `many`: rotate MANY_KEYS cookies and MANY_ADDRS addresses; both
#   runs first send MANY_KEYS requests more, so that the counted ones meet
#   keys already seen (the steady state, not first insertions).
measure() {
    local id=$1 label=$2 what=$3
    COOKIE=$4
    shift 4
    if [[ -n $ONLY && ",$ONLY," != *",$id,"* ]]; then return; fi
    local r per=() i1 i2 n1=$N1 n2=$N2
    [[ $COOKIE == many ]] && n1=$((N1 + MANY_KEYS)) n2=$((N2 + MANY_KEYS))
    for ((r = 0; r < REPEAT; r++)); do
        log "$id: $n1 requests"
        i1=$(count_run "$n1" "$what" "$@")
        log "$id: $n2 requests"
        i2=$(count_run "$n2" "$what" "$@")
        per+=("$(((i2 - i1) / (N2 - N1)))")
        log "$id: I($n1) = $i1, I($n2) = $i2, per request ${per[-1]}"
    done
    LABEL[$id]=$label
    PER_REQ[$id]=$(printf '%s\n' "${per[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    SPREAD[$id]=$(printf '%s\n' "${per[@]}" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR > 1) printf "%d–%d", lo, hi }')
    ROWS+=("$id")
}

mkdir -p "$TMP/run"
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')

lean=(RUST_LOG=warn METRICS=off "${LIMITS_OFF[@]}")
log_only=(RUST_LOG=info METRICS=off "${LIMITS_OFF[@]}")
metrics_only=(RUST_LOG=warn METRICS=on "${LIMITS_OFF[@]}")
limits_only=(RUST_LOG=warn METRICS=off "${LIMITS_ON[@]}")
default=(RUST_LOG=info METRICS=on "${LIMITS_ON[@]}")

measure minimal "minimal actix endpoint (bench/minimal)" minimal "$COOKIE_ALICE"
measure minimal-many "minimal actix endpoint, many keys" minimal many
for backend in signed-cookie redis; do
    cookie=$COOKIE_ALICE
    extra=()
    if [[ $backend == redis ]]; then
        [[ $(timeout 5 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]] ||
            die "no redis answering on 127.0.0.1:6379 (needed by the redis rows; --rows skips them)"
        timeout 5 redis-cli -h 127.0.0.1 -p 6379 set "sess:$REDIS_SID" "$REDIS_DOC" EX 86400 >/dev/null
        REDIS_SEEDED=1
        cookie=$COOKIE_REDIS
        extra=("${REDIS_ENV[@]}")
    fi
    measure "$backend-lean" "$backend, lean (log, metrics, limits off)" service "$cookie" "${extra[@]}" "${lean[@]}"
    measure "$backend-log" "$backend, access log only" service "$cookie" "${extra[@]}" "${log_only[@]}"
    measure "$backend-metrics" "$backend, metrics only" service "$cookie" "${extra[@]}" "${metrics_only[@]}"
    measure "$backend-limits" "$backend, rate limits only" service "$cookie" "${extra[@]}" "${limits_only[@]}"
    measure "$backend-default" "$backend, default (log, metrics, limits on)" service "$cookie" "${extra[@]}" "${default[@]}"
done
measure signed-cookie-default-many "signed-cookie, default, many keys" service many "${default[@]}" \
    TRUSTED_PROXIES=127.0.0.1

minimal_of() { [[ $1 == *many ]] && echo minimal-many || echo minimal; } # ID -> its yardstick
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "–" }'; }

report() {
    echo "# Instructions per token request"
    echo
    echo "- date: $DATE_START; commit: $(git_rev); $(valgrind --version), $(rustc --version 2>/dev/null || echo rustc)"
    echo "- command: \`N1=$N1 N2=$N2 REPEAT=$REPEAT${SERVICE_BIN:+ SERVICE_BIN=$SERVICE_BIN} bench/instructions.sh${ONLY:+ --rows $ONLY}\`"
    echo "- load average at start: $LOADAVG_START; at end: $(cut -d' ' -f1-3 /proc/loadavg) (instruction counts do not depend on it)"
    [[ -z ${SERVICE_BIN:-} ]] || echo "- the service binary counted is \`$SERVICE_BIN\`, not the build of this commit"
    echo "- method: release build under \`valgrind --tool=callgrind\`, \`WORKERS=1\`; curl in another process"
    echo "  sends N requests one after another on one keep-alive connection (\`POST /api/realtime-token\`"
    echo "  with a valid session cookie and an allowed \`Origin\`, every answer checked to be 200);"
    echo "  per request = (I($N2) − I($N1)) / $((N2 - N1)), I = instructions of the whole process (all"
    echo "  threads, user space; Redis's own work is not counted). Many keys: request i carries the"
    echo "  (i mod $MANY_KEYS)-th of $MANY_KEYS signed cookies and the address 10.0.x.y (i mod $MANY_ADDRS) in"
    echo "  X-Forwarded-For from the trusted 127.0.0.1; both runs send $MANY_KEYS requests more first, so"
    echo "  the counted ones meet keys already seen. The × lean column of that row is against the"
    echo "  one-key lean row."
    echo
    echo "| row | instructions per request | × lean of its backend | × minimal endpoint |"
    echo "| --- | ---: | ---: | ---: |"
    local id lean_id spread
    for id in "${ROWS[@]}"; do
        lean_id="${id%-many}"
        lean_id="${lean_id%-*}-lean"
        spread=${SPREAD[$id]:+ (${SPREAD[$id]})}
        printf '| %s | %s%s | %s | %s |\n' "${LABEL[$id]}" "${PER_REQ[$id]}" "$spread" \
            "$( [[ $id == minimal* ]] && echo – || ratio "${PER_REQ[$id]}" "${PER_REQ[$lean_id]:-0}")" \
            "$(ratio "${PER_REQ[$id]}" "${PER_REQ[$(minimal_of "$id")]:-0}")"
    done
}

mkdir -p "$(dirname "$OUT")"
report >"$OUT"
cat "$OUT"
log "written to $OUT"
