"""The resource types the server serves: the built-in table and those added by CustomResourceDefinitions."""

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "eviction": ("create",),
    "log": ("get",),
    "finalize": ("update",),
    "binding": ("create",),
}


class ResourceType:
    """One served resource (one group/version/plural), with what discovery says about it."""

    __slots__ = ("group", "kind", "namespaced", "plural", "short_names", "singular", "subresources", "version")

    def __init__(self, group, version, plural, kind, namespaced, short_names=(), subresources=(), singular=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = tuple(short_names)
        self.subresources = tuple(subresources)
        self.singular = singular or kind.lower()

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def group_resource(self):
        """How error messages name the resource, e.g. ``deployments.apps``."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    @property
    def custom(self):
        return self.group not in BUILTIN_GROUPS

    @property
    def has_status(self):
        return "status" in self.subresources

    def __repr__(self):
        return "ResourceType(%s, %s)" % (self.api_version, self.plural)


def _t(api_version, plural, kind, namespaced, short_names=(), subresources=()):
    group, _slash, version = api_version.rpartition("/")
    return ResourceType(group, version, plural, kind, namespaced, short_names, subresources)


BUILTIN_TYPES = (
    _t("v1", "namespaces", "Namespace", False, ["ns"], ["status", "finalize"]),
    _t("v1", "nodes", "Node", False, ["no"], ["status"]),
    _t("v1", "pods", "Pod", True, ["po"], ["status", "eviction", "log", "binding"]),
    _t("v1", "services", "Service", True, ["svc"], ["status"]),
    _t("v1", "endpoints", "Endpoints", True, ["ep"]),
    _t("v1", "secrets", "Secret", True),
    _t("v1", "configmaps", "ConfigMap", True, ["cm"]),
    _t("v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    _t("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], ["status"]),
    _t("v1", "persistentvolumes", "PersistentVolume", False, ["pv"], ["status"]),
    _t("v1", "resourcequotas", "ResourceQuota", True, ["quota"], ["status"]),
    _t("v1", "limitranges", "LimitRange", True, ["limits"]),
    _t("v1", "events", "Event", True, ["ev"]),
    _t("apps/v1", "deployments", "Deployment", True, ["deploy"], ["status", "scale"]),
    _t("apps/v1", "replicasets", "ReplicaSet", True, ["rs"], ["status", "scale"]),
    _t("apps/v1", "statefulsets", "StatefulSet", True, ["sts"], ["status", "scale"]),
    _t("apps/v1", "daemonsets", "DaemonSet", True, ["ds"], ["status"]),
    _t("batch/v1", "jobs", "Job", True, [], ["status"]),
    _t("batch/v1", "cronjobs", "CronJob", True, ["cj"], ["status"]),
    _t("networking.k8s.io/v1", "ingresses", "Ingress", True, ["ing"], ["status"]),
    _t("networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    _t("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    _t("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    _t("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    _t("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _t("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _t("storage.k8s.io/v1", "storageclasses", "StorageClass", False, ["sc"]),
    _t("node.k8s.io/v1", "runtimeclasses", "RuntimeClass", False),
    _t("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], ["status"]),
    _t("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False, ["pc"]),
    _t("coordination.k8s.io/v1", "leases", "Lease", True),
    _t(
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ["crd", "crds"],
        ["status"],
    ),
)
BUILTIN_GROUPS = frozenset(t.group for t in BUILTIN_TYPES)


class Registry:
    """The served types, looked up by URL (group, version, plural) or by apiVersion and kind."""

    def __init__(self):
        self._types = []
        self._by_path = {}
        self._by_kind = {}
        for rtype in BUILTIN_TYPES:
            self.add(rtype)

    def add(self, rtype):
        self._types.append(rtype)
        self._by_path[(rtype.group, rtype.version, rtype.plural)] = rtype
        self._by_kind[(rtype.api_version, rtype.kind)] = rtype

    def remove_group_resource(self, group, plural):
        gone = [t for t in self._types if t.group == group and t.plural == plural]
        for rtype in gone:
            self._types.remove(rtype)
            del self._by_path[(rtype.group, rtype.version, rtype.plural)]
            del self._by_kind[(rtype.api_version, rtype.kind)]
        return gone

    def find(self, group, version, plural):
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version, kind):
        return self._by_kind.get((api_version, kind))

    def in_group_version(self, group, version):
        return [t for t in self._types if t.group == group and t.version == version]

    def group_versions(self):
        """``{group: [versions]}`` for the named groups, in the order they were added."""
        groups = {}
        for rtype in self._types:
            if rtype.group:
                versions = groups.setdefault(rtype.group, [])
                if rtype.version not in versions:
                    versions.append(rtype.version)
        return groups

    def __iter__(self):
        return iter(list(self._types))


def types_from_crd(crd):
    """The ResourceTypes a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        yield ResourceType(
            spec["group"],
            version["name"],
            names["plural"],
            names["kind"],
            spec.get("scope", "Namespaced") == "Namespaced",
            names.get("shortNames") or (),
            sorted((version.get("subresources") or {}).keys()),
            names.get("singular"),
        )
