#!/usr/bin/env bash
# The project's own Docker engine, for the local lab and the molecule scenarios.
#
#   scripts/docker-engine.sh start    start it unless it answers already (prints "started" or "running")
#   scripts/docker-engine.sh stop     stop it by its pid file and remove what dockerd leaves behind
#   scripts/docker-engine.sh status
#
# Why not the distribution's service: build machines of this kind have no systemd as PID 1, and their
# capability bounding set lacks CAP_SYS_RESOURCE, so stock runc cannot start a --privileged container
# ("unable to apply caps"). The engine therefore runs with a wrapper OCI runtime (runc-nosysres) as
# its default; the wrapper drops that one capability from each container spec and hands over to runc.
# On a normal host (systemd, full capability set) the wrapper changes nothing.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"
SOCK=${DOCKER_HOST#unix://}

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
  if answers; then echo running; return 0; fi
  mkdir -p "$ENGINE_DIR/bin" "$ENGINE_DIR/data" "$ENGINE_DIR/exec"
  install -m 0755 "$REPO/scripts/runc-nosysres" "$ENGINE_DIR/bin/runc-nosysres"
  # a stale pid file from a killed engine would make dockerd refuse to start
  if [ -s "$ENGINE_DIR/dockerd.pid" ] && ! kill -0 "$(cat "$ENGINE_DIR/dockerd.pid")" 2>/dev/null; then
    rm -f "$ENGINE_DIR/dockerd.pid"
  fi
  dockerd --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
    --pidfile "$ENGINE_DIR/dockerd.pid" -H "unix://$SOCK" --storage-driver overlay2 \
    --add-runtime "runc-nosysres=$ENGINE_DIR/bin/runc-nosysres" --default-runtime runc-nosysres \
    >>"$ENGINE_DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 150); do
    if answers; then echo started; return 0; fi
    sleep 0.2
  done
  echo "dockerd did not answer on $SOCK within 30 s; last lines of $ENGINE_DIR/dockerd.log:" >&2
  tail -20 "$ENGINE_DIR/dockerd.log" >&2
  return 1
}

stop() {
  local pid
  pid=$(cat "$ENGINE_DIR/dockerd.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo stopped; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then echo "dockerd $pid did not stop in 30 s" >&2; return 1; fi
  # dockerd leaves its bridge behind; remove it so that the next start begins clean
  ip link delete docker0 2>/dev/null || true
  echo stopped
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then echo running; else echo stopped; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
