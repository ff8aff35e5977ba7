# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a checked desktop becomes on one Docker host: names, host ports, limits, GPU requests, labels.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

Works on desktops that spec.check has already checked, and only adds the Docker target's fields to them;
the roles' tasks then pass these fields to community.docker's modules as they are.
"""

import re

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import contract
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity

LABEL_PREFIX = "roverlab.clouddesktop"
MANAGED_BY = {LABEL_PREFIX + ".managed-by": "desktop_docker"}
# "<prefix>-<user>" is also the container's host name (at most 63 characters) and users have up to 40.
MAX_PREFIX_LENGTH = 22
_PREFIX_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_PORT_NAMES = [name for name, _port, _group in contract.PORTS]


def settings_problems(settings):
    """Problems of the desktop_docker_* settings the plan uses."""
    problems = []
    prefix = settings.get("name_prefix")
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix) or len(prefix) > MAX_PREFIX_LENGTH:
        problems.append(
            "desktop_docker_name_prefix %r must be a DNS label of at most %d characters" % (prefix, MAX_PREFIX_LENGTH)
        )
    base = settings.get("host_port_base")
    if not isinstance(base, dict):
        return [*problems, "desktop_docker_host_port_base must map %s to port numbers" % ", ".join(_PORT_NAMES)]
    if "vscode" in base:
        problems.append("desktop_docker_host_port_base: the key vscode was renamed to code")
    for name in _PORT_NAMES:
        port = base.get(name)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            problems.append("desktop_docker_host_port_base needs a port number for %s, got %r" % (name, port))
    for key in ("web_bind_address", "direct_bind_address"):
        if not isinstance(settings.get(key), str):
            problems.append("desktop_docker_%s must be an address or empty" % key)
    if not isinstance(settings.get("labels"), dict):
        problems.append("desktop_docker_labels must be a dict")
    capabilities = settings.get("gpu_capabilities")
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        problems.append("desktop_docker_gpu_capabilities must be a list of capability names")
    return problems


def plan(desktops, settings):
    """Add the Docker fields to each checked desktop (in place); return the problems between them."""
    prefix = settings["name_prefix"]
    addresses = {"web": settings.get("web_bind_address"), "direct": settings.get("direct_bind_address")}
    owners = {}
    for desktop in desktops:
        container = "%s-%s" % (prefix, desktop["name"])
        ports, published = {}, []
        for port in desktop["ports"]:
            address = addresses[port["group"]]
            if not address:
                continue
            host_port = settings["host_port_base"][port["name"]] + desktop["slot"]
            ports[port["name"]] = host_port
            owners.setdefault(host_port, []).append(desktop["name"])
            shown = "[%s]" % address if ":" in address else address
            published.append("%s:%d:%d" % (shown, host_port, port["port"]))
        own = dict(MANAGED_BY, **{LABEL_PREFIX + ".user": desktop["name"]})
        labels = dict(own, **settings.get("labels") or {})
        labels.update(desktop["entry_labels"])
        labels[LABEL_PREFIX + ".slot"] = str(desktop["slot"])
        desktop.update(
            container=container,
            volume=container + "-data",
            password_file="%s/%s.password" % (settings["secrets_dir"], desktop["name"]),
            ports_on_host=ports,
            published_ports=published,
            labels=labels,
            volume_labels=own,
            cpus=float(quantity.parse(desktop["cpu_limit"])),
            # the request as Docker's relative CPU weight (1024 per CPU; 2 is Docker's least)
            cpu_shares=max(2, int(quantity.parse(desktop["cpu"]) * 1024)),
            memory_bytes=_bytes(desktop["memory_limit"]),
            memory_reservation_bytes=_bytes(desktop["memory"]),
            shm_size_bytes=_bytes(desktop["shm_size"]),
            device_requests=_device_requests(desktop["gpu"], settings["gpu_capabilities"]),
        )
    problems = []
    for host_port in sorted(owners):
        users = owners[host_port]
        if len(users) > 1:
            problems.append(
                "host port %d is published by %s: give each desktop its own slot (a slot adds to every port of "
                "desktop_docker_host_port_base)" % (host_port, " and ".join(users))
            )
        elif host_port > 65535:
            problems.append("desktop user %r: host port %d does not exist (slot too high)" % (users[0], host_port))
    return problems


def _bytes(value):
    """A quantity as whole bytes, as Docker's memory options take them (text without a unit)."""
    amount = quantity.parse(value)
    whole = int(amount)
    return str(whole if whole == amount else whole + 1)


def _device_requests(gpus, capabilities):
    if gpus <= 0:
        return []
    return [{"driver": "nvidia", "count": gpus, "capabilities": [list(capabilities)]}]
