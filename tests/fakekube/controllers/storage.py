"""Volume provisioning and binding, like k3s' local-path provisioner and the PV controller.

A claim without ``spec.volumeName`` gets a new PersistentVolume named ``pvc-<claim uid>`` with the claim's size
and class, and is Bound. A claim that names a volume is pre-bound: it binds to that volume when the volume's
``claimRef`` is empty or names this claim (namespace and name, uid empty or equal), and stays Pending otherwise.
When a claim goes, its volume is deleted (reclaim policy Delete) or kept as Released (Retain), with its
``claimRef`` still naming the old claim, as the real controller leaves it. Growing the claim's request grows the
volume and the claim's capacity. The class's ``WaitForFirstConsumer`` binding mode is not modelled: claims bind
at once.
"""

from ..store import clone
from .base import Controller


class VolumeClaimController(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind == "PersistentVolume":
            # a volume reserved for a claim (claimRef without uid) may let a Pending pre-bound claim bind
            ref = ((new or {}).get("spec") or {}).get("claimRef") or {}
            return ((ref["namespace"], ref["name"]),) if ref.get("name") and not ref.get("uid") else ()
        if rtype.kind != "PersistentVolumeClaim":
            return ()
        if new is None:
            return (("release", old["metadata"]["uid"]),)
        return ((new["metadata"]["namespace"], new["metadata"]["name"]),)

    def sync(self, key):
        volumes = self.type("v1", "persistentvolumes")
        if key[0] == "release":
            self._release(volumes, key[1])
            return
        claims = self.type("v1", "persistentvolumeclaims")
        claim = self.api.store.get(claims, *key)
        if claim is None or claim["metadata"].get("deletionTimestamp"):
            return
        if claim["spec"].get("volumeName") and not claim["metadata"].get("annotations", {}).get(
            "pv.kubernetes.io/bind-completed"
        ):
            self._bind_prebound(volumes, claims, claim)
            return
        size = claim["spec"]["resources"]["requests"]["storage"]
        volume_name = claim["spec"].get("volumeName") or "pvc-%s" % claim["metadata"]["uid"]
        volume = self.api.store.get(volumes, None, volume_name)
        if volume is None:
            self.create(volumes, None, _volume_for(claim, volume_name, size))
        elif volume["spec"]["capacity"]["storage"] != size:
            grown = clone(volume)
            grown["spec"]["capacity"]["storage"] = size
            self.update(volumes, volume, grown)
        if claim["spec"].get("volumeName") != volume_name:
            bound = clone(claim)
            bound["spec"]["volumeName"] = volume_name
            bound.setdefault("metadata", {}).setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
            claim = self.update(claims, claim, bound)
        status = {"phase": "Bound", "accessModes": claim["spec"].get("accessModes", []), "capacity": {"storage": size}}
        self.set_status(claims, claim, status)

    def _release(self, volumes, claim_uid):
        for volume in list(self.api.store.items(volumes)):
            if (volume["spec"].get("claimRef") or {}).get("uid") != claim_uid:
                continue
            if volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
                self.delete(volumes, volume)
            else:
                self.set_status(volumes, volume, {"phase": "Released"})

    def _bind_prebound(self, volumes, claims, claim):
        meta = claim["metadata"]
        volume = self.api.store.get(volumes, None, claim["spec"]["volumeName"])
        ref = (volume or {}).get("spec", {}).get("claimRef") or {}
        free_for_claim = volume is not None and (
            not ref
            or (
                (ref.get("namespace"), ref.get("name")) == (meta["namespace"], meta["name"])
                and ref.get("uid") in (None, "", meta["uid"])
            )
        )
        if not free_for_claim:
            self.set_status(claims, claim, {"phase": "Pending"})
            return
        bound_volume = clone(volume)
        bound_volume["spec"]["claimRef"] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
        }
        volume = self.update(volumes, volume, bound_volume)
        self.set_status(volumes, volume, {"phase": "Bound"})
        bound = clone(claim)
        bound["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
        claim = self.update(claims, claim, bound)
        status = {
            "phase": "Bound",
            "accessModes": volume["spec"].get("accessModes", []),
            "capacity": {"storage": volume["spec"]["capacity"]["storage"]},
        }
        self.set_status(claims, claim, status)


def _volume_for(claim, name, size):
    meta = claim["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": claim["spec"].get("accessModes", []),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": claim["spec"].get("storageClassName", ""),
            "volumeMode": claim["spec"].get("volumeMode", "Filesystem"),
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "hostPath": {
                "path": "/var/lib/rancher/k3s/storage/%s_%s_%s" % (name, meta["namespace"], meta["name"]),
                "type": "DirectoryOrCreate",
            },
        },
        "status": {"phase": "Bound"},
    }
