"""What a fresh k3s server already has: system namespaces, the HelmChart CRDs, local-path, the API Service."""

from .options import controller_write
from .store import clone

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _helm_crd(plural, kind):
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "%s.helm.cattle.io" % plural},
        "spec": {
            "group": "helm.cattle.io",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    "subresources": {"status": {}},
                }
            ],
        },
    }


LOCAL_PATH_CLASS = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {
        "name": "local-path",
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
    },
    "provisioner": "rancher.io/local-path",
    "reclaimPolicy": "Delete",
    "volumeBindingMode": "WaitForFirstConsumer",
}

API_SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
    "spec": {"clusterIP": "10.43.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
}


def bootstrap(api, k3s):
    options = controller_write("k3s")
    namespaces = api.registry.find("", "v1", "namespaces")
    for name in SYSTEM_NAMESPACES:
        api._create(namespaces, None, {"metadata": {"name": name}}, options, "Update")
    api._create(api.registry.find("", "v1", "services"), "default", clone(API_SERVICE), options, "Update")
    if not k3s:
        return
    crds = api.registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for plural, kind in (("helmcharts", "HelmChart"), ("helmchartconfigs", "HelmChartConfig")):
        api._create(crds, None, _helm_crd(plural, kind), options, "Update")
    api._create(
        api.registry.find("storage.k8s.io", "v1", "storageclasses"), None, clone(LOCAL_PATH_CLASS), options, "Update"
    )
