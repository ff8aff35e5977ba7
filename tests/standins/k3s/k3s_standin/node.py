"""The node's own Node object, the way a kubelet registers it and keeps its status fresh."""

import json
import os
import platform
import socket
import time
import urllib.error
import urllib.request

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


class Api:
    """Just enough of a Kubernetes client for a kubelet: JSON over plain HTTP to the stand-in's port."""

    def __init__(self, url):
        if not url.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL: %r" % url)
        self.url = url.rstrip("/")

    def request(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 - checked above
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http(s) URL from config
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                return exc.code, json.loads(payload or b"{}")
            except ValueError:
                return exc.code, {"message": payload.decode(errors="replace")}


def node_ip(config):
    if config.get("node-ip"):
        return config["node-ip"][0]
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _os_image():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _memory_kib():
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    return 0


def build(name, role, version, config, runtime_version):
    """The Node a k3s node registers: k3s's labels, the configured labels and taints, Ready status."""
    arch = _ARCH.get(platform.machine(), platform.machine())
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": arch,
        "node.kubernetes.io/instance-type": "k3s",
    }
    if role == "server":
        labels["node-role.kubernetes.io/control-plane"] = "true"
        labels["node-role.kubernetes.io/master"] = "true"
    for label in config.get("node-label", []):
        key, _equals, value = label.partition("=")
        labels[key] = value
    taints = []
    for taint in config.get("node-taint", []):
        key_value, _colon, effect = taint.rpartition(":")
        key, _equals, value = key_value.partition("=")
        taints.append(dict({"key": key, "effect": effect}, **({"value": value} if value else {})))
    capacity = {
        "cpu": str(os.cpu_count() or 1),
        "memory": "%dKi" % _memory_kib(),
        "pods": "110",
        "ephemeral-storage": "10Gi",
    }
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"k3s.io/node-args": json.dumps([role]), "roverlab.io/k3s-standin": "true"},
        },
        "spec": {"taints": taints} if taints else {},
        "status": status(name, version, config, runtime_version, capacity),
    }
    return node


def status(name, version, config, runtime_version, capacity):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status (k3s stand-in)",
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            }
        ],
        "addresses": [{"type": "InternalIP", "address": node_ip(config)}, {"type": "Hostname", "address": name}],
        "nodeInfo": {
            "kubeletVersion": version,
            "kubeProxyVersion": version,
            "containerRuntimeVersion": runtime_version,
            "osImage": _os_image(),
            "kernelVersion": platform.release(),
            "operatingSystem": "linux",
            "architecture": _ARCH.get(platform.machine(), platform.machine()),
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
        },
    }


def register_or_refresh(api, node):
    """Create the Node, or when it exists refresh only its status: like kubelet, labels and taints are set
    at registration and left to kubectl afterwards."""
    name = node["metadata"]["name"]
    code, current = api.request("GET", "/api/v1/nodes/%s" % name)
    if code == 404:
        code, body = api.request("POST", "/api/v1/nodes", node)
        if code not in (200, 201):
            raise RuntimeError("registering node %s failed: %s %s" % (name, code, body.get("message", body)))
        return "registered"
    if code != 200:
        raise RuntimeError("reading node %s failed: %s %s" % (name, code, current.get("message", current)))
    new_status = dict(node["status"])
    old_ready = [c for c in current.get("status", {}).get("conditions", []) if c.get("type") == "Ready"]
    if old_ready and old_ready[0].get("status") == "True":
        new_status["conditions"][0]["lastTransitionTime"] = old_ready[0].get("lastTransitionTime")
    code, body = api.request(
        "PATCH", "/api/v1/nodes/%s/status" % name, {"status": new_status}, "application/merge-patch+json"
    )
    if code != 200:
        raise RuntimeError("updating node %s failed: %s %s" % (name, code, body.get("message", body)))
    return "refreshed"
