"""Update rules: fields kube-apiserver refuses to change once an object exists."""

from .errors import field_error, forbidden_field, invalid_value
from .quantity import QuantityError, parse_quantity

_IMMUTABLE = "field is immutable"


def update_problems(kind, new, old):
    check = _RULES.get(kind)
    return check(new, old) if check else []


def _spec(obj):
    return obj.get("spec") or {}


def _selector_fixed(new, old):
    if _spec(new).get("selector") != _spec(old).get("selector"):
        return [invalid_value("spec.selector", _spec(new).get("selector"), _IMMUTABLE)]
    return []


_STATEFUL_SET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def _stateful_set(new, old):
    fixed_new = {k: v for k, v in _spec(new).items() if k not in _STATEFUL_SET_MUTABLE}
    fixed_old = {k: v for k, v in _spec(old).items() if k not in _STATEFUL_SET_MUTABLE}
    if fixed_new != fixed_old:
        return [
            forbidden_field(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            )
        ]
    return []


def _job(new, old):
    causes = _selector_fixed(new, old)
    if _spec(new).get("template") != _spec(old).get("template"):
        causes.append(invalid_value("spec.template", "...", _IMMUTABLE))
    if _spec(new).get("completions") != _spec(old).get("completions"):
        causes.append(invalid_value("spec.completions", _spec(new).get("completions"), _IMMUTABLE))
    return causes


def _storage_request(spec):
    return ((spec.get("resources") or {}).get("requests") or {}).get("storage")


def _pvc(new, old):
    def without_requests(spec):
        spec = dict(spec)
        spec["resources"] = {k: v for k, v in (spec.get("resources") or {}).items() if k != "requests"}
        if not old_spec.get("volumeName"):
            spec.pop("volumeName", None)  # binding fills volumeName in once
        return spec

    old_spec, new_spec = _spec(old), _spec(new)
    if without_requests(new_spec) != without_requests(old_spec):
        return [
            forbidden_field(
                "spec",
                "spec is immutable after creation except resources.requests and volumeAttributesClassName "
                "for bound claims",
            )
        ]
    try:
        grown = parse_quantity(_storage_request(new_spec)) >= parse_quantity(_storage_request(old_spec))
    except (QuantityError, TypeError):
        return []
    if not grown:
        return [forbidden_field("spec.resources.requests.storage", "field can not be less than previous value")]
    return []


def _immutable_data(new, old):
    if not old.get("immutable"):
        return []
    causes = []
    for field in ("data", "binaryData", "stringData"):
        if new.get(field) != old.get(field):
            causes.append(forbidden_field(field, "field is immutable when `immutable` is set"))
    if not new.get("immutable"):
        causes.append(forbidden_field("immutable", "field is immutable when `immutable` is set"))
    return causes


def _secret(new, old):
    causes = _immutable_data(new, old)
    if new.get("type") != old.get("type"):
        causes.append(invalid_value("type", new.get("type"), _IMMUTABLE))
    return causes


def _service(new, old):
    new_ip, old_ip = _spec(new).get("clusterIP"), _spec(old).get("clusterIP")
    if old_ip and new_ip != old_ip:
        return [invalid_value("spec.clusterIPs[0]", [new_ip] if new_ip else [], "may not change once set")]
    return []


_POD_MUTABLE = frozenset({"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "schedulingGates"})


def _pod(new, old):
    def fixed(spec):
        spec = {k: v for k, v in spec.items() if k not in _POD_MUTABLE}
        for group in ("containers", "initContainers"):
            spec[group] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get(group) or []]
        if not _spec(old).get("nodeName"):
            spec.pop("nodeName", None)  # binding sets nodeName once
        return spec

    if fixed(_spec(new)) != fixed(_spec(old)):
        return [
            forbidden_field(
                "spec",
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                "previously negative)",
            )
        ]
    return []


def _role_binding(new, old):
    if new.get("roleRef") != old.get("roleRef"):
        return [invalid_value("roleRef", new.get("roleRef"), "cannot change roleRef")]
    return []


def _storage_class(new, old):
    causes = []
    for field in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
        if new.get(field) != old.get(field):
            causes.append(field_error("FieldValueForbidden", field, "Forbidden: updates to %s are forbidden." % field))
    return causes


def _crd(new, old):
    if _spec(new).get("scope") != _spec(old).get("scope"):
        return [invalid_value("spec.scope", _spec(new).get("scope"), _IMMUTABLE)]
    return []


_RULES = {
    "Deployment": _selector_fixed,
    "ReplicaSet": _selector_fixed,
    "DaemonSet": _selector_fixed,
    "StatefulSet": _stateful_set,
    "Job": _job,
    "PersistentVolumeClaim": _pvc,
    "Secret": _secret,
    "ConfigMap": _immutable_data,
    "Service": _service,
    "Pod": _pod,
    "RoleBinding": _role_binding,
    "ClusterRoleBinding": _role_binding,
    "StorageClass": _storage_class,
    "CustomResourceDefinition": _crd,
}
