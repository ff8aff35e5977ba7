"""What a fresh k3s server already has: system namespaces, the API Service, the built-in PriorityClasses and,
unless ``k3s=False``, the HelmChart CRDs, the local-path StorageClass and the NVIDIA RuntimeClasses."""

from .helmcrds import helm_crds
from .options import controller_write
from .store import clone

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


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

# every cluster has these two (kube-apiserver creates them)
SYSTEM_PRIORITY_CLASSES = (("system-cluster-critical", 2000000000), ("system-node-critical", 2000001000))
# k3s' runtimes manifest registers RuntimeClasses for the container runtimes it can find; these are the NVIDIA ones
K3S_RUNTIME_CLASSES = ("nvidia", "nvidia-experimental")


def bootstrap(api, k3s):
    options = controller_write("k3s")
    namespaces = api.registry.find("", "v1", "namespaces")
    for name in SYSTEM_NAMESPACES:
        api._create(namespaces, None, {"metadata": {"name": name}}, options, "Update")
    api._create(api.registry.find("", "v1", "services"), "default", clone(API_SERVICE), options, "Update")
    priority_classes = api.registry.find("scheduling.k8s.io", "v1", "priorityclasses")
    for name, value in SYSTEM_PRIORITY_CLASSES:
        body = {"metadata": {"name": name}, "value": value, "description": "Used for system critical pods."}
        api._create(priority_classes, None, body, options, "Update")
    if not k3s:
        return
    crds = api.registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for crd in helm_crds():
        api._create(crds, None, crd, options, "Update")
    api._create(
        api.registry.find("storage.k8s.io", "v1", "storageclasses"), None, clone(LOCAL_PATH_CLASS), options, "Update"
    )
    runtime_classes = api.registry.find("node.k8s.io", "v1", "runtimeclasses")
    for name in K3S_RUNTIME_CLASSES:
        api._create(runtime_classes, None, {"metadata": {"name": name}, "handler": name}, options, "Update")
