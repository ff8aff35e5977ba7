# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue auth keys and read nodes and keys from a coordination server: Tailscale's service or headscale.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

Both speak JSON over HTTPS with a bearer token, and differ in paths and field names:

- ``tailscale``: ``POST /api/v2/tailnet/<tailnet>/keys`` (a pre-authorised device key), ``GET .../keys/<id>``,
  ``GET .../devices``; the key's id is the third dash-separated word of ``tskey-auth-<id>-<secret>``.
- ``headscale``: ``POST /api/v1/preauthkey`` for a user given by its id (looked up, or created, from its name),
  ``GET /api/v1/preauthkey?user=<id>``, ``GET /api/v1/node``.

Everything is normalised here: a node is ``{name, hostname, addresses, online, last_seen, expires, expired}``,
a key's state is one of ``valid``, ``used``, ``expired`` (headscale revokes a key by expiring it now, so a revoked
headscale key is ``expired``), ``revoked`` or ``unknown`` (the server does not know it).
"""

import contextlib
import datetime
import json

BACKENDS = ("tailscale", "headscale")
DEFAULT_API_URL = {"tailscale": "https://api.tailscale.com", "headscale": None}
# headscale's "no expiry" is Go's zero time
_ZERO_TIMES = ("", "0001-01-01T00:00:00Z")


class TailnetError(Exception):
    """A request the coordination server refused or did not answer; the message says which and why."""


def parse_time(text):
    """An RFC 3339 time as an aware datetime, or None for none (headscale's zero time included)."""
    if not text or text in _ZERO_TIMES:
        return None
    text = text.replace("Z", "+00:00")
    if "." in text:  # Go writes up to nine fractional digits; Python 3.8 takes six
        head, _dot, rest = text.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits) :]
        text = "%s.%s%s" % (head, digits[:6].ljust(6, "0"), zone)
    return datetime.datetime.fromisoformat(text)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_id(key):
    """The id of a Tailscale auth key (tskey-auth-<id>-<secret>), or None."""
    words = (key or "").split("-")
    return words[2] if len(words) >= 4 and words[0] == "tskey" else None


class Api:
    """One coordination server. ``request(method, url, body, headers)`` returns (status, text)."""

    def __init__(self, backend, api_url, api_key, request, tailnet="-", user="desktops"):
        if backend not in BACKENDS:
            raise TailnetError("unknown key backend %r (use one of: %s)" % (backend, ", ".join(BACKENDS)))
        self.backend = backend
        self.api_url = (api_url or DEFAULT_API_URL[backend] or "").rstrip("/")
        if not self.api_url:
            raise TailnetError(
                "a %s backend needs api_url (the server's URL, for example https://hs.example.edu)" % backend
            )
        self.api_key = api_key
        self.tailnet = tailnet or "-"
        self.user = user
        self._request = request

    # --- transport -------------------------------------------------------------------------------
    def call(self, method, path, body=None):
        headers = {"Authorization": "Bearer %s" % self.api_key, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        url = self.api_url + path
        status, text = self._request(method, url, data, headers)
        if status == 404:
            return None
        if status < 200 or status >= 300:
            detail = (text or "").strip()
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("message") or detail
            raise TailnetError("%s %s: HTTP %s %s" % (method, url, status, detail[:300]))
        try:
            return json.loads(text) if text else {}
        except ValueError:
            raise TailnetError("%s %s: the answer is not JSON: %s" % (method, url, text[:200])) from None

    # --- keys ------------------------------------------------------------------------------------
    def issue_key(self, expiry_seconds, tags=(), reusable=False, ephemeral=False, description=""):
        """A new pre-authorised auth key: (key, expires) with EXPIRES an RFC 3339 text."""
        if self.backend == "tailscale":
            body = {
                "capabilities": {
                    "devices": {
                        "create": {
                            "reusable": bool(reusable),
                            "ephemeral": bool(ephemeral),
                            "preauthorized": True,
                            "tags": list(tags),
                        }
                    }
                },
                "expirySeconds": int(expiry_seconds),
                "description": (description or "")[:50],
            }
            answer = self.call("POST", "/api/v2/tailnet/%s/keys" % self.tailnet, body) or {}
            return answer.get("key"), answer.get("expires")
        expires = rfc3339(utc_now() + datetime.timedelta(seconds=int(expiry_seconds)))
        body = {
            "user": str(self.user_id(create=True)),
            "reusable": bool(reusable),
            "ephemeral": bool(ephemeral),
            "expiration": expires,
            "aclTags": list(tags),
        }
        answer = self.call("POST", "/api/v1/preauthkey", body) or {}
        key = (answer.get("preAuthKey") or {}).get("key")
        return key, expires

    def user_id(self, create=False):
        """headscale: the id of the user named ``user`` (created when CREATE and missing)."""
        for user in (self.call("GET", "/api/v1/user") or {}).get("users") or []:
            if user.get("name") == self.user:
                return user.get("id")
        if not create:
            return None
        created = self.call("POST", "/api/v1/user", {"name": self.user}) or {}
        return (created.get("user") or {}).get("id")

    def key_states(self, keys):
        """{key: {state, expires}} for each key of KEYS (texts); secrets are only compared, never returned."""
        now = utc_now()
        states = {}
        if self.backend == "tailscale":
            for key in keys:
                found = (
                    self.call("GET", "/api/v2/tailnet/%s/keys/%s" % (self.tailnet, key_id(key)))
                    if key_id(key)
                    else None
                )
                states[key] = _tailscale_key_state(found, now)
            return states
        user = self.user_id()
        listed = (self.call("GET", "/api/v1/preauthkey?user=%s" % user) or {}).get("preAuthKeys") or [] if user else []
        by_key = {k.get("key"): k for k in listed}
        for key in keys:
            states[key] = _headscale_key_state(by_key.get(key), now)
        return states

    # --- nodes -----------------------------------------------------------------------------------
    def nodes(self):
        """Every node of the tailnet, normalised (see the module docstring)."""
        now = utc_now()
        if self.backend == "tailscale":
            devices = (self.call("GET", "/api/v2/tailnet/%s/devices?fields=all" % self.tailnet) or {}).get("devices")
            return [_tailscale_node(d, now) for d in devices or []]
        return [_headscale_node(n, now) for n in (self.call("GET", "/api/v1/node") or {}).get("nodes") or []]


def _tailscale_key_state(found, now):
    if not found:
        return {"state": "unknown", "expires": None}
    expires = parse_time(found.get("expires"))
    if found.get("revoked"):
        state = "revoked"
    elif expires and expires <= now:
        state = "expired"
    elif found.get("invalid"):
        state = "used"
    else:
        state = "valid"
    return {"state": state, "expires": found.get("expires")}


def _headscale_key_state(found, now):
    if not found:
        return {"state": "unknown", "expires": None}
    expires = parse_time(found.get("expiration"))
    if expires and expires <= now:
        state = "expired"
    elif found.get("used") and not found.get("reusable"):
        state = "used"
    else:
        state = "valid"
    return {"state": state, "expires": found.get("expiration")}


def _tailscale_node(device, now):
    expires = parse_time(device.get("expires"))
    return {
        "name": (device.get("name") or "").rstrip("."),
        "hostname": device.get("hostname") or "",
        "addresses": device.get("addresses") or [],
        "online": bool(device.get("connectedToControl")),
        "last_seen": device.get("lastSeen"),
        "expires": None if device.get("keyExpiryDisabled") else device.get("expires"),
        "expired": bool(expires and expires <= now and not device.get("keyExpiryDisabled")),
    }


def _headscale_node(node, now):
    expires = parse_time(node.get("expiry"))
    return {
        "name": node.get("givenName") or node.get("name") or "",
        "hostname": node.get("name") or "",
        "addresses": node.get("ipAddresses") or [],
        "online": bool(node.get("online")),
        "last_seen": node.get("lastSeen"),
        "expires": node.get("expiry") if expires else None,
        "expired": bool(expires and expires <= now),
    }


# States of a desktop (desktop_tailnet_state) that a new auth key and a restart set right.
REKEY_STATES = ("expired", "key-expired", "key-revoked", "key-unknown", "key-used")


def desktop_tailnet_state(hostname, nodes, key_state=None):
    """One desktop's tailnet state for a listing: (word, detail).

    The node named HOSTNAME decides when there is one; a desktop without a node is judged by its key's state.
    """
    found = [n for n in nodes if hostname in (n["hostname"], n["name"].split(".")[0])]
    if found:
        node = sorted(found, key=lambda n: (n["online"], n["last_seen"] or ""))[-1]
        address = next((a for a in node["addresses"] if "." in a), "")
        if node["expired"]:
            return "expired", "node key expired %s: re-key the desktop" % node["expires"]
        if node["online"]:
            return "online", address
        return "offline", "last seen %s" % (node["last_seen"] or "never")
    state = (key_state or {}).get("state")
    if state in ("expired", "revoked"):
        return "key-" + state, "its auth key is %s and it is not on the tailnet: re-key the desktop" % state
    if state == "used":
        return "key-used", "its one-time key was used, and it has no node (removed?): re-key the desktop"
    if state == "valid":
        return "not-joined", "its key is valid; the desktop has not joined (stopped, or cannot reach the server)"
    if state == "unknown":
        return "key-unknown", "the coordination server does not know its key: re-key the desktop"
    return "no-key", "the desktop has no auth key"
