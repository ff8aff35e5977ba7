# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each desktop's password and Tailscale auth key: kept from its Secret, or made/found once.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

A password is generated once per user (``secrets``, letters and digits) and from then on read back from the
user's Secret, never regenerated. A Tailscale key comes from, first match wins: the user's own
``tailscale_auth_key``, the role's ``{user: key}`` dict, a key issued in this run (by the hook command for a
desktop that has none, or by the coordination server's API for one that has none or whose kept key the server no
longer takes), the key already in the user's Secret, the shared key. Values returned here are secrets: callers
must use no_log.
"""

import base64
import binascii
import secrets
import string

USER_LABEL = "clouddesktop.roverlab.io/user"
PASSWORD_KEY = "password"  # noqa: S105 (the name of a key in the Secret, not a password)
TAILSCALE_KEY = "tailscale-authkey"
_ALPHABET = string.ascii_letters + string.digits


def new_password(length):
    return "".join(secrets.choice(_ALPHABET) for _position in range(length))


def kept_secrets(desktops, live_secrets):
    """{user: {key: text}} from the Secrets read back, preferring the one in the desktop's own namespace."""
    wanted = {d["name"]: d["namespace"] for d in desktops}
    found = {}
    for secret in live_secrets or []:
        meta = secret.get("metadata") or {}
        user = (meta.get("labels") or {}).get(USER_LABEL)
        if user not in wanted:
            continue
        if user in found and meta.get("namespace") != wanted[user]:
            continue
        found[user] = secret_values(secret)
    return found


def secret_values(secret):
    """{key: text} of a Secret as read back: its data decoded (a value that does not decode is empty)."""
    return {k: _decode(v) for k, v in (secret.get("data") or {}).items()}


def keys_to_issue(desktops, live_secrets, explicit_keys):
    """Users that need a key from the hook: no key of their own, none given, none kept."""
    kept = kept_secrets(desktops, live_secrets)
    return [
        d["name"]
        for d in desktops
        if not (explicit_keys or {}).get(d["name"]) and not kept.get(d["name"], {}).get(TAILSCALE_KEY)
    ]


def issuer_keys(desktops, live_secrets, explicit_keys, hostname):
    """{tailnet host: {user, key}} of the desktops whose key the coordination server's API issues (none given in
    the inventory): the key kept in the desktop's Secret, or '' when it has none yet. HOSTNAME(desktop) is the
    name the desktop joins the tailnet with."""
    kept = kept_secrets(desktops, live_secrets)
    return {
        hostname(d): {"user": d["name"], "key": kept.get(d["name"], {}).get(TAILSCALE_KEY) or ""}
        for d in desktops
        if not (explicit_keys or {}).get(d["name"])
    }


def plan_credentials(desktops, live_secrets, explicit_keys=None, issued_keys=None, shared_key="", length=20):
    """{user: {password, tailscale_auth_key, password_kept, key_source}} for the given desktops."""
    kept = kept_secrets(desktops, live_secrets)
    result = {}
    for desktop in desktops:
        name = desktop["name"]
        old = kept.get(name, {})
        password = old.get(PASSWORD_KEY)
        sources = (
            ("user", (explicit_keys or {}).get(name)),
            ("hook", (issued_keys or {}).get(name)),
            ("kept", old.get(TAILSCALE_KEY)),
            ("shared", shared_key),
        )
        source, key = next(((s, k) for s, k in sources if k), ("none", ""))
        result[name] = {
            "password": password or new_password(length),
            "password_kept": bool(password),
            "tailscale_auth_key": key,
            "key_source": source,
        }
    return result


def _decode(value):
    try:
        return base64.b64decode(value or "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
