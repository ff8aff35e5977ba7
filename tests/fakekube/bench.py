"""Measure fakekube's throughput over HTTP: ``PYTHONPATH=tests python3 -m fakekube.bench``.

Starts a server (FakeKube), then times through one keep-alive connection (the way the kubernetes Python client
talks to it): creates and no-op patches of ConfigMaps and Deployments (with the fake controllers on, a
Deployment create also makes its ReplicaSet and Pod), and a desktop-like reconcile per user (Namespace, Secret,
PVC, GPU Deployment, Service, Ingress on four GPU Nodes), first creating, then re-patching with no change.
Prints the rate (wall clock, so it suffers when the machine is busy) and the server's CPU time per operation (much
steadier under load); docs/fake-kube.md quotes them.
"""

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from urllib.parse import urlsplit

from .testing import FakeKube

STRATEGIC = "application/strategic-merge-patch+json"


def _config_map(index):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm-%d" % index}, "data": {"k": "v"}}


def _deployment(index):
    labels = {"app": "desk-%d" % index}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "desk-%d" % index, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "desk",
                            "image": "registry.example/desk:1",
                            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }


class Connection:
    def __init__(self, url):
        address = urlsplit(url)
        self._connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)

    def send(self, method, path, body, content_type="application/json"):
        self._connection.request(method, path, body=json.dumps(body), headers={"Content-Type": content_type})
        answer = self._connection.getresponse()
        answer.read()
        if answer.status >= 300:
            raise RuntimeError("%s %s answered %d" % (method, path, answer.status))

    def close(self):
        self._connection.close()


def _server_cpu_seconds(pid):
    """User plus system CPU time of the server process (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rate(pid, count, action):
    """(operations per wall-clock second, server CPU milliseconds per operation)."""
    cpu_before = _server_cpu_seconds(pid)
    started = time.perf_counter()
    for index in range(count):
        action(index)
    elapsed = time.perf_counter() - started
    cpu_after = _server_cpu_seconds(pid)
    cpu = None if cpu_before is None else (cpu_after - cpu_before) * 1000.0 / count
    return count / elapsed, cpu


def _node(index):
    room = {"cpu": "64", "memory": "256Gi", "pods": "110", "nvidia.com/gpu": "32"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "rover-%d" % index},
        "status": {"allocatable": room, "capacity": room},
    }


def _desktop(user):
    namespace = "desk-user%d" % user
    labels = {"app": "desktop"}
    pod_spec = {
        "runtimeClassName": "nvidia",
        "containers": [
            {
                "name": "desktop",
                "image": "registry.example/desk:1",
                "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": "2", "memory": "4Gi"}},
                "volumeMounts": [{"name": "home", "mountPath": "/home/user"}],
            }
        ],
        "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "home"}}],
    }
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        (
            "/api/v1/namespaces/%s/secrets" % namespace,
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "vnc"}, "stringData": {"password": "x"}},
        ),
        (
            "/api/v1/namespaces/%s/persistentvolumeclaims" % namespace,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "home"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
            },
        ),
        (
            "/apis/apps/v1/namespaces/%s/deployments" % namespace,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "desktop"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
            },
        ),
        (
            "/api/v1/namespaces/%s/services" % namespace,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "desktop"},
                "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 6080}]},
            },
        ),
        (
            "/apis/networking.k8s.io/v1/namespaces/%s/ingresses" % namespace,
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "desktop"},
                "spec": {
                    "rules": [
                        {
                            "host": "%s.desk.example.org" % namespace,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {"service": {"name": "desktop", "port": {"name": "http"}}},
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
        ),
    ]


def _reconcile(connection, user, first):
    for collection, body in _desktop(user):
        if first:
            connection.send("POST", collection, body)
        else:
            connection.send("PATCH", "%s/%s" % (collection, body["metadata"]["name"]), body, STRATEGIC)


def measure_desktops(url, pid, users):
    connection = Connection(url)
    try:
        for index in range(4):
            connection.send("POST", "/api/v1/nodes", _node(index))
        return {
            "desktop users created": _rate(pid, users, lambda u: _reconcile(connection, u, True)),
            "desktop users re-applied": _rate(pid, users, lambda u: _reconcile(connection, u, False)),
        }
    finally:
        connection.close()


def measure(url, pid, count):
    connection = Connection(url)
    config_maps = "/api/v1/namespaces/default/configmaps"
    deployments = "/apis/apps/v1/namespaces/default/deployments"
    try:
        return {
            "ConfigMap creates": _rate(pid, count, lambda i: connection.send("POST", config_maps, _config_map(i))),
            "ConfigMap no-op patches": _rate(
                pid, count, lambda i: connection.send("PATCH", "%s/cm-%d" % (config_maps, i), _config_map(i), STRATEGIC)
            ),
            "Deployment creates": _rate(pid, count, lambda i: connection.send("POST", deployments, _deployment(i))),
            "Deployment no-op patches": _rate(
                pid,
                count,
                lambda i: connection.send("PATCH", "%s/desk-%d" % (deployments, i), _deployment(i), STRATEGIC),
            ),
        }
    finally:
        connection.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m fakekube.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="objects of each kind (default: %(default)s)")
    parser.add_argument("--users", type=int, default=100, help="desktop users (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        with FakeKube(directory + "/objects") as server:
            rates = measure(server.url, server.pid, args.count)
        with FakeKube(directory + "/desktops") as server:
            rates.update(measure_desktops(server.url, server.pid, args.users))
    print("%-26s %10s %14s" % ("", "per second", "server CPU ms"))
    for name, (rate, cpu) in rates.items():
        print("%-26s %10.1f %14s" % (name, rate, "-" if cpu is None else "%.2f" % cpu))
    return 0


if __name__ == "__main__":
    sys.exit(main())
