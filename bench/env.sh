# shellcheck shell=bash
# What every benchmark's service gets: fixed test secrets (never real ones),
# the browser origin it allows, and the environment of the default
# configuration. The rate limits are set so high that they never trigger but
# the limiter still does its bookkeeping: the defaults (60/min per subject)
# would turn a one-user load test into 429s. Sourced by bench/run.sh,
# throughput.sh, profile.sh and instructions.sh.

readonly JWT_SECRET=0123456789abcdef0123456789abcdef0123456789abcdef
readonly SESSION_SECRET=sess-secret-0123456789abcdef0123456789
readonly ORIGIN=http://localhost:3000
readonly BENCH_SERVICE_ENV=(
    "JWT_SECRET=$JWT_SECRET"
    "SESSION_SECRET=$SESSION_SECRET"
    "REALTIME_ROOMS=document-*"
    "HOST=127.0.0.1"
    "ALLOWED_ORIGINS=$ORIGIN"
    "RATE_LIMIT_IP=1000000000/s"
    "RATE_LIMIT_SUBJECT=1000000000/s"
)
