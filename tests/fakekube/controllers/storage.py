"""Volume provisioning, like k3s' local-path provisioner: every PVC gets a PersistentVolume and is Bound.

The PersistentVolume is named ``pvc-<claim uid>``, has the claim's size and class, and goes away with the claim
(reclaim policy Delete). Growing the claim's request grows the volume and the claim's capacity. The class's
``WaitForFirstConsumer`` binding mode is not modelled: claims bind at once.
"""

from ..store import clone
from .base import Controller


class VolumeClaimController(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind != "PersistentVolumeClaim":
            return ()
        if new is None:
            return (("release", old["metadata"]["uid"]),)
        return ((new["metadata"]["namespace"], new["metadata"]["name"]),)

    def sync(self, key):
        volumes = self.type("v1", "persistentvolumes")
        if key[0] == "release":
            volume = self.api.store.get(volumes, None, "pvc-%s" % key[1])
            if volume is not None and volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
                self.delete(volumes, volume)
            return
        claims = self.type("v1", "persistentvolumeclaims")
        claim = self.api.store.get(claims, *key)
        if claim is None or claim["metadata"].get("deletionTimestamp"):
            return
        size = claim["spec"]["resources"]["requests"]["storage"]
        volume_name = "pvc-%s" % claim["metadata"]["uid"]
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
