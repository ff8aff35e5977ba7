#!/usr/bin/python
# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: tailnet_info
short_description: Nodes of a tailnet and the state of given auth keys, from Tailscale's service or headscale
version_added: 0.1.0
description:
  - Reads every node (device) of the tailnet from the coordination server's API, and for each name in O(hosts)
    says whether that node is online, offline or expired, or, when it never joined, what became of its auth key.
  - The desktop list (C(roverlab.clouddesktop.desktop_list)) uses it for its TAILNET column, so that a desktop whose
    key was revoked or expired shows as such.
  - Changes nothing.
author:
  - Rover Lab infrastructure team (@roverlab)
options:
  hosts:
    description:
      - Host names (the names the devices joined with) to report on in RV(hosts).
    type: list
    elements: str
    default: []
  keys:
    description:
      - "The auth key each host of O(hosts) was given, as C({host: key}); their state is looked up for hosts that
        have no node. The keys are secrets and never returned."
    type: dict
    default: {}
extends_documentation_fragment:
  - roverlab.clouddesktop.tailnet_server
attributes:
  check_mode:
    support: full
    description: Reads only; check mode returns the same.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: roverlab.clouddesktop.tailnet_auth_key
"""

EXAMPLES = r"""
- name: Where are the desktops on the lab's tailnet?
  roverlab.clouddesktop.tailnet_info:
    backend: headscale
    api_url: https://10.201.0.1:8443
    api_key: "{{ vault_headscale_api_key }}"
    ca_path: /etc/roverlab/tailnet-ca.pem
    hosts: [alice-clouddesktop, bob-clouddesktop]
  register: tailnet

- name: Desktops that cannot join
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.detail }}"
  loop: "{{ tailnet.hosts | dict2items | rejectattr('value.state', 'equalto', 'online') }}"
"""

RETURN = r"""
nodes:
  description: Every node of the tailnet.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The node's name in the tailnet (its MagicDNS name, without the trailing dot).
      type: str
    hostname:
      description: The host name the device joined with.
      type: str
    addresses:
      description: The node's tailnet addresses.
      type: list
      elements: str
    online:
      description: Whether the node is connected to the coordination server now.
      type: bool
    last_seen:
      description: When it was last connected (RFC 3339), if known.
      type: str
    expires:
      description: When the node's key expires (RFC 3339); null when it does not.
      type: str
    expired:
      description: Whether the node's key has expired (the device must log in again).
      type: bool
hosts:
  description: For each host of O(hosts) and O(keys), its state on the tailnet.
  returned: always
  type: dict
  sample:
    alice-clouddesktop: {state: online, detail: 100.64.0.5}
    bob-clouddesktop:
      state: key-expired
      detail: "its auth key is expired and it is not on the tailnet: re-key the desktop"
  contains:
    state:
      description: >-
        V(online), V(offline), V(expired) (the node's key expired), or for a host without a node V(key-expired),
        V(key-revoked), V(key-unknown), V(not-joined) or V(no-key).
      type: str
    detail:
      description: The address, when it was last seen, or what to do.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._tailnet.api import (
    TailnetError,
    desktop_tailnet_state,
)
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._tailnet.transport import (
    SERVER_ARGUMENT_SPEC,
    server_api,
)


def main():
    module = AnsibleModule(
        argument_spec={
            **SERVER_ARGUMENT_SPEC,
            "hosts": {"type": "list", "elements": "str", "default": []},
            "keys": {"type": "dict", "default": {}, "no_log": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        api = server_api(module)
        nodes = api.nodes()
        hosts = sorted(set(params["hosts"]) | set(params["keys"]))
        node_names = {n["hostname"] for n in nodes} | {n["name"].split(".")[0] for n in nodes}
        without_node = [h for h in hosts if h not in node_names and params["keys"].get(h)]
        states = api.key_states([params["keys"][h] for h in without_node]) if without_node else {}
        if any((state or {}).get("state") == "used" for state in states.values()):
            # A desktop that joined between the two reads has its key used and its node missing from the first
            # list: that is no reason for a new key. The server marks a key used when the node registers, so a
            # second list has every node whose key was seen used.
            nodes = api.nodes()
    except TailnetError as e:
        module.fail_json(msg=str(e))
    report = {}
    for host in hosts:
        key = params["keys"].get(host)
        state, detail = desktop_tailnet_state(host, nodes, states.get(key) if key else None)
        report[host] = {"state": state, "detail": detail}
    module.exit_json(changed=False, nodes=nodes, hosts=report)


if __name__ == "__main__":
    main()
