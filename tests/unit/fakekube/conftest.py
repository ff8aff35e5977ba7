"""Fixtures for the fakekube tests: an in-process ApiServer, and a real server process with an HTTP client."""

import http.client
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

TESTS = Path(__file__).resolve().parents[2]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fakekube.api import ApiServer  # noqa: E402  (after the path setup above)
from fakekube.options import WriteOptions  # noqa: E402
from fakekube.testing import FakeKube  # noqa: E402


class Api:
    """The in-process server with short helpers, so tests read like kubectl sessions."""

    def __init__(self, controllers=True, kube_version="1.31.0"):
        self.server = ApiServer(kube_version, controllers=controllers)

    def type(self, api_version, plural):
        group, _slash, version = api_version.rpartition("/")
        return self.server.registry.find(group, version, plural)

    def _type_of(self, obj):
        return self.server.registry.by_kind(obj["apiVersion"], obj["kind"])

    def create(self, obj, manager="test", **options):
        rtype = self._type_of(obj)
        namespace = obj.get("metadata", {}).get("namespace", "default" if rtype.namespaced else None)
        return self.server.create(rtype, namespace, obj, WriteOptions(field_manager=manager, **options))[0]

    def get(self, api_version, plural, name, namespace="default"):
        return self.server.get(self.type(api_version, plural), namespace, name)

    def list(self, api_version, plural, namespace=None, labels="", fields=""):
        return self.server.list(self.type(api_version, plural), namespace, labels, fields)["items"]

    def names(self, api_version, plural, namespace=None, labels="", fields=""):
        return [o["metadata"]["name"] for o in self.list(api_version, plural, namespace, labels, fields)]

    def patch(
        self,
        api_version,
        plural,
        name,
        body,
        patch_type="merge",
        namespace="default",
        manager="test",
        subresource="",
        **options,
    ):
        content_type = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "json": "application/json-patch+json",
            "apply": "application/apply-patch+yaml",
        }[patch_type]
        rtype = self.type(api_version, plural)
        return self.server.patch(
            rtype, namespace, name, content_type, body, WriteOptions(field_manager=manager, **options), subresource
        )[0]

    def apply(self, obj, manager="applier", **options):
        rtype = self._type_of(obj)
        meta = obj["metadata"]
        namespace = meta.get("namespace", "default" if rtype.namespaced else None)
        return self.patch(obj["apiVersion"], rtype.plural, meta["name"], obj, "apply", namespace, manager, **options)

    def replace(self, obj, manager="test", subresource="", **options):
        rtype = self._type_of(obj)
        meta = obj["metadata"]
        namespace = meta.get("namespace", "default" if rtype.namespaced else None)
        return self.server.replace(
            rtype, namespace, meta["name"], obj, WriteOptions(field_manager=manager, **options), subresource
        )[0]

    def delete(self, api_version, plural, name, namespace="default", propagation=None, **options):
        delete_options = {"propagationPolicy": propagation} if propagation else {}
        return self.server.delete(
            self.type(api_version, plural),
            namespace,
            name,
            WriteOptions(field_manager="test", **options),
            delete_options,
        )

    def exists(self, api_version, plural, name, namespace="default"):
        return self.server.store.get(self.type(api_version, plural), namespace, name) is not None


@pytest.fixture
def api():
    return Api()


@pytest.fixture
def bare_api():
    """A server without the fake controllers (objects are only stored)."""
    return Api(controllers=False)


class Client:
    """A minimal HTTP client for the real server process."""

    def __init__(self, url):
        self.url = url
        address = urlsplit(url)
        self._host, self._port = address.hostname, address.port

    def request(self, method, path, body=None, content_type="application/json", headers=None):
        """Send one request; returns (status, decoded body, headers)."""
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        connection = http.client.HTTPConnection(self._host, self._port, timeout=10)
        try:
            all_headers = {"Content-Type": content_type, "User-Agent": "fakekube-tests/1.0"}
            all_headers.update(headers or {})
            connection.request(method, path, body=data, headers=all_headers)
            answer = connection.getresponse()
            raw = answer.read().decode()
            if answer.getheader("Content-Type", "").startswith("application/json"):
                return answer.status, json.loads(raw), answer.headers
            return answer.status, raw, answer.headers
        finally:
            connection.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A fakekube process shared by the tests of one module."""
    with FakeKube(tmp_path_factory.mktemp("fakekube")) as running:
        yield running


@pytest.fixture(scope="module")
def client(served):
    return Client(served.url)


def namespace(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def config_map(name, data=None, namespace="default", **labels):
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": data or {"key": "value"},
    }


def deployment(
    name,
    namespace="default",
    replicas=1,
    image="registry.example/desk:1",
    requests=None,
    limits=None,
    node_selector=None,
    tolerations=None,
    labels=None,
):
    labels = labels or {"app": name}
    container = {"name": "main", "image": image}
    resources = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    if resources:
        container["resources"] = resources
    pod_spec = {"containers": [container]}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    if tolerations:
        pod_spec["tolerations"] = tolerations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def node(name, cpu="4", memory="16Gi", gpus=None, labels=None, taints=None, unschedulable=False, pods="110"):
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods}
    if gpus is not None:
        allocatable["nvidia.com/gpu"] = str(gpus)
    spec = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
        "spec": spec,
        "status": {"allocatable": allocatable, "capacity": dict(allocatable)},
    }
