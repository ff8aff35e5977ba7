"""Shared helpers of the fake controllers."""

from ..clock import now
from ..options import controller_write
from ..store import clone


class Controller:
    """Reacts to stored changes: ``keys_for`` says what to sync, ``sync`` converges one key."""

    def __init__(self, api):
        self.api = api

    def keys_for(self, rtype, old, new):
        return ()

    def sync(self, key):
        raise NotImplementedError

    def type(self, api_version, plural):
        group, _slash, version = api_version.rpartition("/")
        return self.api.registry.find(group, version, plural)

    def create(self, rtype, namespace, obj):
        return self.api._create(rtype, namespace, obj, controller_write(), "Update")[0]

    def update(self, rtype, old, new):
        return self.api._update(rtype, old, new, controller_write())[0]

    def set_status(self, rtype, obj, status):
        return self.api.write_status(rtype, obj, status)

    def delete(self, rtype, obj):
        meta = obj["metadata"]
        if self.api.store.get(rtype, meta.get("namespace"), meta["name"]) is not None:
            self.api.delete(rtype, meta.get("namespace"), meta["name"], controller_write())


def owner_keys(obj, kind):
    """(namespace, name) of the controlling owners of ``obj`` with this kind."""
    meta = (obj or {}).get("metadata") or {}
    return [
        (meta.get("namespace"), ref.get("name"))
        for ref in meta.get("ownerReferences") or []
        if ref.get("kind") == kind and ref.get("controller")
    ]


def owned_by(obj, owner):
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def owner_reference(owner):
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def self_key(rtype, kind, old, new):
    if rtype.kind != kind:
        return ()
    obj = new or old
    return ((obj["metadata"].get("namespace"), obj["metadata"]["name"]),) if new is not None else ()


def set_condition(conditions, kind, status, reason, message="", with_update_time=False):
    """Return ``conditions`` with one condition set; times move only when the status changes."""
    conditions = clone(conditions or [])
    current = next((c for c in conditions if c.get("type") == kind), None)
    if current is not None and current.get("status") == status and current.get("reason") == reason:
        if message:
            current["message"] = message
        return conditions
    stamp = now()
    condition = {"type": kind, "status": status, "reason": reason}
    if message:
        condition["message"] = message
    if with_update_time:
        condition["lastUpdateTime"] = stamp
    condition["lastTransitionTime"] = (
        current["lastTransitionTime"] if current is not None and current.get("status") == status else stamp
    )
    if current is None:
        conditions.append(condition)
    else:
        conditions[conditions.index(current)] = condition
    return conditions


def is_ready(pod):
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def is_active(pod):
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )
