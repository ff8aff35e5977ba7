#!/usr/bin/env bash
# Save the images the lab's nodes need into DIR as docker-save tarballs (scripts/lab/up.yml copies every
# *.tar there into the nodes' /var/lib/rancher/k3s/agent/images, which k3s imports at start). A tarball is
# only rewritten when its image changed, so a second `scripts/lab.sh up` changes nothing.
#
#   save-images.sh DIR
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"
dir=${1:?usage: save-images.sh DIR}
mkdir -p "$dir"

# the STAND-IN desktop image (tests/standins/desktop_image), tagged like the real one's default name
"$REPO/tests/standins/desktop_image/build.sh" >/dev/null
images=(roverlab/tb3-ros-standin:v2.1.1)

for image in "${images[@]}"; do
  name=$(echo "$image" | tr '/:' '__')
  id=$(docker image inspect -f '{{.Id}}' "$image")
  if [ "$(cat "$dir/$name.id" 2>/dev/null)" = "$id" ] && [ -s "$dir/$name.tar" ]; then
    continue
  fi
  docker save -o "$dir/$name.tar.tmp" "$image"
  mv "$dir/$name.tar.tmp" "$dir/$name.tar"
  echo "$id" > "$dir/$name.id"
  echo "saved $image to $dir/$name.tar"
done
