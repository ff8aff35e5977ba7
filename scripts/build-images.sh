#!/usr/bin/env bash
# Build the container images the lab and the molecule scenarios use, without any registry.
#
#   roverlab/debian12-systemd:bookworm   Debian 12 with systemd as PID 1 (a "rover node")
#
# The root filesystem is made by mmdebstrap from Debian's archive and cached as a tarball in
# .cache/images, keyed by the package list; `docker import` of a cached tarball takes ~4 s, and
# nothing at all happens when the engine already holds the image with the same key.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"

IMAGE=roverlab/debian12-systemd:bookworm
PACKAGES=python3,python3-apt,systemd,systemd-sysv,dbus,sudo,iproute2,ca-certificates,procps,curl,gnupg,kmod,iptables
# units that make no sense in a container, or that touch the host (getty on the host's tty1)
MASKED="getty.target console-getty.service getty@tty1.service systemd-firstboot.service systemd-udevd.service
systemd-modules-load.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount"

debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

key=$(printf '%s\n%s\n' "$PACKAGES" "$MASKED" | sha256sum | cut -c1-12)
if [ "$(docker image inspect -f '{{index .Config.Labels "roverlab.key"}}' "$IMAGE" 2>/dev/null)" = "$key" ]; then
  echo "$IMAGE up to date ($key)"
  exit 0
fi

mkdir -p "$CACHE/images" "$CACHE/tmp"
tarball=$CACHE/images/debian12-systemd-$key.tar
if [ ! -s "$tarball" ]; then
  mirror=$(debian_mirror)
  security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}
  root=$CACHE/tmp/rootfs-$key
  rm -rf "$root"
  echo "building the Debian 12 root filesystem from $mirror (about 30 s)"
  # shellcheck disable=SC2016  # $1 is expanded by mmdebstrap's hook shell, not here
  TMPDIR=$CACHE/tmp mmdebstrap --quiet --format=directory --variant=minbase --include="$PACKAGES" \
    --customize-hook='rm -f "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"; : > "$1/etc/machine-id"' \
    --customize-hook="systemctl --root=\"\$1\" mask $(echo "$MASKED" | tr '\n' ' ') >/dev/null" \
    bookworm "$root" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main"
  # The image ships empty apt lists; make them look old so that apt's cache_valid_time refreshes them.
  rm -f "$root/var/lib/apt/periodic/update-success-stamp"
  touch -d @0 "$root/var/lib/apt/lists"
  tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
fi
docker import --change 'ENV container=docker' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL roverlab.key=$key" \
  --change 'CMD ["/lib/systemd/systemd"]' "$tarball" "$IMAGE" >/dev/null
echo "$IMAGE imported ($key)"
