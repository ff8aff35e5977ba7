# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP for the tailnet modules: ansible's open_url, with a lab CA and a clear message when nothing answers.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.
"""

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from .api import Api, TailnetError


def requester(module, ca_path=None, validate_certs=True, timeout=20):
    """request(method, url, data, headers) -> (status, text) for api.Api; raises TailnetError when unreachable."""

    def request(method, url, data, headers):
        try:
            answer = open_url(
                url,
                data=data,
                headers=headers,
                method=method,
                validate_certs=validate_certs,
                ca_path=ca_path,
                timeout=timeout,
                http_agent="roverlab.clouddesktop",
            )
            return answer.getcode(), answer.read().decode("utf-8", "replace")
        except HTTPError as e:
            try:
                body = e.read().decode("utf-8", "replace")
            except Exception:  # pylint: disable=broad-except
                body = ""
            return e.code, body
        except (URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TailnetError(
                "cannot reach the coordination server at %s: %s" % (url.split("/api/")[0], reason)
            ) from None

    return request


# The coordination server's connection: the options tailnet_info and tailnet_auth_key share (doc fragment
# roverlab.clouddesktop.tailnet_server, action group roverlab.clouddesktop.tailnet), so that the roles give them once.
SERVER_ARGUMENT_SPEC = {
    "backend": {"type": "str", "choices": ["tailscale", "headscale"], "default": "tailscale"},
    "api_url": {"type": "str"},
    "api_key": {"type": "str", "required": True, "no_log": True},
    "tailnet": {"type": "str", "default": "-"},
    "user": {"type": "str", "default": "desktops"},
    "ca_path": {"type": "path"},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 20},
}


def server_api(module):
    """The api.Api of the coordination server that a module's connection options name."""
    params = module.params
    return Api(
        params["backend"],
        params["api_url"],
        params["api_key"],
        requester(module, params["ca_path"], params["validate_certs"], params["timeout"]),
        tailnet=params["tailnet"],
        user=params["user"],
    )
