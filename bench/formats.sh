# shellcheck shell=bash
# The session-format rows of bench/run.sh: one service per format, loaded
# with a cookie that the format's real library wrote (the writers under
# tests/formats/, as in the tests). Sourced by bench/run.sh after its
# helpers; adds ids to FORMAT_ROWS and notes to FORMAT_NOTES.

FORMAT_ROWS=()
FORMAT_NOTES=()
readonly BENCH_DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
readonly BENCH_PG_TABLE=rt_bench_session BENCH_DJANGO_SCHEMA=rt_bench_django

# The first cookie a writer answers for REQUEST (JSON).
writer_cookie() { # NAME REQUEST
    writer_json "$1" "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)["cookies"][0])'
}

# A writer's whole JSON answer for REQUEST; installs the writer's packages
# (npm ci, or a venv in target/) when missing.
writer_json() { # NAME REQUEST
    local dir="$REPO/tests/formats/$1" venv="$REPO/target/venv-$1" cmd
    if [[ -f $dir/package.json ]]; then
        [[ -d $dir/node_modules ]] || bounded env -C "$dir" timeout 300 npm ci --no-audit --no-fund --silent >&2 ||
            return 1
        cmd=(node write.mjs)
    else
        if [[ ! -x $venv/bin/python ]]; then
            bounded timeout 300 python3 -m venv "$venv" >&2 &&
                bounded timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check -r "$dir/requirements.txt" >&2 &&
                cp "$dir/requirements.txt" "$venv/installed-requirements.txt" || return 1
        fi
        cmd=("$venv/bin/python" write.py)
    fi
    (cd "$dir" && printf '%s' "$2" | timeout 120 "${cmd[@]}")
}

# Runs one row: its own service with ENV..., checked with one 200; the id
# goes to the list ROW_LIST names (default FORMAT_ROWS).
format_row() { # ID LABEL COOKIE ENV...
    local id=$1 label=$2 cookie=$3
    local -n rows=${ROW_LIST:-FORMAT_ROWS}
    shift 3
    rows+=("$id")
    if [[ -z $cookie ]]; then
        na_row "$id" "$label" "its writer failed; see the log above"
        return
    fi
    start_service "service-$id" "$@"
    expect_status 200 POST "http://127.0.0.1:$SVC_PORT/api/realtime-token" "$cookie"
    METRICS_BASE="http://127.0.0.1:$SVC_PORT" ROUTE=/api/realtime-token \
        run_wrk "$id" "$label" 200 POST "http://127.0.0.1:$SVC_PORT/api/realtime-token" "$cookie"
    stop_pid "$SVC_PID"
}

psql_bench() { timeout 20 psql -X -q -v ON_ERROR_STOP=1 "$BENCH_DATABASE_URL" "$@" >/dev/null; }

formats_cleanup() {
    psql_bench -c "DROP TABLE IF EXISTS $BENCH_PG_TABLE" -c "DROP SCHEMA IF EXISTS $BENCH_DJANGO_SCHEMA CASCADE" 2>/dev/null || true
}

run_format_rows() {
    local secret_json="\"$SESSION_SECRET\"" cookie
    # connect-pg-simple's table, for the postgres row and django's yardstick.
    if psql_bench -c "DROP TABLE IF EXISTS $BENCH_PG_TABLE" \
        -c "CREATE TABLE $BENCH_PG_TABLE (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)" \
        -c "INSERT INTO $BENCH_PG_TABLE VALUES ('$REDIS_SID', '$REDIS_DOC', now() + interval '1 hour')"; then
        format_row postgres "POST /api/realtime-token, postgres session (connect-pg-simple)" "$COOKIE_REDIS" \
            SESSION_BACKEND=postgres "DATABASE_URL=$BENCH_DATABASE_URL" "SESSION_PG_TABLE=$BENCH_PG_TABLE"
    else
        na_row postgres "POST /api/realtime-token, postgres session" "no PostgreSQL at $BENCH_DATABASE_URL"
        FORMAT_ROWS+=(postgres)
    fi
    cookie=$(writer_cookie django "{\"database_url\": \"$BENCH_DATABASE_URL\", \"schema\": \"$BENCH_DJANGO_SCHEMA\",
        \"cases\": [{\"engine\": \"db\", \"secret\": $secret_json, \"user\": \"alice\"}]}") || cookie=""
    format_row django-db "POST /api/realtime-token, django session (db engine)" "$cookie" \
        SESSION_BACKEND=django "DATABASE_URL=$BENCH_DATABASE_URL" "SESSION_PG_TABLE=$BENCH_DJANGO_SCHEMA.django_session" \
        "SESSION_DJANGO_USER_TABLE=$BENCH_DJANGO_SCHEMA.auth_user"
    cookie=$(writer_cookie django "{\"database_url\": \"$BENCH_DATABASE_URL\", \"schema\": \"$BENCH_DJANGO_SCHEMA\",
        \"cases\": [{\"engine\": \"signed_cookies\", \"secret\": $secret_json, \"user\": \"alice\"}]}") || cookie=""
    format_row django-signed "POST /api/realtime-token, django session (signed_cookies)" "$cookie" \
        SESSION_BACKEND=django SESSION_DJANGO_ENGINE=signed_cookies
    cookie=$(writer_cookie flask "{\"cases\": [{\"secret\": $secret_json, \"user\": \"alice\"}]}") || cookie=""
    format_row flask "POST /api/realtime-token, flask session (Flask-Login)" "$cookie" SESSION_BACKEND=flask
    cookie=$(writer_cookie cookie-session "{\"cases\": [{\"keys\": [$secret_json], \"session\": {\"userId\": \"alice\"}}]}") ||
        cookie=""
    format_row cookie-session "POST /api/realtime-token, cookie-session" "$cookie" SESSION_BACKEND=cookie-session
    cookie=$(writer_cookie iron-session "{\"cases\": [{\"password\": $secret_json, \"cookieName\": \"app_session\",
        \"session\": {\"userId\": \"alice\"}}]}") || cookie=""
    format_row iron-session "POST /api/realtime-token, iron-session" "$cookie" \
        SESSION_BACKEND=iron-session SESSION_COOKIE=app_session
    local format
    for format in authjs next-auth; do
        cookie=$(writer_cookie authjs "{\"cases\": [{\"format\": \"$format\", \"secret\": $secret_json,
            \"token\": {\"sub\": \"alice\"}}]}") || cookie=""
        format_row "$format" "POST /api/realtime-token, $format (JWE)" "$cookie" "SESSION_BACKEND=$format"
    done
    # jwt-cookie with RS256 and the PEM public key jose generated.
    local jwt_json="$TMP/jwt-cookie.json" pem=""
    cookie=""
    if writer_json jwt-cookie '{"keys": {"k": "RS256"}, "cases": [{"key": "k", "alg": "RS256",
        "claims": {"sub": "alice"}, "name": "__session"}]}' >"$jwt_json"; then
        cookie=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["cookies"][0])' <"$jwt_json")
        pem=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["keys"]["k"]["pem"])' <"$jwt_json")
    fi
    format_row jwt-cookie "POST /api/realtime-token, jwt-cookie (RS256, PEM key)" "$cookie" \
        SESSION_BACKEND=jwt-cookie SESSION_COOKIE=__session SESSION_JWT_ALGORITHMS=RS256 "SESSION_JWT_KEY=$pem"
    # The same token every request: the row above is all cache hits; this
    # one verifies the RS256 signature each time.
    format_row jwt-cookie-nocache "POST /api/realtime-token, jwt-cookie (RS256, PEM key), SESSION_JWT_CACHE_SIZE=0" \
        "$cookie" SESSION_BACKEND=jwt-cookie SESSION_COOKIE=__session SESSION_JWT_ALGORITHMS=RS256 \
        "SESSION_JWT_KEY=$pem" SESSION_JWT_CACHE_SIZE=0
    FORMAT_NOTES+=("same-run ratios: $(format_ratios)")
}

# "row / yardstick" for each format row.
format_ratios() {
    local id base out=()
    for id in "${FORMAT_ROWS[@]}"; do
        base=token
        [[ $id == django-db ]] && base=postgres
        [[ $id == postgres ]] && base=redis
        out+=("$id / ${base/token/signed-cookie} $(ratio "${R_RPS[$id]}" "${R_RPS[$base]:-0}")")
    done
    local IFS=';'
    echo "${out[*]}" | sed 's/;/; /g'
}
