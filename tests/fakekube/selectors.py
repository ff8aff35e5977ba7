"""Label selectors (the string form of list requests and the structured form of workloads) and field selectors."""

import re

from .errors import bad_request

_SET_REQUIREMENT = re.compile(r"^(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(in|notin)\s*\(([^()]*)\))?$")
_COMPARISON = re.compile(r"^([A-Za-z0-9./_-]+)\s*(==|=|!=|>|<)\s*([A-Za-z0-9._-]*)$")


def _split_requirements(text):
    """Split at commas that are not inside ``in (...)`` value lists."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_label_selector(text):
    """Parse ``app=x,tier!=db,env in (a,b),!legacy`` into (key, operator, values) requirements."""
    requirements = []
    if not text or not text.strip():
        return requirements
    for part in _split_requirements(text):
        match = _COMPARISON.match(part)
        if match:
            key, operator, value = match.groups()
            operator = {"==": "=", "=": "="}.get(operator, operator)
            if operator in (">", "<") and not value.lstrip("-").isdigit():
                raise bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
            requirements.append((key, operator, (value,)))
            continue
        match = _SET_REQUIREMENT.match(part)
        if not match or (match.group(1) and match.group(3)):
            raise bad_request("unable to parse requirement: found '%s', expected: identifier" % part)
        negated, key, operator, values = match.groups()
        if operator:
            requirements.append((key, operator, tuple(v.strip() for v in values.split(",") if v.strip())))
        else:
            requirements.append((key, "!exists" if negated else "exists", ()))
    return requirements


def labels_match(labels, requirements):
    labels = labels or {}
    for key, operator, values in requirements:
        present = key in labels
        value = labels.get(key)
        if operator == "=" and (not present or value != values[0]):
            return False
        if operator == "!=" and present and value == values[0]:
            return False
        if operator == "in" and (not present or value not in values):
            return False
        if operator == "notin" and present and value in values:
            return False
        if operator == "exists" and not present:
            return False
        if operator == "!exists" and present:
            return False
        if operator in (">", "<"):
            if not present or not value.lstrip("-").isdigit():
                return False
            if (operator == ">" and int(value) <= int(values[0])) or (operator == "<" and int(value) >= int(values[0])):
                return False
    return True


def requirements_from_label_selector(selector):
    """Convert a structured ``LabelSelector`` (matchLabels/matchExpressions) into requirements."""
    selector = selector or {}
    requirements = [(k, "=", (v,)) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        requirements.append(
            (
                expression.get("key"),
                operators.get(expression.get("operator"), "in"),
                tuple(expression.get("values") or ()),
            )
        )
    return requirements


def selector_matches(selector, labels):
    """A structured LabelSelector; an empty selector matches everything, ``None`` matches nothing."""
    if selector is None:
        return False
    return labels_match(labels, requirements_from_label_selector(selector))


# Field selectors kube-apiserver supports beyond metadata.name and metadata.namespace, per kind.
FIELD_LABELS = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Node": ("spec.unschedulable",),
    "Namespace": ("status.phase",),
    "Secret": ("type",),
    "ReplicaSet": ("status.replicas",),
    "Job": ("status.successful",),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
}
_FIELD_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9._-]+)\s*(==|=|!=)\s*(.*?)\s*$")


def parse_field_selector(text, kind, custom=False):
    """Parse ``spec.nodeName=n1,status.phase!=Running`` into (field, negated, value) checks."""
    checks = []
    if not text or not text.strip():
        return checks
    allowed = ("metadata.name", "metadata.namespace", *FIELD_LABELS.get(kind, ()))
    for part in text.split(","):
        match = _FIELD_REQUIREMENT.match(part)
        if not match:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field, operator, value = match.groups()
        if field not in allowed and not custom:
            raise bad_request("field label not supported: %s" % field)
        if field not in ("metadata.name", "metadata.namespace") and custom:
            raise bad_request("field label not supported: %s" % field)
        checks.append((field, operator == "!=", value))
    return checks


def _field_value(obj, field):
    value = obj
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fields_match(obj, checks):
    return all((_field_value(obj, field) == value) != negated for field, negated, value in checks)
