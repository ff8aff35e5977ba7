"""The ``scale`` subresource of Deployments, ReplicaSets and StatefulSets (autoscaling/v1 Scale)."""

from .selectors import requirements_from_label_selector


def to_scale(obj):
    spec = obj.get("spec") or {}
    selector = ",".join(
        "%s=%s" % (key, values[0]) if op == "=" else key
        for key, op, values in requirements_from_label_selector(spec.get("selector"))
    )
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
            "creationTimestamp": meta.get("creationTimestamp"),
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": selector},
    }


def with_replicas(obj, scale):
    """``obj`` (a copy) with the replicas and resourceVersion precondition of a written Scale."""
    new = dict(obj, spec=dict(obj.get("spec") or {}), metadata=dict(obj["metadata"]))
    new["spec"]["replicas"] = (scale.get("spec") or {}).get("replicas", 0)
    sent = (scale.get("metadata") or {}).get("resourceVersion")
    if sent:
        new["metadata"]["resourceVersion"] = sent
    else:
        new["metadata"].pop("resourceVersion", None)
    return new
