"""Optional OpenAPI schema validation of built-in kinds, through the kubernetes-validate package.

Without the package (bare python3 in a container) schema checks are skipped and ``available()`` is False.
Validators are built once per (version, apiVersion, kind, strict): kubernetes-validate itself re-reads its
multi-megabyte schema files on every call, which would make this server about six times slower.
"""

import functools
import json
import re

try:
    import jsonschema
    import kubernetes_validate.utils as _kv
    from referencing import Registry, Resource
except ImportError:  # pragma: no cover - exercised only where the package is missing
    _kv = None


def available():
    return _kv is not None


@functools.lru_cache(maxsize=None)
def _schema_version(kube_version):
    wanted = tuple(int(p) for p in kube_version.lstrip("v").split(".")[:2])
    versions = [v for v in _kv.all_versions() if tuple(int(p) for p in v.split(".")[:2]) <= wanted]
    return versions[-1] if versions else None


@functools.lru_cache(maxsize=None)
def _validator(kube_version, api_version, kind, strict):
    version = _schema_version(kube_version)
    if version is None:
        return None
    directory = "kubernetes-json-schema/v%s-local%s" % (version, "-strict" if strict else "")
    file_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _kv.schema_contents("%s/%s-%s.json" % (directory, kind.lower(), file_version), kube_version)
    except (FileNotFoundError, _kv.VersionNotSupportedError):
        return None
    definitions = _kv.schema_contents("%s/_definitions.json" % directory, kube_version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def dotted(parts):
    """``("spec", "containers", 0, "imagee")`` as kube-apiserver prints it: ``spec.containers[0].imagee``."""
    out = ""
    for part in parts:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def check(kube_version, obj):
    """Schema problems of ``obj``: type errors as (dotted path, message), unknown fields as tuples of path parts.

    Results are cached by content, so an unchanged object (a no-op patch or re-apply) is not validated twice.
    """
    if _kv is None:
        return (), ()
    return _check(kube_version, json.dumps(obj, sort_keys=True))


@functools.lru_cache(maxsize=4096)
def _check(kube_version, serialized):
    """Validate the JSON text ``serialized`` against the strict schema of its kind.

    Only type errors count as errors: kube-apiserver fails to decode those, while the schema's ``required``
    lists are not what it enforces (its Go validation is, see validation.py). One pass of the strict schema
    finds both kinds.
    """
    obj = json.loads(serialized)
    validator = _validator(kube_version, obj.get("apiVersion"), obj.get("kind"), True)
    if validator is None:
        return (), ()
    type_errors, unknown = [], []
    for error in validator.iter_errors(obj):
        if error.validator == "type":
            type_errors.append((dotted(error.absolute_path), error.message))
        elif error.validator == "additionalProperties":
            for name in re.findall(r"'([^']+)'", error.message.split("(", 1)[-1]):
                unknown.append((*error.absolute_path, name))
    return tuple(type_errors), tuple(sorted(unknown, key=dotted))
