# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for cloud desktops: check the declared users, and tabulate the desktops a cluster runs."""

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import (
    contract,
    credentials,
    dns,
    plan,
    spec,
)
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import changes

USER_LABEL = "clouddesktop.roverlab.io/user"
TABLE_COLUMNS = (
    ("user", "USER"),
    ("tier", "TIER"),
    ("url", "URL"),
    ("node", "NODE"),
    ("cpu", "CPU"),
    ("memory", "MEMORY"),
    ("gpu", "GPU"),
    ("phase", "PHASE"),
)
# The handout says only whether a desktop has a key of its own, not where the key came from.
_KEY_SOURCES = {"user": "own key", "kept": "own key", "hook": "own key", "shared": "shared key", "none": "none"}


def desktop_check(users, settings, target, selection=None, defined_variables=None):
    """Check the inventory's desktops (and a one-user run's options) for ``target`` (kubernetes or docker).

    Bad input is returned, not raised: ``{problems, message, warnings, desktops, selected}``, so that a task
    fails with ``message`` once. See plugin_utils/_desktop/spec.py.
    """
    if not isinstance(settings, dict) or target not in spec.TARGETS:
        raise AnsibleFilterError(
            "desktop_check needs the role's settings as a dict and a target (kubernetes or docker)"
        )
    if selection is not None and not isinstance(selection, dict):
        raise AnsibleFilterError("desktop_check: selection must be a dict {user, options}")
    return spec.check(users, settings, target, selection, defined_variables or ())


def desktop_options(target):
    """The names a one-desktop run reads (user, the entry keys that may be given with -e, older names)."""
    if target not in spec.TARGETS:
        raise AnsibleFilterError("desktop_options: the target must be kubernetes or docker, got %r" % (target,))
    return spec.option_names(target)


def desktop_password(length):
    """A new desktop password (letters and digits from Python's secrets module); the one way both targets make one."""
    if isinstance(length, bool) or not isinstance(length, int) or length < spec.MIN_PASSWORD_LENGTH:
        raise AnsibleFilterError(
            "a desktop password needs at least %d characters, got %r" % (spec.MIN_PASSWORD_LENGTH, length)
        )
    return credentials.new_password(length)


def desktop_env(desktop, secrets):
    """The container environment of a checked desktop (Docker target): its plain settings and its secrets.

    ``secrets``: {password, tailscale-authkey}. The result holds the password: use it only under no_log.
    """
    if not isinstance(desktop, dict) or not isinstance(secrets, dict):
        raise AnsibleFilterError("desktop_env needs a checked desktop and a dict of its secrets")
    return contract.container_environment(desktop, secrets)


def _live(value, name, namespaces=None):
    """Objects read from the API, given as data or as JSON text, limited to ``namespaces`` when given."""
    try:
        return changes.parse_live(value, namespaces)
    except ValueError as exc:
        raise AnsibleFilterError("%s: the objects read are not valid JSON: %s" % (name, exc)) from exc


def desktop_plan(desktops, live, gpu_resource="nvidia.com/gpu", namespaces=None, live_secrets=None):
    """Moves, removals, restarts, GPU needs and refusals for the checked desktops against the objects read.

    ``live``: {kind: [objects]} or its JSON text; ``namespaces``: the namespaces desktops may live in (objects
    elsewhere are not this collection's desktops); ``live_secrets``: the desktop Secrets, which take part by
    name only (the plan holds no values).
    """
    live = _live(live, "desktop_plan", namespaces)
    if live_secrets is not None and isinstance(live, dict):
        live["Secret"] = _live(live_secrets, "desktop_plan", namespaces)
    if not isinstance(desktops, list) or not isinstance(live, dict):
        raise AnsibleFilterError("desktop_plan needs the checked desktops and a dict {kind: [live objects]}")
    return plan.plan_desktops(desktops, live, gpu_resource)


def desktop_credentials(desktops, live_secrets, explicit_keys=None, issued_keys=None, shared_key="", length=20):
    """Each desktop's password (kept, or generated once) and Tailscale key. The result is secret: no_log."""
    live_secrets = _live(live_secrets, "desktop_credentials")
    if not isinstance(desktops, list) or not isinstance(live_secrets, list):
        raise AnsibleFilterError("desktop_credentials needs the checked desktops and the Secrets read back")
    if not isinstance(length, int) or length < spec.MIN_PASSWORD_LENGTH:
        raise AnsibleFilterError(
            "a desktop password needs at least %d characters, got %r" % (spec.MIN_PASSWORD_LENGTH, length)
        )
    return credentials.plan_credentials(desktops, live_secrets, explicit_keys, issued_keys, shared_key, length)


def desktop_keys_to_issue(desktops, live_secrets, explicit_keys=None):
    """Names of the desktops that have no Tailscale key yet (none given, none kept in their Secret)."""
    live_secrets = _live(live_secrets, "desktop_keys_to_issue")
    if not isinstance(desktops, list) or not isinstance(live_secrets, list):
        raise AnsibleFilterError("desktop_keys_to_issue needs the checked desktops and the Secrets read back")
    return credentials.keys_to_issue(desktops, live_secrets, explicit_keys)


def desktop_tailnet_keys(desktops, live_secrets, explicit_keys=None):
    """{tailnet host: {user, key}} of the Kubernetes desktops whose key the coordination server's API issues (none
    given in the inventory); ``key`` is the one kept in the desktop's Secret, '' when none. Secret: no_log."""
    live_secrets = _live(live_secrets, "desktop_tailnet_keys")
    if not isinstance(desktops, list) or not isinstance(live_secrets, list):
        raise AnsibleFilterError("desktop_tailnet_keys needs the checked desktops and the Secrets read back")
    return credentials.issuer_keys(
        desktops, live_secrets, explicit_keys, lambda desktop: contract.tailnet_hostname(desktop, "kubernetes")
    )


def desktop_handout(desktops, run_credentials, live_secrets, live, namespaces, tls=False, shared_key=""):
    """Entries of the credentials handout, by user: the desktops of this run and every other desktop the cluster runs.

    ``desktops``: the checked desktops of this run (those with state absent are left out);
    ``run_credentials``: desktop_credentials' result for them; ``live_secrets``, ``live``: the Secrets and the
    other objects read from the cluster (data or JSON text); ``namespaces``: cloud_desktop_namespaces.
    A run of desktop.yml acts on one desktop, and its handout still lists the others, from their Secrets
    and Ingresses. The result holds passwords: use it only in tasks with no_log.
    """
    if not isinstance(desktops, list) or not isinstance(run_credentials, dict) or not isinstance(namespaces, dict):
        raise AnsibleFilterError("desktop_handout needs the checked desktops, their credentials and the namespaces")
    scheme = "https" if tls else "http"
    entries = []
    for desktop in desktops:
        if desktop["state"] == "absent":
            continue
        own = run_credentials[desktop["name"]]
        entries.append(
            _handout_entry(
                desktop["name"],
                desktop["tier"],
                ["%s://%s/" % (scheme, desktop["hosts"][app]) for app in ("vnc", "code")],
                own["password"],
                _KEY_SOURCES[own["key_source"]],
            )
        )
    in_this_run = {d["name"] for d in desktops}
    tier_of = {ns: tier for tier, ns in namespaces.items()}
    live = _live(live, "desktop_handout", list(tier_of))
    urls = {}
    for item in live.get("Ingress") or []:
        meta = item.get("metadata") or {}
        urls[(meta.get("namespace"), (meta.get("labels") or {}).get(USER_LABEL))] = list(_ingress_urls(item))
    # a removed desktop keeps its Secret (and volume) until purged; the handout lists the desktops that exist
    existing = {
        (
            (item.get("metadata") or {}).get("namespace"),
            ((item.get("metadata") or {}).get("labels") or {}).get(USER_LABEL),
        )
        for item in live.get("Deployment") or []
    }
    for secret in _live(live_secrets, "desktop_handout", list(tier_of)):
        meta = secret.get("metadata") or {}
        user = (meta.get("labels") or {}).get(USER_LABEL)
        if not user or user in in_this_run or (meta.get("namespace"), user) not in existing:
            continue
        kept = credentials.secret_values(secret)
        key = kept.get(credentials.TAILSCALE_KEY, "")
        entries.append(
            _handout_entry(
                user,
                tier_of[meta["namespace"]],
                urls.get((meta["namespace"], user), ["", ""]),
                kept.get(credentials.PASSWORD_KEY, ""),
                "shared key" if key and key == shared_key else ("own key" if key else "none"),
            )
        )
    # one order whatever the run, so that a run for one desktop rewrites the file only when something changed
    return sorted(entries, key=lambda e: (e["user"], e["tier"]))


def _handout_entry(user, tier, urls, password, tailscale):
    return {
        "user": user,
        "tier": tier,
        "desktop_url": urls[0],
        "vscode_url": urls[1],
        "password": password,
        "tailscale": tailscale,
    }


def desktop_dns_changes(record_sets, desktops, mode, domain, address, ttl=300):
    """Route53 records to set and to delete so that the zone matches the desktops."""
    if mode not in ("none", "records", "wildcard"):
        raise AnsibleFilterError("the DNS mode must be none, records or wildcard, got %r" % (mode,))
    if not isinstance(record_sets, list) or not isinstance(desktops, list):
        raise AnsibleFilterError("desktop_dns_changes needs the zone's record sets and the checked desktops")
    wanted = dns.wanted_records(desktops, mode, domain, address, ttl)
    removed = [host for d in desktops if d["state"] == "absent" for host in (d.get("hosts") or {}).values()]
    return dns.plan_records(record_sets, wanted, removed)


def desktop_rows(deployments, pods, ingresses, namespaces=None, tailnet=None):
    """One row per desktop Deployment: user, tier, namespace, url, code_url, node, cpu, memory, gpu, phase.

    ``namespaces`` maps tiers to namespaces (cloud_desktop_namespaces) to show ``prod``/``dev``. A stopped
    desktop (no replica) shows ``Stopped``; a pod that waits for a node shows why (``Pending (Unschedulable:
    Insufficient nvidia.com/gpu)``). ``tailnet``, tailnet_info's ``hosts`` ({deployment name: {state, detail}}),
    adds ``tailnet`` (the state word) and ``tailnet_detail`` to each row it names.
    """
    tier_of = {ns: tier for tier, ns in (namespaces or {}).items()}
    pods_by_user = {}
    for pod in pods or []:
        meta = pod.get("metadata") or {}
        user = (meta.get("labels") or {}).get(USER_LABEL)
        if user:
            pods_by_user.setdefault((meta.get("namespace"), user), []).append(pod)
    urls = {}
    for ingress in ingresses or []:
        meta = ingress.get("metadata") or {}
        user = (meta.get("labels") or {}).get(USER_LABEL)
        if user:
            urls[(meta.get("namespace"), user)] = _ingress_urls(ingress)
    rows = []
    for deployment in deployments or []:
        meta = deployment.get("metadata") or {}
        user = (meta.get("labels") or {}).get(USER_LABEL)
        if not user:
            continue
        key = (meta.get("namespace"), user)
        container = _desktop_container(deployment)
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        node, phase = _pod_state(deployment, pods_by_user.get(key, []))
        vnc, code = urls.get(key, ("", ""))
        rows.append(
            {
                "user": user,
                "namespace": key[0],
                "tier": tier_of.get(key[0], key[0]),
                "url": vnc,
                "code_url": code,
                "node": node,
                "cpu": _range(requests.get("cpu"), limits.get("cpu")),
                "memory": _range(requests.get("memory"), limits.get("memory")),
                "gpu": str(limits.get("nvidia.com/gpu", 0)),
                "phase": phase,
            }
        )
        seen = (tailnet or {}).get(meta.get("name"))
        if seen:
            rows[-1].update(tailnet=seen.get("state") or "", tailnet_detail=seen.get("detail") or "")
    return sorted(rows, key=lambda r: (r["user"], r["namespace"]))


def desktop_table(rows):
    """Rows from desktop_rows as aligned text lines, with a header."""
    columns = TABLE_COLUMNS + ((("tailnet", "TAILNET"),) if any("tailnet" in row for row in rows or []) else ())
    header = [title for _key, title in columns]
    body = [[str(row.get(key, "")) or "-" for key, _title in columns] for row in rows or []]
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip() for cells in [header, *body]]


def _desktop_container(deployment):
    containers = ((((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")) or []
    for container in containers:
        if container.get("name") == "desktop":
            return container
    return containers[0] if containers else {}


def _pod_state(deployment, pods):
    if ((deployment.get("spec") or {}).get("replicas")) == 0:
        return "", "Stopped"
    if not pods:
        return "", "NoPod"
    # The newest pod tells the state; an old one may still be terminating during a restart.
    pod = sorted(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")[-1]
    status = pod.get("status") or {}
    phase = status.get("phase") or "Unknown"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        phase = "Terminating"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" and condition.get("reason"):
            why = _unschedulable_why(condition.get("message") or "")
            phase = "%s (%s%s)" % (phase, condition["reason"], ": " + why if why else "")
    return (pod.get("spec") or {}).get("nodeName") or "", phase


def _unschedulable_why(message):
    """What is short, from the scheduler's message ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had
    untolerated taint(s). no new claims to deallocate, preemption: ..."): the resources that are short, else
    the scheduler's reasons."""
    reasons = message.split(" available: ", 1)[-1]
    reasons = re.split(r"\. |,? ?preemption:", reasons, maxsplit=1)[0].rstrip(". ")
    parts = [re.sub(r"^\d+ ", "", part.strip()) for part in reasons.split(",") if part.strip()]
    short = sorted({p for p in parts if p.startswith("Insufficient ")})
    return ", ".join(short or parts)


def _ingress_urls(ingress):
    spec = ingress.get("spec") or {}
    tls_hosts = {h for entry in spec.get("tls") or [] for h in entry.get("hosts") or []}
    by_port = {}
    for rule in spec.get("rules") or []:
        host = rule.get("host")
        for path in ((rule.get("http") or {}).get("paths")) or []:
            port = (((path.get("backend") or {}).get("service") or {}).get("port")) or {}
            scheme = "https" if host in tls_hosts else "http"
            by_port[port.get("name") or str(port.get("number"))] = "%s://%s/" % (scheme, host)
    return by_port.get("novnc", ""), by_port.get("code", "")


def _range(request, limit):
    if request is None and limit is None:
        return ""
    if limit is None or str(limit) == str(request):
        return str(request if request is not None else limit)
    return "%s-%s" % (request if request is not None else "0", limit)


class FilterModule:
    def filters(self):
        return {
            "desktop_check": desktop_check,
            "desktop_env": desktop_env,
            "desktop_options": desktop_options,
            "desktop_password": desktop_password,
            "desktop_plan": desktop_plan,
            "desktop_credentials": desktop_credentials,
            "desktop_keys_to_issue": desktop_keys_to_issue,
            "desktop_tailnet_keys": desktop_tailnet_keys,
            "desktop_dns_changes": desktop_dns_changes,
            "desktop_handout": desktop_handout,
            "desktop_rows": desktop_rows,
            "desktop_table": desktop_table,
        }
