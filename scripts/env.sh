# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables are for the scripts that source this file
# Paths shared by the project's scripts. Source it; it only sets variables.
# REPO must be set by the caller (the repository root).
: "${REPO:?REPO must be set}"
CACHE=${ROVERLAB_CACHE:-$REPO/.cache}
VENV=${ROVERLAB_VENV:-$REPO/.venv}
DEPS_COLLECTIONS=$CACHE/collections
# the project's own Docker engine (scripts/docker-engine.sh); one per machine, shared by the lab and molecule
ENGINE_DIR=${ROVERLAB_ENGINE_DIR:-/var/lib/roverlab-engine}
export DOCKER_HOST=${ROVERLAB_DOCKER_HOST:-unix://$ENGINE_DIR/docker.sock}
export ANSIBLE_CONFIG=$REPO/ansible.cfg
export PATH=$VENV/bin:$PATH
export PIP_DISABLE_PIP_VERSION_CHECK=1
