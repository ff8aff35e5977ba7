"""Measure fakekube's throughput over HTTP: ``PYTHONPATH=tests python3 -m fakekube.bench``.

Starts a server (FakeKube), then times creates and no-op patches of ConfigMaps and Deployments (with the fake
controllers on, a Deployment create also makes its ReplicaSet and Pod) through one keep-alive connection, the
way the kubernetes Python client talks to it. Prints requests per second; docs/fake-kube.md quotes them.
"""

import argparse
import http.client
import json
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


def _rate(count, action):
    started = time.perf_counter()
    for index in range(count):
        action(index)
    return count / (time.perf_counter() - started)


def measure(url, count):
    connection = Connection(url)
    config_maps = "/api/v1/namespaces/default/configmaps"
    deployments = "/apis/apps/v1/namespaces/default/deployments"
    try:
        return {
            "ConfigMap creates/s": _rate(count, lambda i: connection.send("POST", config_maps, _config_map(i))),
            "ConfigMap no-op patches/s": _rate(
                count, lambda i: connection.send("PATCH", "%s/cm-%d" % (config_maps, i), _config_map(i), STRATEGIC)
            ),
            "Deployment creates/s": _rate(count, lambda i: connection.send("POST", deployments, _deployment(i))),
            "Deployment no-op patches/s": _rate(
                count, lambda i: connection.send("PATCH", "%s/desk-%d" % (deployments, i), _deployment(i), STRATEGIC)
            ),
        }
    finally:
        connection.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m fakekube.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="objects of each kind (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory, FakeKube(directory) as server:
        for name, rate in measure(server.url, args.count).items():
            print("%-28s %8.0f" % (name, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
