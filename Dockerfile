# syntax=docker/dockerfile:1
# dvc: multi-stage build. The dependency layer is built from the manifests alone and cached
# separately from the sources; the runtime image holds the binary, libpq, CA certificates and
# the committed configuration, and runs as a non-root user on a read-only root filesystem.
# Templates, migrations and the holiday calendar are compiled into the binary.

FROM rust:1.88-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# 1. Dependencies only: stub targets with the real manifests (and build.rs's input folder).
COPY Cargo.toml Cargo.lock build.rs ./
COPY migrations migrations
RUN mkdir -p src bench \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && for e in hello tenancy mail auth dossiers; do echo 'fn main() {}' > bench/$e.rs; done \
 && cargo build --release --locked --bin dvc \
 && rm -rf src bench target/release/.fingerprint/dvc-*
# 2. The application.
COPY src src
COPY templates templates
COPY config config
COPY bench bench
RUN cargo build --release --locked --bin dvc \
 && strip target/release/dvc

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin dvc
WORKDIR /app
COPY --from=build /src/target/release/dvc /usr/local/bin/dvc
COPY config /app/config
COPY tenants /app/tenants
# The attachments volume must be the app user's, or the first upload fails.
RUN mkdir -p /var/lib/dvc/attachments && chown -R 10001:10001 /var/lib/dvc
ENV DVC_CONFIG_DIR=/app/config \
    DVC_ENV=production \
    DVC__SERVER__HOST=0.0.0.0 \
    DVC__SERVER__PORT=8080 \
    DVC__LOG__FORMAT=json \
    DVC__DOSSIERS__STORAGE_ROOT=/var/lib/dvc/attachments
# Attachments live on a mounted volume; nothing else is written.
VOLUME ["/var/lib/dvc"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["dvc", "health"]
ENTRYPOINT ["dvc"]
CMD ["serve"]
