# shellcheck shell=bash
# The production-at-scale rows of bench/run.sh: the redis backend over TLS
# (a private TLS-only redis-server with a test CA made by openssl), and
# RATE_LIMIT_STORE=redis with the signed-cookie and the redis backends.
# Sourced by bench/run.sh; adds ids to SCALE_ROWS and notes to SCALE_NOTES.

SCALE_ROWS=()
SCALE_NOTES=()

# Starts a TLS-only redis-server on a free port with a certificate for
# localhost; sets TLS_PORT and TLS_CA.
start_tls_redis() {
    local dir="$TMP/redis-tls"
    mkdir -p "$dir"
    (
        cd "$dir" &&
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=bench CA" &&
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost &&
            printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf &&
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile ext.cnf
    ) >"$TMP/openssl.log" 2>&1 || return 1
    TLS_PORT=$(free_port)
    PLAIN_PORT=$(free_port)
    TLS_CA="$dir/ca.pem"
    # One server, two listeners: the plain one is the TLS row's yardstick
    # (the shared server on 6379 is configured and loaded differently).
    (cd "$dir" && exec redis-server --port "$PLAIN_PORT" --tls-port "$TLS_PORT" --tls-cert-file server.pem \
        --tls-key-file server.key --tls-ca-cert-file ca.pem --tls-auth-clients no --save "" --appendonly no) \
        >"$TMP/redis-tls.log" 2>&1 &
    PIDS+=("$!")
    local i
    for ((i = 0; i < 100; i++)); do
        [[ $(timeout 2 redis-cli --tls --cacert "$TLS_CA" -h localhost -p "$TLS_PORT" ping 2>/dev/null) == PONG ]] &&
            return 0
        sleep 0.05
    done
    return 1
}

scale_row() { ROW_LIST=SCALE_ROWS format_row "$@"; } # ID LABEL COOKIE ENV...

run_scale_rows() {
    # Shared limits: high enough never to trigger (and so leased 64 tokens
    # a trip), so the rows measure what a shared check costs at a high rate.
    local shared=(RATE_LIMIT_STORE=redis "REDIS_URL=$REDIS_URL")
    scale_row limits-shared "POST /api/realtime-token, signed cookie, RATE_LIMIT_STORE=redis" "$COOKIE_ALICE" \
        "${shared[@]}"
    if ((REDIS_SEEDED)); then
        scale_row redis-limits-shared "POST /api/realtime-token, redis session, RATE_LIMIT_STORE=redis" \
            "$COOKIE_REDIS" "${REDIS_ENV[@]}" "${shared[@]}"
        if start_tls_redis; then
            timeout 5 redis-cli --tls --cacert "$TLS_CA" -h localhost -p "$TLS_PORT" \
                set "$REDIS_KEY" "$REDIS_DOC" EX 3600 >/dev/null
            scale_row redis-plain "POST /api/realtime-token, redis session, private server, plain TCP" \
                "$COOKIE_REDIS" SESSION_BACKEND=redis "REDIS_URL=redis://localhost:$PLAIN_PORT" \
                SESSION_COOKIE=connect.sid
            scale_row redis-tls "POST /api/realtime-token, redis session, private server, TLS (rediss://)" \
                "$COOKIE_REDIS" SESSION_BACKEND=redis "REDIS_URL=rediss://localhost:$TLS_PORT" \
                "REDIS_CA_FILE=$TLS_CA" SESSION_COOKIE=connect.sid
        else
            na_row redis-tls "POST /api/realtime-token, redis session, private server, TLS" "no TLS redis-server"
            SCALE_ROWS+=(redis-tls)
        fi
    fi
    local id out=()
    for id in "${SCALE_ROWS[@]}"; do
        case $id in
            limits-shared) out+=("$id / signed-cookie $(ratio "${R_RPS[$id]}" "${R_RPS[token]:-0}")") ;;
            redis-plain) ;;
            redis-tls) out+=("$id / redis-plain $(ratio "${R_RPS[$id]}" "${R_RPS[redis-plain]:-0}")") ;;
            *) out+=("$id / redis $(ratio "${R_RPS[$id]}" "${R_RPS[redis]:-0}")") ;;
        esac
    done
    local IFS=';'
    SCALE_NOTES+=("same-run ratios: $(echo "${out[*]}" | sed 's/;/; /g')")
}
