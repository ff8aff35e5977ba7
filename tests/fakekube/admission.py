"""Admission that needs cluster state: Service IPs and node ports, the default StorageClass, Job selectors,
and the Pod checks of the Priority and RuntimeClass admission plugins.

kube-apiserver does these in its REST storage (IP allocation) and admission plugins (DefaultStorageClass,
Priority, RuntimeClass); here they run on every create and update before validation.
"""

import ipaddress

from .errors import ApiError

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SERVICE_CIDR = ipaddress.ip_network("10.43.0.0/16")  # k3s' default service CIDR
NODE_PORTS = range(30000, 32768)


class Admission:
    def __init__(self, store, registry):
        self._store = store
        self._registry = registry
        self._next_ip = 10  # 10.43.0.1 is the kubernetes Service, as on k3s

    def admit(self, kind, obj, old):
        if kind == "Service":
            self._service(obj, old)
        elif kind == "PersistentVolumeClaim" and old is None:
            self._default_storage_class(obj)
        elif kind == "Pod" and old is None:
            self._pod_priority(obj)
            self._pod_runtime_class(obj)

    # --- Services
    def _service(self, obj, old):
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        if old is not None:
            # an update that leaves allocated values out keeps them, as kube-apiserver does
            for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                if field not in spec and field in old_spec:
                    spec[field] = old_spec[field]
            old_ports = {(p.get("port"), p.get("protocol")): p for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
                if previous and "nodePort" in previous and "nodePort" not in port:
                    port["nodePort"] = previous["nodePort"]
        if spec.get("type", "ClusterIP") == "ExternalName":
            return
        if "clusterIP" not in spec or spec["clusterIP"] == "":
            spec["clusterIP"] = self._allocate_ip()
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or []:
                port.setdefault("nodePort", self._allocate_node_port())

    def _allocated_ips(self):
        services = self._registry.find("", "v1", "services")
        return {(s.get("spec") or {}).get("clusterIP") for s in self._store.items(services)}

    def _allocate_ip(self):
        used = self._allocated_ips()
        while True:
            address = str(SERVICE_CIDR[self._next_ip])
            self._next_ip = self._next_ip + 1 if self._next_ip < SERVICE_CIDR.num_addresses - 2 else 10
            if address not in used:
                return address

    def _allocate_node_port(self):
        services = self._registry.find("", "v1", "services")
        used = {
            port.get("nodePort")
            for service in self._store.items(services)
            for port in (service.get("spec") or {}).get("ports") or []
        }
        return next(port for port in NODE_PORTS if port not in used)

    # --- PersistentVolumeClaims
    def _default_storage_class(self, obj):
        spec = obj.setdefault("spec", {})
        if "storageClassName" in spec:
            return
        classes = self._registry.find("storage.k8s.io", "v1", "storageclasses")
        for storage_class in self._store.items(classes):
            if (storage_class["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true":
                spec["storageClassName"] = storage_class["metadata"]["name"]
                return

    # --- Pods
    def _pod_priority(self, obj):
        spec = obj.setdefault("spec", {})
        class_name = spec.get("priorityClassName")
        if not class_name:
            return
        classes = self._registry.find("scheduling.k8s.io", "v1", "priorityclasses")
        priority_class = self._store.get(classes, None, class_name)
        if priority_class is None:
            raise _pod_forbidden(obj, "no PriorityClass with name %s was found" % class_name)
        spec["priority"] = priority_class.get("value", 0)
        spec.setdefault("preemptionPolicy", priority_class.get("preemptionPolicy", "PreemptLowerPriority"))

    def _pod_runtime_class(self, obj):
        handler = (obj.get("spec") or {}).get("runtimeClassName")
        if not handler:
            return
        classes = self._registry.find("node.k8s.io", "v1", "runtimeclasses")
        if self._store.get(classes, None, handler) is None:
            raise _pod_forbidden(obj, 'pod rejected: RuntimeClass "%s" not found' % handler)


def _pod_forbidden(obj, reason):
    # kube-apiserver admits before it generates names, so messages show the generateName prefix
    name = obj["metadata"].get("generateName") or obj["metadata"].get("name", "")
    return ApiError(403, "Forbidden", 'pods "%s" is forbidden: %s' % (name, reason), {"name": name, "kind": "pods"})


def label_job_pods(obj):
    """Give a new Job the generated selector and template labels kube-apiserver adds (needs metadata.uid)."""
    spec = obj.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    uid = obj["metadata"]["uid"]
    name = obj["metadata"]["name"]
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }
    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    template_meta.setdefault("labels", {}).update(labels)
