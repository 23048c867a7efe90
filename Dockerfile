# syntax=docker/dockerfile:1
# dvc: multi-stage build. The dependency layer is built from the manifests alone and cached
# separately from the sources. The runtime image starts empty: scripts/image-rootfs.sh puts in
# the binary, exactly the shared libraries it loads (libpq and its own), CA certificates, the
# non-root user, the committed configuration and demo tenants, and nothing else (no shell, no
# package manager). It runs on a read-only root filesystem. Templates, migrations and the
# holiday calendar are compiled into the binary. tests/integration/deploy.rs runs dvc inside the
# same folder with chroot, read-only, as this user.

FROM rust:1.95-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev pkg-config binutils ca-certificates \
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
COPY scripts/image-rootfs.sh scripts/image-rootfs.sh
COPY tenants tenants
RUN scripts/image-rootfs.sh target/release/dvc /rootfs

FROM scratch AS runtime
COPY --from=build /rootfs/ /
# Ownership from another stage is not kept by every builder: the volume is the app user's, or
# the first upload fails.
COPY --from=build --chown=10001:10001 /rootfs/var/lib/dvc /var/lib/dvc
WORKDIR /app
ENV DVC_CONFIG_DIR=/app/config \
    DVC_ENV=production \
    DVC__SERVER__HOST=0.0.0.0 \
    DVC__SERVER__PORT=8080 \
    DVC__LOG__FORMAT=json \
    DVC__DOSSIERS__STORAGE_ROOT=/var/lib/dvc/attachments \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# Attachments live on a mounted volume; nothing else is written.
VOLUME ["/var/lib/dvc"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["dvc", "health"]
ENTRYPOINT ["dvc"]
CMD ["serve"]
