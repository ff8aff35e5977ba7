#!/usr/bin/env bash
# Put the images the lab's nodes need into DIR as docker-save tarballs; scripts/lab/up.yml links every *.tar
# there into the nodes' k3s images directory, which k3s imports at start (no registry is reachable). A tarball
# is only rewritten when its image changed, so a second `scripts/lab.sh up` changes nothing.
#
#   save-images.sh DIR
#
# The lab's desktops run the collection's own desktop image (roles/desktop_image, docs/desktop-image.md), built
# here on the project's engine by the desktop_image playbook, which also exports it (docker_image_export: the
# tarball is rewritten only when the image's ID changed). The playbook rebuilds the image only when its build
# context changed, so it is the one the role builds from this checkout. A cold build takes about 25 minutes on
# two cores (code-server from npm, tailscaled from Go; CI's build-desktop-image stage does it first, with the
# same work and cache directories); when the image is up to date the playbook takes well under a minute.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"
dir=${1:?usage: save-images.sh DIR}
tarball=roverlab-desktop-bookworm.tar
mkdir -p "$dir" "$CACHE/lab"
# anything else there (the stand-in desktop image of earlier labs) would be imported by the nodes as well
find "$dir" -maxdepth 1 -type f ! -name "$tarball" -delete

vars=$(mktemp)
trap 'rm -f "$vars"' EXIT
cat >"$vars" <<JSON
{"desktop_image_hosts": "localhost", "ansible_connection": "local", "ansible_python_interpreter": "$VENV/bin/python",
 "desktop_image_cuda": false,
 "desktop_image_work_dir": "$CACHE/desktop-image/work", "desktop_image_npm_cache_dir": "$CACHE/npm",
 "desktop_image_go_cache_dir": "$CACHE/go",
 "desktop_image_export_path": "$dir/$tarball"}
JSON
started=$(date +%s)
if ! "$VENV/bin/ansible-playbook" -i localhost, "$REPO/playbooks/desktop_image.yml" -e "@$vars" \
  >"$CACHE/lab/desktop-image.log" 2>&1; then
  tail -40 "$CACHE/lab/desktop-image.log" >&2
  echo "save-images: the desktop image build failed (whole log: $CACHE/lab/desktop-image.log)" >&2
  exit 1
fi
echo "desktop image roverlab/desktop:bookworm up to date, exported as $dir/$tarball ($(($(date +%s) - started)) s)"
