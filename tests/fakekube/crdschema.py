"""Custom resources against their CRD's structural schema: defaulting, pruning and validation (a subset).

kube-apiserver drops fields a CRD's ``openAPIV3Schema`` does not declare (unless
``x-kubernetes-preserve-unknown-fields``), fills ``default`` values, and refuses values of the wrong type,
outside ``enum``, or missing when ``required``. This module does the same for the keywords below; CEL rules
(``x-kubernetes-validations``), formats and patterns are not checked.
"""

from .errors import invalid_value, required, unsupported_value
from .schema import dotted

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")
_PYTHON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def version_schema(crd, version):
    """The openAPIV3Schema a CRD declares for ``version``, or None."""
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            return (entry.get("schema") or {}).get("openAPIV3Schema")
    return None


def apply_schema(obj, schema):
    """Default and prune ``obj`` in place; returns (causes, pruned paths as tuples)."""
    pruned = []
    causes = []
    for field, value in list(obj.items()):
        if field in _ROOT_FIELDS:
            continue
        properties = schema.get("properties") or {}
        if field not in properties and not schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[field]
            pruned.append((field,))
            continue
        if field in properties:
            obj[field] = _walk(value, properties[field], (field,), causes, pruned)
    _default(obj, schema)
    causes.extend(_required(obj, schema, ()))
    return causes, pruned


def _walk(value, schema, path, causes, pruned):
    if value is None:
        if not schema.get("nullable"):
            detail = '%s in body must be of type %s: "null"' % (dotted(path), schema.get("type", "object"))
            causes.append(invalid_value(dotted(path), "null", detail))
        return value
    if not _type_ok(value, schema):
        detail = '%s in body must be of type %s: "%s"' % (dotted(path), schema.get("type"), _json_type(value))
        causes.append(invalid_value(dotted(path), _json_type(value), detail))
        return value
    if "enum" in schema and value not in schema["enum"]:
        causes.append(unsupported_value(dotted(path), value, [str(v) for v in schema["enum"]]))
    for bound, compare, words in (
        ("minimum", lambda v, b: v < b, "greater than or equal to"),
        ("maximum", lambda v, b: v > b, "less than or equal to"),
    ):
        if bound in schema and isinstance(value, (int, float)) and compare(value, schema[bound]):
            causes.append(invalid_value(dotted(path), value, "should be %s %s" % (words, schema[bound])))
    if isinstance(value, dict):
        _walk_object(value, schema, path, causes, pruned)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            value[index] = _walk(item, schema["items"], (*path, index), causes, pruned)
    return value


def _walk_object(value, schema, path, causes, pruned):
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for field in list(value):
        if field in properties:
            value[field] = _walk(value[field], properties[field], (*path, field), causes, pruned)
        elif isinstance(extra, dict):
            value[field] = _walk(value[field], extra, (*path, field), causes, pruned)
        elif not schema.get("x-kubernetes-preserve-unknown-fields") and extra is not True:
            del value[field]
            pruned.append((*path, field))
    _default(value, schema)
    causes.extend(_required(value, schema, path))


def _default(value, schema):
    for field, field_schema in (schema.get("properties") or {}).items():
        if field not in value and "default" in field_schema:
            value[field] = field_schema["default"]


def _required(value, schema, path):
    return [required(dotted((*path, field))) for field in schema.get("required") or [] if field not in value]


def _type_ok(value, schema):
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    expected = schema.get("type")
    if not expected:
        return True
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PYTHON_TYPES.get(expected, (object,)))


def _json_type(value):
    for name, types in (
        ("boolean", (bool,)),
        ("integer", (int,)),
        ("number", (float,)),
        ("string", (str,)),
        ("array", (list,)),
        ("object", (dict,)),
    ):
        if isinstance(value, types):
            return name
    return "null"
