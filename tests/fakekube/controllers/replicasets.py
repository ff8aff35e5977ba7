"""ReplicaSet controller: keeps ``spec.replicas`` Pods (from the template, owned by the ReplicaSet)."""

from ..errors import ApiError
from ..store import clone
from .base import Controller, is_active, is_ready, owner_keys, owner_reference, self_key, set_condition


class ReplicaSetController(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind == "Pod":
            return owner_keys(new or old, "ReplicaSet")
        return self_key(rtype, "ReplicaSet", old, new)

    def sync(self, key):
        namespace, name = key
        replica_sets = self.type("apps/v1", "replicasets")
        pods_type = self.type("v1", "pods")
        replica_set = self.api.store.get(replica_sets, namespace, name)
        if replica_set is None or replica_set["metadata"].get("deletionTimestamp"):
            return
        wanted = (replica_set.get("spec") or {}).get("replicas", 1)
        pods = [p for p in self.api.store.owned(pods_type, replica_set) if is_active(p)]
        failure = None
        for _missing in range(wanted - len(pods)):
            try:
                pods.append(self.create(pods_type, namespace, self._new_pod(replica_set)))
            except ApiError as error:  # e.g. admission refused the Pod: report it, as the real controller does
                failure = error.message
                break
        if len(pods) > wanted:
            # the real controller deletes unscheduled, then not-ready, then newest Pods first
            pods.sort(key=lambda p: (bool(p["spec"].get("nodeName")), is_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in pods[: len(pods) - wanted]:
                self.delete(pods_type, pod)
            pods = pods[len(pods) - wanted :]
        pods = [self.api.store.get(pods_type, namespace, p["metadata"]["name"]) for p in pods]
        pods = [p for p in pods if p is not None]
        ready = sum(1 for p in pods if is_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": replica_set["metadata"].get("generation"),
        }
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        if failure:
            status["conditions"] = set_condition(
                (replica_set.get("status") or {}).get("conditions"), "ReplicaFailure", "True", "FailedCreate", failure
            )
        self.set_status(replica_sets, replica_set, status)

    def _new_pod(self, replica_set):
        template = clone((replica_set.get("spec") or {}).get("template") or {})
        meta = template.get("metadata") or {}
        meta.pop("name", None)
        meta["generateName"] = "%s-" % replica_set["metadata"]["name"]
        meta["ownerReferences"] = [owner_reference(replica_set)]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template.get("spec") or {}}
