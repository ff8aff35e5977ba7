# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Is a host the controller reaches over the tailnet on it now? From ``tailscale status --json`` of the controller.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

A host counts as a tailnet host when its address (``ansible_host``) is a peer's tailnet address, MagicDNS name
(with or without the tailnet's suffix) or host name, or lies in the tailnet's ranges (100.64.0.0/10,
fd7a:115c:a1e0::/48) or under its MagicDNS suffix. Such a host that is offline, or that no peer answers to, is off
the tailnet: an SSH connection to it would wait for a timeout, so callers stop at once and name it.
"""

import ipaddress

TAILNET_RANGES = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("fd7a:115c:a1e0::/48"))


def _names(peer, suffix):
    dns = (peer.get("DNSName") or "").rstrip(".").lower()
    names = {dns, (peer.get("HostName") or "").lower()}
    if suffix and dns.endswith("." + suffix):
        names.add(dns[: -len(suffix) - 1])
    names.update(peer.get("TailscaleIPs") or [])
    names.discard("")
    return names


def _in_tailnet(address, suffix):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return bool(suffix) and address.lower().rstrip(".").endswith("." + suffix)
    return any(ip in net for net in TAILNET_RANGES)


def peer_problem(status, host, address):
    """'' when HOST (at ADDRESS) is not a tailnet host or is online; else why it is off the tailnet."""
    if not isinstance(status, dict):
        return ""
    suffix = (status.get("MagicDNSSuffix") or "").lower().strip(".")
    wanted = (address or host or "").lower().rstrip(".")
    peers = list((status.get("Peer") or {}).values())
    self_node = status.get("Self") or {}
    if self_node and wanted in _names(self_node, suffix):
        return ""
    matching = [p for p in peers if wanted in _names(p, suffix)]
    if not matching:
        if _in_tailnet(wanted, suffix):
            return "%s is off the tailnet: no node of the tailnet is %s" % (host, wanted)
        return ""
    peer = matching[0]
    if peer.get("Online"):
        return ""
    last_seen = peer.get("LastSeen") or ""
    seen = "never seen" if not last_seen or last_seen.startswith("0001-") else "last seen %s" % last_seen
    return "%s is off the tailnet: its node %s (%s) is offline, %s" % (
        host,
        (peer.get("DNSName") or peer.get("HostName") or wanted).rstrip("."),
        ", ".join(peer.get("TailscaleIPs") or []) or "no address",
        seen,
    )
