"""Deployment controller: one ReplicaSet per pod template, old ones scaled to zero (Recreate semantics).

Names follow kube-controller-manager: ReplicaSet ``<deployment>-<pod-template-hash>`` and Pods
``<deployment>-<pod-template-hash>-<5 chars>``. Status reports replicas, readiness and the Available and
Progressing conditions from the ReplicaSets.
"""

import json

from ..store import clone
from .base import Controller, owner_keys, owner_reference, self_key, set_condition

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template):
    """A short, stable hash of a pod template, spelled like the real controller's."""
    value = 0x811C9DC5
    for byte in json.dumps(template, sort_keys=True).encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in str(value))


def max_unavailable(deployment):
    spec = deployment.get("spec") or {}
    replicas = spec.get("replicas", 1)
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return min(int(value[:-1]) * replicas // 100, replicas)
    return min(int(value), replicas)


class DeploymentController(Controller):
    def keys_for(self, rtype, old, new):
        if rtype.kind == "ReplicaSet":
            return owner_keys(new or old, "Deployment")
        return self_key(rtype, "Deployment", old, new)

    def sync(self, key):
        namespace, name = key
        deployments = self.type("apps/v1", "deployments")
        replica_sets = self.type("apps/v1", "replicasets")
        deployment = self.api.store.get(deployments, namespace, name)
        if deployment is None or deployment["metadata"].get("deletionTimestamp"):
            return
        spec = deployment.get("spec") or {}
        owned = self.api.store.owned(replica_sets, deployment)
        template = spec.get("template") or {}
        wanted_hash = template_hash(template)
        current = next((rs for rs in owned if rs["metadata"].get("labels", {}).get(HASH_LABEL) == wanted_hash), None)
        revisions = [int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")) for rs in owned]
        if not spec.get("paused"):
            for old_rs in owned:
                if old_rs is not current and (old_rs.get("spec") or {}).get("replicas", 0) != 0:
                    self.update(replica_sets, old_rs, _scaled(old_rs, 0))
            if current is None:
                current = self.create(
                    replica_sets,
                    namespace,
                    _new_replica_set(deployment, template, wanted_hash, max(revisions or [0]) + 1),
                )
            elif current["spec"].get("replicas") != spec.get("replicas", 1):
                current = self.update(replica_sets, current, _scaled(current, spec.get("replicas", 1)))
            self._prune_history(replica_sets, deployment, current)
        self._annotate_revision(deployments, deployment, current)
        self._report(deployments, replica_sets, namespace, name, current)

    def _prune_history(self, replica_sets, deployment, current):
        limit = (deployment.get("spec") or {}).get("revisionHistoryLimit", 10)
        old = [
            rs
            for rs in self.api.store.owned(replica_sets, deployment)
            if rs is not current and (rs.get("spec") or {}).get("replicas", 0) == 0
        ]
        old.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")))
        for rs in old[: max(len(old) - limit, 0)]:
            self.delete(replica_sets, rs)

    def _annotate_revision(self, deployments, deployment, current):
        if current is None:
            return
        revision = (current["metadata"].get("annotations") or {}).get(REVISION)
        if revision and (deployment["metadata"].get("annotations") or {}).get(REVISION) != revision:
            updated = clone(deployment)
            updated["metadata"].setdefault("annotations", {})[REVISION] = revision
            self.update(deployments, deployment, updated)

    def _report(self, deployments, replica_sets, namespace, name, current):
        deployment = self.api.store.get(deployments, namespace, name)
        owned = self.api.store.owned(replica_sets, deployment)
        wanted = (deployment.get("spec") or {}).get("replicas", 1)
        replicas = sum((rs.get("status") or {}).get("replicas", 0) for rs in owned)
        ready = sum((rs.get("status") or {}).get("readyReplicas", 0) for rs in owned)
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in owned)
        updated = (current.get("status") or {}).get("replicas", 0) if current is not None else 0
        old_status = deployment.get("status") or {}
        status = {"observedGeneration": deployment["metadata"].get("generation")}
        for field, value in (
            ("replicas", replicas),
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", max(wanted - available, 0)),
        ):
            if value:
                status[field] = value
        conditions = old_status.get("conditions")
        if available >= wanted - max_unavailable(deployment):
            conditions = set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                with_update_time=True,
            )
        else:
            conditions = set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                with_update_time=True,
            )
        rs_name = current["metadata"]["name"] if current is not None else name
        if current is not None and updated == wanted and available >= wanted:
            conditions = set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                'ReplicaSet "%s" has successfully progressed.' % rs_name,
                with_update_time=True,
            )
        else:
            conditions = set_condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                'ReplicaSet "%s" is progressing.' % rs_name,
                with_update_time=True,
            )
        failures = [
            condition
            for rs in owned
            for condition in (rs.get("status") or {}).get("conditions") or []
            if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True"
        ]
        if failures:
            conditions = set_condition(conditions, "ReplicaFailure", "True", "FailedCreate", failures[0]["message"])
        else:
            conditions = [c for c in conditions if c.get("type") != "ReplicaFailure"]
        status["conditions"] = conditions
        self.set_status(deployments, deployment, status)


def _scaled(replica_set, replicas):
    scaled = clone(replica_set)
    scaled["spec"]["replicas"] = replicas
    return scaled


def _new_replica_set(deployment, template, wanted_hash, revision):
    name = deployment["metadata"]["name"]
    template = clone(template)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = wanted_hash
    selector = clone((deployment.get("spec") or {}).get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = wanted_hash
    labels = dict(template["metadata"]["labels"])
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "%s-%s" % (name, wanted_hash),
            "labels": labels,
            "annotations": {REVISION: str(revision)},
            "ownerReferences": [owner_reference(deployment)],
        },
        "spec": {
            "replicas": (deployment.get("spec") or {}).get("replicas", 1),
            "selector": selector,
            "template": template,
        },
    }
