# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The coordination server's connection, shared by tailnet_info and tailnet_auth_key (action group
    # roverlab.clouddesktop.tailnet, so module_defaults can give it once).
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - Which coordination server to talk to.
    type: str
    choices: [tailscale, headscale]
    default: tailscale
  api_url:
    description:
      - The API's base URL. Tailscale's is the default for O(backend=tailscale); for headscale it is the server's
        C(server_url), for example V(https://headscale.example.edu).
    type: str
  api_key:
    description:
      - Tailscale API access token or headscale API key.
    type: str
    required: true
  tailnet:
    description:
      - Tailscale only. The tailnet's name; V(-) is the token's own tailnet.
    type: str
    default: "-"
  user:
    description:
      - headscale only. The headscale user whose pre-auth keys are issued and looked up (the desktops' devices
        belong to it).
    type: str
    default: desktops
  ca_path:
    description:
      - A PEM file of the CA that signed the server's certificate, for a headscale server with a certificate of the
        lab's own CA.
    type: path
  validate_certs:
    description:
      - Whether the server's certificate is checked. Leave it on; give O(ca_path) for a lab CA.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the server.
    type: int
    default: 20
attributes:
  action_group:
    description: The connection options can be given once for both modules with C(module_defaults) of the group.
    support: full
    membership:
      - roverlab.clouddesktop.tailnet
"""
