"""The HelmChart and HelmChartConfig CRDs that k3s installs (helm.cattle.io/v1), with a compact schema.

The fields are those of k3s-io/helm-controller's generated CRDs (the union over recent releases, which added
``values``, ``forceConflicts`` and ``valuesSecrets`` over time), so a misspelt field is pruned as on k3s.
Enums and defaults are left out because they changed between releases; the pod and container security contexts
are kept open instead of repeating the core schemas.
"""

_STRING = {"type": "string"}
_BOOLEAN = {"type": "boolean"}
_OPEN_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_REFERENCE = {"type": "object", "properties": {"name": _STRING}}
_VALUES_SECRETS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": _STRING, "keys": {"type": "array", "items": _STRING}, "ignoreUpdates": _BOOLEAN},
    },
}
_SHARED_SPEC = {
    "failurePolicy": _STRING,
    "forceConflicts": _BOOLEAN,
    "values": {"x-kubernetes-preserve-unknown-fields": True},
    "valuesContent": _STRING,
    "valuesSecrets": _VALUES_SECRETS,
}
HELM_CHART_SPEC = dict(
    _SHARED_SPEC,
    authPassCredentials=_BOOLEAN,
    authSecret=_REFERENCE,
    backOffLimit={"type": "integer"},
    bootstrap=_BOOLEAN,
    chart=_STRING,
    chartContent=_STRING,
    createNamespace=_BOOLEAN,
    dockerRegistrySecret=_REFERENCE,
    helmVersion=_STRING,
    insecureSkipTLSVerify=_BOOLEAN,
    jobImage=_STRING,
    plainHTTP=_BOOLEAN,
    podSecurityContext=_OPEN_OBJECT,
    repo=_STRING,
    repoCA=_STRING,
    repoCAConfigMap=_REFERENCE,
    securityContext=_OPEN_OBJECT,
    set={"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": True}},
    targetNamespace=_STRING,
    timeout=_STRING,
    version=_STRING,
)
HELM_CHART_STATUS = {
    "type": "object",
    "properties": {
        "jobName": _STRING,
        "conditions": {"type": "array", "items": _OPEN_OBJECT},
    },
}


def _crd(plural, kind, spec_properties, status=None, short_names=()):
    properties = {"spec": {"type": "object", "properties": spec_properties}}
    if status:
        properties["status"] = status
    version = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": properties}},
    }
    if status:
        version["subresources"] = {"status": {}}
    names = {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"}
    if short_names:
        names["shortNames"] = list(short_names)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.helm.cattle.io" % plural},
        "spec": {"group": "helm.cattle.io", "scope": "Namespaced", "names": names, "versions": [version]},
    }


def helm_crds():
    return [
        _crd("helmcharts", "HelmChart", HELM_CHART_SPEC, HELM_CHART_STATUS),
        _crd("helmchartconfigs", "HelmChartConfig", dict(_SHARED_SPEC), short_names=("hcc",)),
    ]
