"""The HTTP surface of a real fakekube process: discovery, health, status codes, subresources, watch."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from conftest import config_map, deployment

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


def test_version_reports_the_chosen_kube_version(client):
    status, body, _headers = client.request("GET", "/version")
    assert status == 200
    assert (body["major"], body["minor"]) == ("1", "31")
    assert body["gitVersion"].startswith("v1.31.0")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez", "/readyz/ping"])
def test_health_endpoints(client, path):
    assert client.request("GET", path)[:2] == (200, "ok")


def test_core_and_group_discovery(client):
    status, body, _headers = client.request("GET", "/api")
    assert status == 200 and body["versions"] == ["v1"]
    _status, groups, _headers = client.request("GET", "/apis")
    names = {g["name"] for g in groups["groups"]}
    assert {
        "apps",
        "batch",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "node.k8s.io",
        "policy",
        "apiextensions.k8s.io",
        "coordination.k8s.io",
        "helm.cattle.io",
    } <= names
    _status, apps, _headers = client.request("GET", "/apis/apps")
    assert apps["kind"] == "APIGroup" and apps["preferredVersion"]["groupVersion"] == "apps/v1"


def test_resource_lists(client):
    _status, core, _headers = client.request("GET", "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["namespaced"] and not by_name["nodes"]["namespaced"]
    assert "pods/eviction" in by_name and by_name["pods/eviction"]["kind"] == "Eviction"
    assert "pods/log" in by_name and "pods/status" in by_name
    assert by_name["namespaces"]["shortNames"] == ["ns"]
    _status, networking, _headers = client.request("GET", "/apis/networking.k8s.io/v1")
    assert {"ingresses", "networkpolicies", "ingressclasses"} <= {r["name"] for r in networking["resources"]}
    _status, node_api, _headers = client.request("GET", "/apis/node.k8s.io/v1")
    assert [r["kind"] for r in node_api["resources"]] == ["RuntimeClass"]
    _status, helm, _headers = client.request("GET", "/apis/helm.cattle.io/v1")
    assert {r["kind"] for r in helm["resources"]} == {"HelmChart", "HelmChartConfig"}


def test_unknown_paths_are_404_status(client):
    status, body, _headers = client.request("GET", "/apis/nope.example.org/v1")
    assert status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    assert client.request("GET", "/api/v1/frobs")[0] == 404


def test_create_get_patch_delete_status_codes(client):
    path = "/api/v1/namespaces/default/configmaps"
    status, created, _headers = client.request("POST", path, config_map("http-cm"))
    assert status == 201 and created["metadata"]["uid"]
    status, body, _headers = client.request("POST", path, config_map("http-cm"))
    assert (status, body["reason"]) == (409, "AlreadyExists")
    status, patched, _headers = client.request("PATCH", path + "/http-cm", {"data": {"k": "v"}}, MERGE_PATCH)
    assert status == 200 and patched["data"] == {"key": "value", "k": "v"}
    status, patched, _headers = client.request(
        "PATCH", path + "/http-cm", [{"op": "remove", "path": "/data/k"}], JSON_PATCH
    )
    assert status == 200 and patched["data"] == {"key": "value"}
    assert client.request("PATCH", path + "/http-cm", {}, "text/plain")[0] == 415
    status, body, _headers = client.request("DELETE", path + "/http-cm")
    assert status == 200 and body["status"] == "Success"
    assert client.request("GET", path + "/http-cm")[0] == 404


def test_cluster_wide_list_of_namespaced_kind(client):
    client.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("http-desk"))
    status, pods, _headers = client.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dfakekube-node")
    assert status == 200 and pods["kind"] == "PodList"
    assert any(p["metadata"]["name"].startswith("http-desk-") for p in pods["items"])


def test_dry_run_query_parameter(client):
    path = "/api/v1/namespaces/default/configmaps"
    status, body, _headers = client.request("POST", path + "?dryRun=All", config_map("dry-cm"))
    assert status == 201 and body["metadata"]["name"] == "dry-cm"
    assert client.request("GET", path + "/dry-cm")[0] == 404
    assert client.request("POST", path + "?dryRun=Maybe", config_map("dry-cm"))[0] == 400


def test_unknown_field_warning_header_and_strict_validation(client):
    from fakekube import schema

    if not schema.available():
        pytest.skip("kubernetes-validate is not installed")
    body = config_map("warn-cm")
    body["dataa"] = {}
    status, _answer, headers = client.request("POST", "/api/v1/namespaces/default/configmaps", body)
    assert status == 201 and 'unknown field \\"dataa\\"' in headers["Warning"]
    body["metadata"]["name"] = "strict-cm"
    status, answer, _headers = client.request(
        "POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", body
    )
    assert status == 400 and "strict decoding error" in answer["message"]


def test_pod_log_subresource_returns_the_recorded_log(client):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "logger", "annotations": {"fakekube.roverlab.io/log": "hello\n"}},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]},
    }
    assert client.request("POST", "/api/v1/namespaces/default/pods", pod)[0] == 201
    status, text, headers = client.request("GET", "/api/v1/namespaces/default/pods/logger/log")
    assert (status, text) == (200, "hello\n") and headers["Content-Type"].startswith("text/plain")
    assert client.request("GET", "/api/v1/namespaces/default/pods/logger/log?container=nope")[0] == 400


def test_eviction_subresource(client):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "evictee"},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]},
    }
    client.request("POST", "/api/v1/namespaces/default/pods", pod)
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "evictee", "namespace": "default"}}
    status, body, _headers = client.request("POST", "/api/v1/namespaces/default/pods/evictee/eviction", eviction)
    assert status == 201 and body["status"] == "Success"
    assert client.request("GET", "/api/v1/namespaces/default/pods/evictee")[0] == 404


def test_scale_subresource(client):
    client.request("POST", "/apis/apps/v1/namespaces/default/deployments", deployment("scaled"))
    path = "/apis/apps/v1/namespaces/default/deployments/scaled/scale"
    status, scale, _headers = client.request("GET", path)
    assert status == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1
    status, scale, _headers = client.request("PATCH", path, {"spec": {"replicas": 2}}, MERGE_PATCH)
    assert status == 200 and scale["spec"]["replicas"] == 2
    _status, deploy, _headers = client.request("GET", "/apis/apps/v1/namespaces/default/deployments/scaled")
    assert deploy["status"]["readyReplicas"] == 2


def watch(served, path):
    """Open a watch and return a function that reads its events once the server ends the stream."""
    address = urlsplit(served.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    assert answer.status == 200

    def events():
        try:
            return [(e["type"], e["object"]["metadata"]["name"]) for e in map(json.loads, answer.read().splitlines())]
        finally:
            connection.close()

    return events


def test_watch_streams_matching_changes_until_its_timeout(served, client):
    path = "/api/v1/namespaces/default/configmaps"
    client.request("POST", path, config_map("watched-before", watch="yes"))
    events = watch(served, path + "?watch=true&timeoutSeconds=2&labelSelector=watch%3Dyes")
    client.request("POST", path, config_map("watched", watch="yes"))
    client.request("POST", path, config_map("unwatched", watch="no"))
    client.request("PATCH", path + "/watched", {"data": {"k": "2"}}, MERGE_PATCH)
    client.request("DELETE", path + "/watched")
    assert events() == [
        ("ADDED", "watched-before"),
        ("ADDED", "watched"),
        ("MODIFIED", "watched"),
        ("DELETED", "watched"),
    ]


def test_watch_from_a_resource_version_sends_only_later_changes(served, client):
    path = "/api/v1/namespaces/default/configmaps"
    _status, created, _headers = client.request("POST", path, config_map("rv-start"))
    since = created["metadata"]["resourceVersion"]
    events = watch(
        served, path + "?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Drv-start&resourceVersion=" + since
    )
    client.request("PATCH", path + "/rv-start", {"data": {"k": "3"}}, MERGE_PATCH)
    assert events() == [("MODIFIED", "rv-start")]


def test_writes_cannot_be_watched(client):
    assert client.request("POST", "/api/v1/namespaces/default/configmaps?watch=true", config_map("w"))[0] == 405
