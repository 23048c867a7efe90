#!/usr/bin/env bash
# Assembles the container's whole root filesystem in a folder: the dvc binary, exactly the shared
# libraries it loads (found with ldd, so libpq's own dependencies come along), CA certificates,
# the user and group files for the non-root user, the committed configuration and demo tenants,
# and the attachments directory owned by that user. Nothing else: no shell, no package manager.
#
# The Dockerfile runs this in its build stage and copies the folder into an empty image, so the
# same script, run here, gives the image's exact contents for tests (tests/integration/deploy.rs
# runs dvc inside it with chroot) and for the size figure (bench/deploy.sh).
#   scripts/image-rootfs.sh <dvc-binary> <out-dir>
set -euo pipefail
bin=${1:?usage: image-rootfs.sh <dvc-binary> <out-dir>}
out=${2:?usage: image-rootfs.sh <dvc-binary> <out-dir>}
src=$(cd "$(dirname "$0")/.." && pwd)
APP_UID=10001

rm -rf "$out"
mkdir -p "$out"/{usr/local/bin,etc/ssl/certs,app,tmp,var/lib/dvc/attachments}
chmod 1777 "$out/tmp"
cp "$bin" "$out/usr/local/bin/dvc"
strip "$out/usr/local/bin/dvc" 2>/dev/null || true

# Every library the dynamic loader resolves, plus the loader itself, at the same paths. The real
# file is copied under the name the binary asks for (the soname links are not needed).
ldd "$bin" | awk '/=> \// {print $3} /^[[:space:]]*\/[^ ]*ld-linux/ {print $1}' | sort -u |
  while read -r lib; do
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done

cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\ndvc:x:%s:%s:dvc:/app:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' \
  $APP_UID $APP_UID >"$out/etc/passwd"
printf 'root:x:0:\ndvc:x:%s:\nnogroup:x:65534:\n' $APP_UID >"$out/etc/group"
# glibc resolves names with its built-in files and dns sources (merged into libc since 2.34).
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$out/etc/nsswitch.conf"

cp -r "$src/config" "$out/app/config"
cp -r "$src/tenants" "$out/app/tenants"
# The attachments volume must be the app user's, or the first upload fails.
chown -R $APP_UID:$APP_UID "$out/var/lib/dvc"
