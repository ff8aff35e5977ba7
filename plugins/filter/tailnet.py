# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for the desktops' tailnet: their node names and environment, and which of them need a new auth key."""

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._tailnet.api import REKEY_STATES
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._tailnet.transport import SERVER_ARGUMENT_SPEC
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import contract, spec
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._tailnet import peers


def _target(target, name):
    if target not in spec.TARGETS:
        raise AnsibleFilterError("%s: the target must be kubernetes or docker, got %r" % (name, target))


def desktop_tailnet_hostname(desktop, target):
    """The name a checked desktop joins the tailnet with."""
    _target(target, "desktop_tailnet_hostname")
    if not isinstance(desktop, dict) or "name" not in desktop:
        raise AnsibleFilterError("desktop_tailnet_hostname needs a checked desktop")
    return contract.tailnet_hostname(desktop, target)


def desktop_tailnet_env(desktop, target, login_server="", login_server_ca=""):
    """The tailnet variables of a checked desktop's environment (node name, coordination server and its CA)."""
    _target(target, "desktop_tailnet_env")
    if not isinstance(desktop, dict) or "name" not in desktop:
        raise AnsibleFilterError("desktop_tailnet_env needs a checked desktop")
    return contract.tailnet_environment(desktop, target, login_server or "", login_server_ca or "")


def tailnet_rekey(hosts, names=None):
    """Of tailnet_info's ``hosts`` ({host: {state, detail}}), the hosts that need a new auth key.

    ``names`` ({host: user}) turns them into user names; hosts it does not name are left out.
    """
    if not isinstance(hosts, dict):
        raise AnsibleFilterError("tailnet_rekey needs the hosts of tailnet_info ({host: {state, detail}})")
    found = sorted(host for host, value in hosts.items() if (value or {}).get("state") in REKEY_STATES)
    if names is None:
        return found
    return [names[host] for host in found if host in names]


def tailnet_server(issuer):
    """The coordination server's connection options of a key issuer dict (role variable *_tailscale_key_issuer).

    For module_defaults of group/roverlab.clouddesktop.tailnet: the keys tailnet_info and tailnet_auth_key share,
    without the issuer's key settings (tags, expiry), which only tailnet_auth_key takes.
    """
    if not isinstance(issuer, dict):
        raise AnsibleFilterError("tailnet_server needs a key issuer dict (backend, api_url, api_key, ...)")
    return {key: value for key, value in issuer.items() if key in SERVER_ARGUMENT_SPEC}


def tailnet_peer_problem(status, host, address=None):
    """Why HOST (reached at ADDRESS) is off the tailnet, or '' (not a tailnet host, or online).

    ``status``: the controller's ``tailscale status --json``, parsed or as text; anything else means no check.
    """
    if isinstance(status, str):
        try:
            status = json.loads(status)
        except ValueError:
            return ""
    return peers.peer_problem(status, host, address)


class FilterModule:
    def filters(self):
        return {
            "desktop_tailnet_env": desktop_tailnet_env,
            "desktop_tailnet_hostname": desktop_tailnet_hostname,
            "tailnet_peer_problem": tailnet_peer_problem,
            "tailnet_rekey": tailnet_rekey,
            "tailnet_server": tailnet_server,
        }
