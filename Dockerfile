# teller's production image: one binary, run as PID 1 by a non-root user.
# Every App Platform component uses this image and picks its role with TELLER_ROLE.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src

# Dependencies first, in a layer of their own: it is rebuilt only when the manifests change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && echo '//! placeholder for the dependency layer' > src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/teller target/release/deps/teller-* target/release/deps/libteller-* \
           target/release/.fingerprint/teller-*

# Then the crate itself. Migrations are embedded in the binary at compile time.
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked && strip target/release/teller

FROM debian:bookworm-slim AS runtime
# CA certificates for TLS to the Graph API, PostgreSQL and Valkey; tzdata for BANK_TIMEZONE.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin teller \
 && mkdir -p /app \
 && chown teller:teller /app
COPY --from=build /src/target/release/teller /usr/local/bin/teller
COPY --chown=teller:teller flows /app/flows
WORKDIR /app
ENV TELLER_ROLE=serve \
    PORT=8080 \
    FLOWS_DIR=/app/flows \
    LOG_FORMAT=json
USER teller
EXPOSE 8080
# Exec form, no shell: teller is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["/usr/local/bin/teller"]
