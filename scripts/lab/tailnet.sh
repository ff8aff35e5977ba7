#!/usr/bin/env bash
# The local lab's tailnet (issue 11), started after `scripts/lab.sh up` has made the robots and stopped before
# `lab.sh down`:
# headscale (built from its Go module, with its embedded DERP server and a certificate of the lab's own CA) on the
# lab-only address 10.201.0.1, tailscaled on every robot (TUN, inside its network namespace) and on this machine
# (userspace networking). See docs/desktops.md (a lab's own coordination server) and scripts/lablib/tailnet.py.
#
#   scripts/lab/tailnet.sh up | down | status | inventory
#   scripts/lab/tailnet.sh key USER          a one-time pre-auth key for a node of headscale user USER
#   scripts/lab/tailnet.sh leave|join ROBOT  a robot off / back on the tailnet
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"
BIN=$CACHE/lab/tailnet/bin
DIR=$CACHE/lab/tailnet/net
ADDRESS=${ROVERLAB_TAILNET_ADDRESS:-10.201.0.1}

tailnet() { PYTHONPATH="$REPO/scripts" "$VENV/bin/python" -m lablib.tailnet --dir "$DIR" "$@"; }

case "${1:-}" in
  up)
    "$VENV/bin/python" "$REPO/scripts/lab/tailnet/build.py" --out "$BIN"
    tailnet up --robots "$CACHE/lab/robots" --address "$ADDRESS" --bin-dir "$BIN" >/dev/null
    tailnet status
    ;;
  down)
    [ ! -f "$DIR/tailnet.json" ] || tailnet down
    ;;
  status | inventory)
    tailnet "$1"
    ;;
  key | leave | join)
    tailnet "$1" "${2:?usage: $0 $1 NAME}"
    ;;
  *)
    echo "usage: $0 up|down|status|inventory|key USER|leave ROBOT|join ROBOT" >&2
    exit 2
    ;;
esac
