"""Semantic validation of an object on create and update (a subset of kube-apiserver's validation).

``problems(rtype, obj)`` returns a list of StatusCauses; the caller raises ``Invalid`` when it is not empty.
Rules that compare with the stored object are in immutability.py.
"""

import base64
import binascii
import re

from .errors import field_error, invalid_value, required, unsupported_value
from .names import is_dns1123_label, label_value_problems, name_problems, qualified_name_problems
from .quantity import QuantityError, parse_quantity
from .selectors import selector_matches

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# resources whose requests must equal their limits (no overcommit); everything outside the core names
_STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage", "storage"})


def problems(rtype, obj):
    causes = _metadata(rtype, obj.get("metadata") or {})
    check = _KIND_RULES.get(rtype.kind)
    if check:
        causes.extend(check(obj))
    return causes


def _metadata(rtype, meta):
    causes = []
    name = meta.get("name") or ""
    for problem in name_problems(rtype.kind, name):
        causes.append(invalid_value("metadata.name", name, problem))
    for field in ("labels", "annotations"):
        for key, value in (meta.get(field) or {}).items():
            for problem in qualified_name_problems(key):
                causes.append(invalid_value("metadata.%s" % field, key, problem))
            if field == "labels":
                for problem in label_value_problems(value):
                    causes.append(invalid_value("metadata.labels", value, problem))
            elif not isinstance(value, str):
                causes.append(invalid_value("metadata.annotations", key, "must be a string"))
    return causes


def _selector_workload(obj):
    spec = obj.get("spec") or {}
    causes = []
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(required("spec.selector"))
    elif not selector_matches(selector, labels):
        causes.append(
            invalid_value("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")
        )
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        causes.append(invalid_value("spec.replicas", replicas, "must be greater than or equal to 0"))
    causes.extend(_pod_spec(template.get("spec"), "spec.template.spec"))
    return causes


def _daemon_set(obj):
    causes = [c for c in _selector_workload(obj) if c["field"] != "spec.replicas"]
    return causes


def _job(obj):
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    causes = _pod_spec(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy not in ("OnFailure", "Never"):
        causes.append(unsupported_value("spec.template.spec.restartPolicy", policy, ["OnFailure", "Never"]))
    return causes


def _pod(obj):
    causes = _pod_spec(obj.get("spec"), "spec")
    policy = (obj.get("spec") or {}).get("restartPolicy")
    if policy not in ("Always", "OnFailure", "Never"):
        causes.append(unsupported_value("spec.restartPolicy", policy, ["Always", "OnFailure", "Never"]))
    return causes


def _pod_spec(spec, path):
    if not isinstance(spec, dict):
        return [required(path + ".containers")]
    causes = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append(required(path + ".containers"))
    seen = set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            causes.extend(_container(container, "%s.%s[%d]" % (path, group, index), seen))
    volume_names = set()
    for index, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name") or ""
        field = "%s.volumes[%d].name" % (path, index)
        if not name:
            causes.append(required(field))
        elif not is_dns1123_label(name):
            causes.append(invalid_value(field, name, name_problems("Namespace", name)[0]))
        elif name in volume_names:
            causes.append(field_error("FieldValueDuplicate", field, 'Duplicate value: "%s"' % name))
        volume_names.add(name)
    return causes


def _container(container, path, seen):
    causes = []
    name = container.get("name") or ""
    if not name:
        causes.append(required(path + ".name"))
    elif not is_dns1123_label(name):
        causes.append(invalid_value(path + ".name", name, name_problems("Namespace", name)[0]))
    elif name in seen:
        causes.append(field_error("FieldValueDuplicate", path + ".name", 'Duplicate value: "%s"' % name))
    seen.add(name)
    if not container.get("image"):
        causes.append(required(path + ".image"))
    for index, port in enumerate(container.get("ports") or []):
        number = port.get("containerPort")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid_value(
                    "%s.ports[%d].containerPort" % (path, index), number, "must be between 1 and 65535, inclusive"
                )
            )
    causes.extend(_resources(container.get("resources") or {}, path + ".resources"))
    return causes


def _resources(resources, path):
    causes = []
    parsed = {}
    for section in ("limits", "requests"):
        for name, value in (resources.get(section) or {}).items():
            try:
                parsed[(section, name)] = parse_quantity(value)
            except QuantityError as error:
                causes.append(invalid_value("%s.%s[%s]" % (path, section, name), value, str(error)))
    for (section, name), amount in parsed.items():
        if section != "requests":
            continue
        limit = parsed.get(("limits", name))
        if name not in _STANDARD_RESOURCES and not name.startswith("hugepages-"):
            if limit is None:
                causes.append(
                    field_error(
                        "FieldValueRequired",
                        "%s.limits" % path,
                        "Required value: Limit must be set for non overcommitable resources",
                    )
                )
            elif limit != amount:
                causes.append(
                    invalid_value(
                        "%s.requests[%s]" % (path, name),
                        str(resources["requests"][name]),
                        "must be equal to %s limit" % name,
                    )
                )
        elif limit is not None and amount > limit:
            causes.append(
                invalid_value(
                    "%s.requests" % path,
                    str(resources["requests"][name]),
                    "must be less than or equal to %s limit of %s" % (name, resources["limits"][name]),
                )
            )
    for (_section, name), amount in parsed.items():
        if name not in _STANDARD_RESOURCES and amount.denominator != 1:
            causes.append(invalid_value("%s[%s]" % (path, name), str(amount), "must be an integer"))
    return causes


def _service(obj):
    spec = obj.get("spec") or {}
    causes = []
    service_type = spec.get("type")
    if service_type not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            unsupported_value("spec.type", service_type, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"])
        )
    ports = spec.get("ports") or []
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    names = set()
    for index, port in enumerate(ports):
        name = port.get("name")
        if len(ports) > 1 and not name:
            causes.append(required("spec.ports[%d].name" % index))
        if name in names:
            causes.append(
                field_error("FieldValueDuplicate", "spec.ports[%d].name" % index, 'Duplicate value: "%s"' % name)
            )
        names.add(name)
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid_value("spec.ports[%d].port" % index, number, "must be between 1 and 65535, inclusive")
            )
    return causes


def _pvc(obj):
    spec = obj.get("spec") or {}
    causes = []
    if not spec.get("accessModes"):
        causes.append(required("spec.accessModes", "Required value: at least 1 access mode is required"))
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(required("spec.resources[storage]"))
    else:
        try:
            parse_quantity(storage)
        except QuantityError as error:
            causes.append(invalid_value("spec.resources.requests[storage]", storage, str(error)))
    return causes


def _data_keys(obj, fields):
    causes = []
    for field in fields:
        for key in obj.get(field) or {}:
            if not _CONFIG_KEY.match(key) or len(key) > 253:
                causes.append(
                    invalid_value(
                        "%s[%s]" % (field, key),
                        key,
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
                        "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                    )
                )
    return causes


def _secret(obj):
    causes = _data_keys(obj, ("data",))
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(value or "", validate=True)
        except (binascii.Error, TypeError, ValueError):
            causes.append(invalid_value("data[%s]" % key, "<secret contents redacted>", "illegal base64 data"))
    return causes


def _config_map(obj):
    return _data_keys(obj, ("data", "binaryData"))


def _crd(obj):
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes = []
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append(required("spec.names.%s" % field))
    if not spec.get("group"):
        causes.append(required("spec.group"))
    expected = "%s.%s" % (names.get("plural"), spec.get("group"))
    if obj["metadata"].get("name") != expected:
        causes.append(
            invalid_value("metadata.name", obj["metadata"].get("name"), 'must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(unsupported_value("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            required("spec.versions", "Required value: must have exactly one version marked as storage version")
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(invalid_value("spec.versions", None, "must have exactly one version marked as storage version"))
    return causes


def _role_binding(obj):
    ref = obj.get("roleRef") or {}
    return [required("roleRef.%s" % field) for field in ("kind", "name") if not ref.get(field)]


def _ingress(obj):
    causes = []
    for r_index, rule in enumerate((obj.get("spec") or {}).get("rules") or []):
        for p_index, path in enumerate(((rule.get("http") or {}).get("paths")) or []):
            field = "spec.rules[%d].http.paths[%d].pathType" % (r_index, p_index)
            if not path.get("pathType"):
                causes.append(required(field, "Required value: pathType must be specified"))
            elif path["pathType"] not in ("Exact", "Prefix", "ImplementationSpecific"):
                causes.append(unsupported_value(field, path["pathType"], ["Exact", "ImplementationSpecific", "Prefix"]))
    return causes


_KIND_RULES = {
    "Deployment": _selector_workload,
    "ReplicaSet": _selector_workload,
    "StatefulSet": _selector_workload,
    "DaemonSet": _daemon_set,
    "Job": _job,
    "Pod": _pod,
    "Service": _service,
    "PersistentVolumeClaim": _pvc,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "CustomResourceDefinition": _crd,
    "RoleBinding": _role_binding,
    "ClusterRoleBinding": _role_binding,
    "Ingress": _ingress,
}
