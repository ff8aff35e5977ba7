# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a reconcile must do beyond applying manifests: moves, deletions, restarts, GPU needs, refusals.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

Works only on data already read from the API (``live``: {kind: [objects]}), so it decides everything
before the first change: a refusal (``conflicts``) stops the play with nothing changed.
"""

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity

USER_LABEL = "clouddesktop.roverlab.io/user"
# The kinds removed with a desktop, in the order they go; the volume only goes when purging.
DELETE_ORDER = ("Deployment", "Ingress", "Service", "NetworkPolicy", "Secret", "PersistentVolumeClaim")
# What a removal keeps unless purging: the data and the credentials that go with it.
KEPT_UNLESS_PURGED = ("Secret", "PersistentVolumeClaim")
API_VERSIONS = {
    "Deployment": "apps/v1",
    "Ingress": "networking.k8s.io/v1",
    "Service": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Secret": "v1",
    "PersistentVolumeClaim": "v1",
}


def claim_name(user):
    return "%s-clouddesktop-storage" % user


def plan_desktops(desired, live, gpu_resource="nvidia.com/gpu"):
    """Plan around the manifests for ``desired`` (checked users) against ``live`` objects.

    Returns a dict with:
      moves        [{name, from, to, claim, volume}] desktops whose tier changed (volume: the bound PV)
      conflicts    [text] changes that must be refused before anything is done
      gpu_more     [{name, more, amount, labels}] desktops that need more GPUs than they hold now (amount: all
                   they will hold, on one node; labels: those of the pod they replace)
      gpu_needed   int, the sum of gpu_more
      delete       [manifest stubs] objects to remove (absent desktops; what a move leaves behind)
      kept         [namespace/name] volumes and Secrets of removed desktops that stay (purge removes them)
      restart      [{name, namespace, deployment}] running desktops asked to restart
      created      [name] desktops that do not exist yet
      running      [name] desktops whose Deployment runs a pod (replicas 1) after this run; the others are
                   stopped (replicas 0): ``present`` keeps what a desktop is, ``started``/``stopped`` decide
      started      [name] existing desktops that were stopped and run again
      stopped      [name] desktops that ran and stop now
      gpu_held     [{name, amount, labels}] desktops whose Deployment runs with GPUs now, for the capacity check
    A removed desktop keeps its volume AND its Secret, so that ``absent`` then ``present`` gives the user the same
    password and Tailscale key with the same data; a confirmed purge removes both.
    """
    by_user = _index(live)
    plan = {
        "moves": [],
        "conflicts": [],
        "gpu_more": [],
        "gpu_needed": 0,
        "delete": [],
        "kept": [],
        "restart": [],
        "created": [],
        "running": [],
        "started": [],
        "stopped": [],
        # every desktop whose Deployment runs with GPUs, as it is now (its pod may not exist yet)
        "gpu_held": [
            {"name": user, "amount": held, "labels": {USER_LABEL: user}}
            for user, held in sorted((u, _held_gpus(objects, gpu_resource)) for u, objects in by_user.items())
            if held > 0
        ],
    }
    for desktop in desired:
        name = desktop["name"]
        objects = by_user.get(name, {})
        if desktop["state"] == "absent":
            _plan_removal(plan, name, objects, desktop["purge_data"])
            continue
        here = desktop["namespace"]
        elsewhere = sorted(ns for ns in objects if ns != here)
        deployments = [kinds["Deployment"] for kinds in objects.values() if "Deployment" in kinds]
        was_running = any(_replicas(d) != 0 for d in deployments)
        running = desktop["state"] in ("started", "restarted") or (
            desktop["state"] == "present" and (was_running or not deployments)
        )
        if running:
            plan["running"].append(name)
        if deployments and running and not was_running:
            plan["started"].append(name)
        elif was_running and not running:
            plan["stopped"].append(name)
        more = (desktop["gpu"] if running else 0) - _held_gpus(objects, gpu_resource)
        if more > 0:
            # the pod takes all its GPUs from one node; its old pod (Recreate) gives its own back first
            plan["gpu_more"].append(
                {"name": name, "more": more, "amount": desktop["gpu"], "labels": {USER_LABEL: name}}
            )
            plan["gpu_needed"] += more
        if not objects:
            plan["created"].append(name)
            continue
        if elsewhere:
            _plan_move(plan, desktop, objects, elsewhere)
        else:
            _check_storage(plan, desktop, objects.get(here, {}).get("PersistentVolumeClaim"))
        if desktop["state"] == "restarted" and was_running and not elsewhere and "Deployment" in objects.get(here, {}):
            deployment = objects[here]["Deployment"]
            plan["restart"].append({"name": name, "namespace": here, "deployment": deployment["metadata"]["name"]})
    return plan


def _index(live):
    """{user: {namespace: {kind: object}}} for the desktop objects read back."""
    by_user = {}
    for kind, items in (live or {}).items():
        for item in items or []:
            meta = item.get("metadata") or {}
            user = (meta.get("labels") or {}).get(USER_LABEL)
            if user:
                by_user.setdefault(user, {}).setdefault(meta.get("namespace"), {})[kind] = item
    return by_user


def _stub(kind, namespace, name):
    return {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": {"name": name, "namespace": namespace}}


def _plan_removal(plan, name, objects, purge):
    for namespace in sorted(objects):
        for kind in DELETE_ORDER:
            obj = objects[namespace].get(kind)
            if obj is None:
                continue
            if kind in KEPT_UNLESS_PURGED and not purge:
                plan["kept"].append("%s %s/%s" % (kind, namespace, obj["metadata"]["name"]))
                continue
            plan["delete"].append(_stub(kind, namespace, obj["metadata"]["name"]))


def _plan_move(plan, desktop, objects, elsewhere):
    name, here = desktop["name"], desktop["namespace"]
    claims = sorted(ns for ns in objects if "PersistentVolumeClaim" in objects[ns])
    if len(elsewhere) > 1 or len(claims) > 1:
        plan["conflicts"].append(
            "%s has desktop objects in %s; a desktop lives in one namespace. Remove the copy that is not "
            "wanted (desktop.yml -e user=%s -e state=absent -e tier=..., in that tier) and run again."
            % (name, " and ".join(sorted(objects)), name)
        )
        return
    source = elsewhere[0]
    # A move that stopped half-way has its claim here already; it then only clears what is left there.
    claim = objects[source].get("PersistentVolumeClaim")
    if claim is not None:
        _check_storage(plan, desktop, claim)
    else:
        _check_storage(plan, desktop, objects.get(here, {}).get("PersistentVolumeClaim"))
    plan["moves"].append(
        {
            "name": name,
            "from": source,
            "to": here,
            "claim": claim["metadata"]["name"] if claim else "",
            "volume": ((claim or {}).get("spec") or {}).get("volumeName") or "",
        }
    )
    for kind in DELETE_ORDER:
        obj = objects[source].get(kind)
        if obj is not None and kind != "PersistentVolumeClaim":
            plan["delete"].append(_stub(kind, source, obj["metadata"]["name"]))


def _check_storage(plan, desktop, claim):
    if claim is None:
        return
    have = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
    try:
        same = have is not None and quantity.equal(have, desktop["storage"])
    except quantity.QuantityError:
        same = False
    if not same:
        plan["conflicts"].append(
            "%s: the volume %s/%s has %s, the inventory asks for %s. local-path volumes cannot be resized in "
            "place: keep storage at %s, or back the data up, delete the desktop with purge_data, and create it "
            "again."
            % (
                desktop["name"],
                claim["metadata"]["namespace"],
                claim["metadata"]["name"],
                have,
                desktop["storage"],
                have,
            )
        )


def _replicas(deployment):
    replicas = (deployment.get("spec") or {}).get("replicas")
    return 1 if replicas is None else replicas


def _held_gpus(objects, gpu_resource):
    held = 0
    for kinds in objects.values():
        deployment = kinds.get("Deployment")
        if deployment is None or _replicas(deployment) == 0:
            continue
        template = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in template.get("containers") or []:
            limit = ((container.get("resources") or {}).get("limits") or {}).get(gpu_resource)
            if limit is not None:
                try:
                    held += int(quantity.parse(limit))
                except quantity.QuantityError:
                    continue
    return held
