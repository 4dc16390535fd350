# shellcheck shell=bash
# The token-signing rows of bench/run.sh: the signed-cookie token row again
# with JWT_ALGORITHM=ES256 and EdDSA (a key from `realtime-token keygen`),
# each compared with the HS256 token row of the same run. The time of one
# signature alone is bench/sign.sh's microbenchmark.
# Sourced by bench/run.sh; adds ids to SIGNING_ROWS and notes to SIGNING_NOTES.

SIGNING_ROWS=()
SIGNING_NOTES=()

run_signing_rows() {
    local alg id key
    for alg in ES256 EdDSA; do
        id=sign-$alg
        key="$TMP/$alg.pem"
        "$BIN" keygen --alg "$alg" --out "$key" 2>/dev/null || die "keygen --alg $alg failed"
        ROW_LIST=SIGNING_ROWS format_row "$id" "POST /api/realtime-token, signed cookie, $alg" "$COOKIE_ALICE" \
            "JWT_ALGORITHM=$alg" "JWT_PRIVATE_KEY_FILE=$key" "JWT_SECRET="
        SIGNING_NOTES+=("$alg token row / HS256 token row (same run): $(ratio "${R_RPS[$id]}" "${R_RPS[token]:-0}")x")
    done
    SIGNING_NOTES+=("sign and verify time per token, per algorithm: bench/sign.sh (a microbenchmark, one thread)")
}
