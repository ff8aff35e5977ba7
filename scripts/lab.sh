#!/usr/bin/env bash
# The local lab: the whole system on this machine (see inventories/lab/hosts.yml).
#
#   scripts/lab.sh up       set up the machine, start the engine, build images, start the lab (and its tailnet)
#   scripts/lab.sh down     remove the lab and stop the engine (--keep-engine: leave the engine running)
#   scripts/lab.sh status
#
# Then: .venv/bin/ansible-playbook site.yml   (the default inventory is this lab)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"
cd "$REPO"
# present while the engine holds rover nodes that this cache's `up` started
LAB_MARK=$CACHE/lab/nodes-started-here

# the rover node containers' names (scripts/lab/vars.yml) and a container's state (running, exited, absent, ...)
lab_nodes() {
  "$VENV/bin/python" -c 'import sys, yaml; print(" ".join(n["name"] for n in yaml.safe_load(open(sys.argv[1]))["lab_nodes"]))' \
    "$REPO/scripts/lab/vars.yml"
}
node_state() { docker inspect -f '{{.State.Status}}' "$1" 2>/dev/null || echo absent; }

case "${1:-}" in
  up)
    "$REPO/scripts/setup.sh"
    "$REPO/scripts/docker-engine.sh" start
    "$REPO/scripts/build-images.sh"
    # the k3s STAND-IN (the real release cannot be downloaded here): real Kubernetes components built from
    # Go modules (tests/standins/k3s), as an airgap directory for the lab's k3s_version
    # (inventories/lab/group_vars/k3s_cluster.yml); reproducible, so a rebuild changes nothing
    k3s_version=$("$VENV/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["k3s_version"])' \
      "$REPO/inventories/lab/group_vars/k3s_cluster.yml")
    "$VENV/bin/python" "$REPO/tests/standins/k3s/build.py" --out "$CACHE/lab/k3s-airgap" "$k3s_version"
    # the desktop image the lab's desktops run (the collection's own, roles/desktop_image), built or found up to
    # date and saved where scripts/lab/up.yml hands every *.tar to the nodes' k3s image import
    "$REPO/scripts/lab/save-images.sh" "$CACHE/lab/images"
    # the nodes' cluster (their data volumes, kept by the engine outside the checkout) belongs with the robots and
    # the tailnet under $CACHE/lab: stopped nodes left in the engine by a lab this cache did not start (a run that
    # was killed on a machine whose checkout is new, as on CI) are removed, not adopted with desktops, Secrets and
    # tailnet keys that this lab's headscale never issued; running ones are another checkout's live lab, refused
    # as its robots' namespaces are
    if [ ! -f "$LAB_MARK" ]; then
      for node in $(lab_nodes); do
        if [ "$(node_state "$node")" = running ]; then
          echo "lab: $node runs, started by a lab of another cache (another checkout's): scripts/lab.sh down in that checkout removes it" >&2
          exit 1
        fi
      done
      echo "lab: no lab of this checkout's cache in the engine; removing any rover nodes left there by another"
      ansible-playbook "$REPO/scripts/lab/down.yml"
    fi
    ansible-playbook "$REPO/scripts/lab/up.yml"
    mkdir -p "$CACHE/lab" && touch "$LAB_MARK"
    # the robots: network namespaces 10.201.N.2 with their own sshd and roscore (scripts/lablib, root needed)
    PYTHONPATH="$REPO/scripts" "$VENV/bin/python" -m lablib --dir "$CACHE/lab/robots" up --count 3 \
      --prefix roverlab --subnet-base 10.201
    # the lab's tailnet: headscale on 10.201.0.1 (lab-only), the robots and this machine on it
    "$REPO/scripts/lab/tailnet.sh" up
    ;;
  down)
    "$REPO/scripts/lab/tailnet.sh" down
    PYTHONPATH="$REPO/scripts" "$VENV/bin/python" -m lablib --dir "$CACHE/lab/robots" down
    if "$REPO/scripts/docker-engine.sh" status >/dev/null; then
      ansible-playbook "$REPO/scripts/lab/down.yml"
      rm -f "$LAB_MARK"
    fi
    if [ "${2:-}" != --keep-engine ]; then
      "$REPO/scripts/docker-engine.sh" stop
    fi
    ;;
  status)
    # exit 0 only when the engine runs and the lab's own rover node containers (scripts/lab/vars.yml) are up; other
    # node containers on the engine (a benchmark's) do not count
    "$REPO/scripts/docker-engine.sh" status >/dev/null || { echo "engine stopped"; exit 3; }
    down=0
    for node in $(lab_nodes); do
      state=$(node_state "$node")
      printf '%s\t%s\n' "$node" "$state"
      [ "$state" = running ] || down=1
    done
    [ "$down" = 0 ] || exit 3
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
