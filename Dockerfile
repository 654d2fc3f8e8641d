# teller's production image: one binary, run as PID 1 by a non-root user.
# Every App Platform component uses this image and picks its role with TELLER_ROLE.
#
# Expected size: about 45 MB uncompressed (distroless cc, about 23 MB, plus the stripped
# binary, about 22 MB, plus the baseline flows). The debian:bookworm-slim runtime it replaces
# came to about 105 MB.

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

# Then the crate itself. Migrations, the baseline flows, the bank's default rules and the
# console and simulator pages are embedded in the binary at compile time.
COPY src ./src
COPY migrations ./migrations
COPY flows ./flows
COPY config ./config
COPY assets ./assets
# Not embedded: the Flow JSON and the templates `teller whatsapp … push` reads by default, so
# it can run from a component's console.
COPY whatsapp ./whatsapp
RUN cargo build --release --locked \
 && strip target/release/teller \
 && mkdir -p /out/app \
 && cp target/release/teller /out/teller \
 && cp -r flows /out/app/flows \
 && cp -r whatsapp /out/app/whatsapp

# distroless/cc: glibc, libgcc, CA certificates (TLS to the Graph API, PostgreSQL with
# sslmode=require and Valkey over rediss://) and tzdata; no shell, no package manager.
# Debian 12, like the build stage, so the glibc the binary links against is there.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /out/teller /usr/local/bin/teller
# /app belongs to the non-root user: the embedded default writes teller.db there.
COPY --from=build --chown=65532:65532 /out/app /app
WORKDIR /app
ENV TELLER_ROLE=serve \
    PORT=8080 \
    FLOWS_DIR=/app/flows \
    LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
# `teller health` asks the process beside it (serve on $PORT, worker on $WORKER_PORT) for
# /health: the image has no shell and no curl. App Platform runs its own checks from the app
# spec; this one is for docker and compose.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/local/bin/teller", "health"]
# Exec form, no shell: teller is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["/usr/local/bin/teller"]
