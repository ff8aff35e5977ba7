"""Which lists of built-in objects are merged item by item, and by which key.

Taken from the ``patchMergeKey``/``listMapKeys`` tags of k8s.io/api, reduced to the single key this server
uses for both strategic merge patch and server-side apply. Lists not named here are atomic (replaced whole).
``finalizers`` is a set of strings (merged by value).
"""

_KEYED = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "taints": "key",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
SET_LISTS = frozenset({"finalizers"})
_POD_SPEC_PARENTS = frozenset({"containers", "initContainers", "ephemeralContainers"})


def merge_key(path):
    """The merge key of the list at ``path`` (a tuple of field names), or None when the list is atomic."""
    if not path:
        return None
    last = path[-1]
    if last == "ports":
        # container ports merge by containerPort, Service ports by port
        return "containerPort" if len(path) > 1 and path[-2] in _POD_SPEC_PARENTS else "port"
    if last == "conditions" and "status" not in path:
        return None
    return _KEYED.get(last)


def is_set_list(path):
    return bool(path) and path[-1] in SET_LISTS
