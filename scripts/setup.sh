#!/usr/bin/env bash
# Bring a fresh Debian 12 machine to a working state for this collection: apt packages, a
# virtualenv with the pinned Python dependencies, and the collection dependencies.
# Network needed: Debian's archive, PyPI and (only without a Go >= the k3s stand-in's) the Go module proxy. Re-running it changes nothing and takes ~1 s.
#
#   scripts/setup.sh            everything
#   SETUP_SKIP_APT=1 ...        skip the apt step (non-root workstation that already has the packages)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"

log() { printf '[setup] %s\n' "$*"; }

# --- 1. apt packages ---------------------------------------------------------------------
APT_PACKAGES=(
  # controller: Debian's Python for the virtualenv, git and rsync for the build/test copies
  python3 python3-venv git rsync ca-certificates
  # local lab and molecule: Docker engine, registry-free base image build, the runc wrapper's jq
  docker.io containerd runc iptables mmdebstrap jq
  # robot hosts: network namespaces, their sshd, and real ROS 1 from Debian
  iproute2 openssh-server openssh-client python3-roslaunch python3-rospy python3-rostopic python3-rosnode
  # ros_launch tests: a stand-in robot whose clock is off (max_clock_skew)
  libfaketime
  # ansible-test sanity's shellcheck test
  shellcheck
  # k3s unit tests: render the containerd templates with Go's real text/template, as k3s does
  golang-go
  # NVIDIA toolkit molecule scenario: signing the stand-in apt repository (dpkg-deb comes with dpkg)
  gpg
  # browser tests of the desktops: Debian's Chromium, driven by Playwright from the venv; fonts for its pages
  chromium fonts-liberation
)
if [ "${SETUP_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt: installing ${missing[*]}"
    SUDO=(); [ "$(id -u)" -eq 0 ] || SUDO=(sudo)
    "${SUDO[@]}" apt-get update -qq
    # policy-rc.d-less machines would start dockerd from the package; the lab runs its own engine
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    log "apt: all ${#APT_PACKAGES[@]} packages present"
  fi
fi

# --- 2. virtualenv -----------------------------------------------------------------------
stamp_of() { cat "$@" | sha256sum | cut -c1-16; }
want=$(stamp_of "$REPO/requirements.txt" "$REPO/constraints.txt")
if [ "$(cat "$VENV/.setup-stamp" 2>/dev/null)" != "$want" ]; then
  log "venv: installing requirements.txt into $VENV"
  [ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    -r "$REPO/requirements.txt" -c "$REPO/constraints.txt" 2> >(grep -v 'is ignored: it is neither' >&2)
  echo "$want" > "$VENV/.setup-stamp"
else
  log "venv: up to date"
fi

# --- 3. collection dependencies ------------------------------------------------------------
# Galaxy is unreachable: the versions in requirements.yml come out of the PyPI `ansible` wheel.
ANSIBLE_WHEEL_VERSION=$(sed -n 's/^# source: ansible==\([0-9.]*\).*/\1/p' "$REPO/requirements.yml")
want=$(stamp_of "$REPO/requirements.yml")
if [ "$(cat "$DEPS_COLLECTIONS/.setup-stamp" 2>/dev/null)" != "$want" ]; then
  wheel="$CACHE/downloads/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl"
  if [ ! -s "$wheel" ]; then
    log "collections: downloading ansible==$ANSIBLE_WHEEL_VERSION from PyPI (wheel only, not installed)"
    "$VENV/bin/python" -m pip download -q --no-deps -d "$CACHE/downloads" "ansible==$ANSIBLE_WHEEL_VERSION" \
      2> >(grep -v 'is ignored: it is neither' >&2)
  fi
  log "collections: extracting into $DEPS_COLLECTIONS"
  rm -rf "$DEPS_COLLECTIONS"
  "$VENV/bin/python" "$REPO/scripts/extract_collections.py" "$wheel" "$REPO/requirements.yml" "$DEPS_COLLECTIONS"
  echo "$want" > "$DEPS_COLLECTIONS/.setup-stamp"
else
  log "collections: up to date"
fi
# --- 4. Go toolchain for the k3s stand-in ----------------------------------------------------
# tests/standins/k3s needs the Go its go.mod names. A Go on PATH that is new enough is used as it is;
# otherwise (Debian's golang-go is 1.19) that older Go fetches the toolchain module from the Go module
# proxy into .cache/go/toolchain, next to nothing installed system-wide. build.py looks there first.
GO_MIN=$(awk '$1 == "go" {print $2; exit}' "$REPO/tests/standins/k3s/go.mod")
GO_FETCH=1.26.8
TOOLCHAIN=$CACHE/go/toolchain
go_new_enough() {
  local have
  have=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$GO_MIN" "$have" | sort -V | head -n1)" = "$GO_MIN" ]
}
path_go=$(command -v go || true)
if [ -n "$path_go" ] && go_new_enough "$path_go"; then
  log "go: $("$path_go" env GOVERSION) on PATH (>= $GO_MIN)"
elif [ -x "$TOOLCHAIN/bin/go" ] && go_new_enough "$TOOLCHAIN/bin/go"; then
  log "go: $("$TOOLCHAIN/bin/go" env GOVERSION) in $TOOLCHAIN"
else
  old_go=${path_go:-/usr/bin/go}
  log "go: fetching go$GO_FETCH (the toolchain module) into $TOOLCHAIN"
  module=golang.org/toolchain@v0.0.1-go$GO_FETCH.linux-amd64
  dir=$(cd /tmp && GOMODCACHE="$CACHE/go/mod" GOFLAGS=-mod=mod GO111MODULE=on "$old_go" mod download -json "$module" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -x "$dir/bin/go" ] || [ -f "$dir/bin/go" ] || { log "go: the toolchain module has no bin/go"; exit 1; }
  rm -rf "$TOOLCHAIN.tmp"
  cp -r "$dir" "$TOOLCHAIN.tmp"
  chmod -R u+w "$TOOLCHAIN.tmp"
  chmod +x "$TOOLCHAIN.tmp"/bin/* "$TOOLCHAIN.tmp"/pkg/tool/*/*
  rm -rf "$TOOLCHAIN"
  mv "$TOOLCHAIN.tmp" "$TOOLCHAIN"
  go_new_enough "$TOOLCHAIN/bin/go" || { log "go: $TOOLCHAIN/bin/go does not run"; exit 1; }
fi
log "done: activate with '. $VENV/bin/activate' or call $VENV/bin/ansible-playbook"
