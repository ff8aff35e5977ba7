"""StatefulSets and DaemonSets, reduced to their status: they report every replica ready at once.

No Pods are created for them (only Deployments and Jobs get Pods); a DaemonSet counts one replica per
schedulable Node, or one when there are no Nodes.
"""

from .base import Controller, self_key


class StatefulSetController(Controller):
    def keys_for(self, rtype, old, new):
        return self_key(rtype, "StatefulSet", old, new)

    def sync(self, key):
        sets = self.type("apps/v1", "statefulsets")
        obj = self.api.store.get(sets, *key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        replicas = obj["spec"].get("replicas", 1)
        revision = "%s-%s" % (obj["metadata"]["name"], obj["metadata"].get("generation", 1))
        status = {
            "observedGeneration": obj["metadata"].get("generation"),
            "replicas": replicas,
            "readyReplicas": replicas,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": replicas,
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        self.set_status(sets, obj, status)


class DaemonSetController(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind == "Node":
            sets = self.type("apps/v1", "daemonsets")
            return [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in self.api.store.items(sets)]
        return self_key(rtype, "DaemonSet", old, new)

    def sync(self, key):
        sets = self.type("apps/v1", "daemonsets")
        obj = self.api.store.get(sets, *key)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        nodes = self.api.store.items(self.type("v1", "nodes"))
        count = sum(1 for n in nodes if not (n.get("spec") or {}).get("unschedulable")) if nodes else 1
        status = {
            "observedGeneration": obj["metadata"].get("generation"),
            "currentNumberScheduled": count,
            "desiredNumberScheduled": count,
            "numberAvailable": count,
            "numberReady": count,
            "updatedNumberScheduled": count,
            "numberMisscheduled": 0,
        }
        self.set_status(sets, obj, status)
