# shellcheck shell=bash
# The room source rows of bench/run.sh: ROOMS_QUERY asked on every request
# (ROOMS_CACHE_TTL=0, the default) and with a 5 s cache, beside the
# signed-cookie token row; and the postgres session backend with and
# without ROOMS_QUERY on the same DATABASE_URL (one shared pool). The
# tables (a memberships table, a connect-pg-simple session table) are made
# and dropped by the run. Sourced by bench/run.sh after formats.sh; adds
# ids to ROOMS_ROWS and notes to ROOMS_NOTES.

ROOMS_ROWS=()
ROOMS_NOTES=()
readonly BENCH_ROOMS_TABLE=rt_bench_memberships BENCH_ROOMS_SESSIONS=rt_bench_rooms_session
# alice is a member of one document among 20,001 rows (1000 other users
# with 20 each), so her token is as small as the signed-cookie row's and the
# row measures the lookup; `file-` is outside REALTIME_ROOMS (document-*),
# so the token's second room comes from the query.
readonly BENCH_ROOMS_QUERY="select 'file-' || document_id from $BENCH_ROOMS_TABLE where user_id = \$1 and (\$2::text[] is null or 'file-' || document_id = any(\$2)) order by document_id"

rooms_row() { ROW_LIST=ROOMS_ROWS format_row "$@"; } # ID LABEL COOKIE ENV...

rooms_cleanup() {
    psql_bench -c "DROP TABLE IF EXISTS $BENCH_ROOMS_TABLE" -c "DROP TABLE IF EXISTS $BENCH_ROOMS_SESSIONS" 2>/dev/null || true
}

run_rooms_rows() {
    if ! psql_bench -c "DROP TABLE IF EXISTS $BENCH_ROOMS_TABLE" \
        -c "CREATE TABLE $BENCH_ROOMS_TABLE (user_id text NOT NULL, document_id bigint NOT NULL, PRIMARY KEY (user_id, document_id))" \
        -c "INSERT INTO $BENCH_ROOMS_TABLE VALUES ('alice', 7)" \
        -c "INSERT INTO $BENCH_ROOMS_TABLE SELECT 'user-' || u, n FROM generate_series(1, 1000) u, generate_series(1, 20) n" \
        -c "DROP TABLE IF EXISTS $BENCH_ROOMS_SESSIONS" \
        -c "CREATE TABLE $BENCH_ROOMS_SESSIONS (sid varchar PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)" \
        -c "INSERT INTO $BENCH_ROOMS_SESSIONS VALUES ('$REDIS_SID', '$REDIS_DOC', now() + interval '1 hour')"; then
        local id
        for id in rooms-query rooms-query-cached rooms-postgres rooms-postgres-query; do
            na_row "$id" "room source row $id" "no PostgreSQL at $BENCH_DATABASE_URL"
            ROOMS_ROWS+=("$id")
        done
        return
    fi
    local query=("ROOMS_QUERY=$BENCH_ROOMS_QUERY" "DATABASE_URL=$BENCH_DATABASE_URL")
    rooms_row rooms-query "POST /api/realtime-token, signed cookie + ROOMS_QUERY (every request asks)" \
        "$COOKIE_ALICE" "${query[@]}"
    rooms_row rooms-query-cached "POST /api/realtime-token, signed cookie + ROOMS_QUERY, ROOMS_CACHE_TTL=5s" \
        "$COOKIE_ALICE" "${query[@]}" ROOMS_CACHE_TTL=5s
    local postgres=(SESSION_BACKEND=postgres "DATABASE_URL=$BENCH_DATABASE_URL" "SESSION_PG_TABLE=$BENCH_ROOMS_SESSIONS")
    rooms_row rooms-postgres "POST /api/realtime-token, postgres session" "$COOKIE_REDIS" "${postgres[@]}"
    rooms_row rooms-postgres-query "POST /api/realtime-token, postgres session + ROOMS_QUERY (one pool)" \
        "$COOKIE_REDIS" "${postgres[@]}" "ROOMS_QUERY=$BENCH_ROOMS_QUERY"
    local id cpu=""
    for id in token rooms-query rooms-query-cached rooms-postgres rooms-postgres-query; do
        cpu+="; $id ${R_CPU_SVC[$id]:-?} + ${R_CPU_PG[$id]:-?}"
    done
    ROOMS_NOTES+=("CPU-µs per request, service + PostgreSQL (wrk and the rest share the 2 cores)${cpu}")
    ROOMS_NOTES+=("room source ratios (same run): rooms-query / signed-cookie $(ratio "${R_RPS[rooms-query]}" "${R_RPS[token]:-0}"); rooms-query-cached / signed-cookie $(ratio "${R_RPS[rooms-query-cached]}" "${R_RPS[token]:-0}"); rooms-postgres-query / rooms-postgres $(ratio "${R_RPS[rooms-postgres-query]}" "${R_RPS[rooms-postgres]:-0}")")
}
