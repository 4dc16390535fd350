# syntax=docker/dockerfile:1
# Build: docker build -t realtime-token .
# Run:   docker run --rm -p 8080:8080 --env-file .env realtime-token

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src ./src
# Served at GET /openapi.yaml (compiled in with include_str!).
COPY openapi.yaml ./
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin realtime-token

FROM debian:bookworm-slim
# The system's CA roots: rediss:// (and an https upstream or JWKS URL) verify against them.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home realtime
COPY --from=build /src/target/release/realtime-token /usr/local/bin/realtime-token
USER 10001
ENV HOST=0.0.0.0 PORT=8080 RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/realtime-token", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/realtime-token"]
CMD ["serve"]
