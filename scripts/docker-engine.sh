#!/usr/bin/env bash
# The project's own Docker engine, for the local lab and the molecule scenarios.
#
#   scripts/docker-engine.sh start    start it unless it answers already (prints "started" or "running")
#   scripts/docker-engine.sh stop     stop it by its pid file and remove what dockerd leaves behind: its
#                                     iptables chains and rules (filter and nat) and its networks' bridges
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

# The engine's bridges and subnets, one "BRIDGE SUBNET..." line per bridge network (read while it answers).
engine_networks() {
  local id
  for id in $(docker network ls -q --no-trunc --filter driver=bridge); do
    docker network inspect -f \
      '{{with index .Options "com.docker.network.bridge.name"}}{{.}}{{else}}br-{{printf "%.12s" .Id}}{{end}} {{range .IPAM.Config}}{{.Subnet}} {{end}}' \
      "$id"
  done
}

# Remove what dockerd leaves in iptables after it stopped: its DOCKER* chains, the jumps to them, and every
# rule about its bridges or its networks' subnets (FORWARD accepts, POSTROUTING masquerades). Rules are
# deleted one by one, so that rules of others in the same tables stay. NETWORKS: engine_networks' lines.
remove_engine_rules() {
  local networks=$1 table
  for table in filter nat; do
    iptables-save -t "$table" 2>/dev/null | NETWORKS=$networks python3 -c '
import ipaddress, os, re, shlex, sys
bridges, subnets = {"docker0"}, [ipaddress.ip_network("172.17.0.0/16")]
for line in os.environ["NETWORKS"].split("\n"):
    words = line.split()
    if words:
        bridges.add(words[0])
        subnets += [ipaddress.ip_network(w, strict=False) for w in words[1:] if ":" not in w]
rules, chains = [], []
for line in sys.stdin:
    words = shlex.split(line)
    if line.startswith(":DOCKER"):
        chains.append(words[0][1:])
    if not words or words[0] != "-A":
        continue
    ours = words[1].startswith("DOCKER") or ("-j" in words and words[words.index("-j") + 1].startswith("DOCKER"))
    ours = ours or any(w in bridges for w in words)
    if "-s" in words and "-j" in words and words[words.index("-j") + 1] == "MASQUERADE":
        source = ipaddress.ip_network(words[words.index("-s") + 1], strict=False)
        ours = ours or any(source.subnet_of(net) for net in subnets)
    if ours:
        rules.append(words[1:])
for rule in rules:
    print("-D " + " ".join(shlex.quote(w) for w in rule))
for chain in chains:
    print("-F " + chain)
for chain in chains:
    print("-X " + chain)
' | while read -r line; do
      # shellcheck disable=SC2086  # each line is one iptables argument list, quoted by shlex
      eval "iptables -w -t $table $line" 2>/dev/null || true
    done
  done
  local bridge
  for bridge in docker0 $(printf '%s\n' "$networks" | awk '{print $1}'); do
    ip link delete "$bridge" 2>/dev/null || true
  done
}

stop() {
  local pid networks
  pid=$(cat "$ENGINE_DIR/dockerd.pid" 2>/dev/null || true)
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo stopped; return 0; fi
  networks=$(engine_networks 2>/dev/null || true)
  kill -TERM "$pid"
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then echo "dockerd $pid did not stop in 30 s" >&2; return 1; fi
  # dockerd leaves its chains, rules and bridges behind; remove them so that the next start begins clean
  remove_engine_rules "$networks"
  echo stopped
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if answers; then echo running; else echo stopped; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
