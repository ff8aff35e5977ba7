#!/usr/bin/env bash
# Build the STAND-IN for the lab's desktop image (cosi119/tb3-ros) on the project's Docker engine, for the
# desktop_docker tests. No registry is involved: the Dockerfile starts FROM the project's local base image
# (scripts/build-images.sh). The image is tagged like the real one, plain and with the -cuda suffix:
#
#   roverlab/tb3-ros-standin:v2.1.1        roverlab/tb3-ros-standin:v2.1.1-cuda
#
#   build.sh            build unless the engine holds an image built from the same files (prints "up to date")
#   build.sh --remove   remove both tags (what the molecule scenario's destroy step does)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"

IMAGE=${DESKTOP_STANDIN_IMAGE:-roverlab/tb3-ros-standin}
TAGS=(v2.1.1 v2.1.1-cuda)
BASE=roverlab/debian12-systemd:bookworm

if [ "${1:-}" = "--remove" ]; then
  for tag in "${TAGS[@]}"; do
    if docker image inspect "$IMAGE:$tag" >/dev/null 2>&1; then docker image rm "$IMAGE:$tag" >/dev/null; fi
  done
  echo "$IMAGE removed"
  exit 0
fi

"$REPO/scripts/build-images.sh" >/dev/null
# the cache key: the build context and the base image it starts from
key=$( (cd "$HERE" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - Dockerfile standin_desktop.py seed \
  && docker image inspect -f '{{.Id}}' "$BASE") | sha256sum | cut -c1-12)
up_to_date=true
for tag in "${TAGS[@]}"; do
  if [ "$(docker image inspect -f '{{index .Config.Labels "roverlab.standin.key"}}' "$IMAGE:$tag" 2>/dev/null)" != "$key" ]; then
    up_to_date=false
  fi
done
if $up_to_date; then
  echo "$IMAGE up to date ($key)"
  exit 0
fi
log=$(mktemp)
tag_args=()
for tag in "${TAGS[@]}"; do tag_args+=(-t "$IMAGE:$tag"); done
# the classic builder resolves FROM against the local image store and never asks a registry
DOCKER_BUILDKIT=0 docker build --quiet --label "roverlab.standin.key=$key" --label roverlab.standin=true \
  "${tag_args[@]}" "$HERE" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
rm -f "$log"
echo "$IMAGE built ($key)"
