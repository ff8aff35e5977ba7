"""Deletion: propagation, namespace and ownerReference cascades, finalizers, deletecollection, eviction."""

import pytest
from conftest import config_map, deployment, namespace
from fakekube.errors import ApiError
from fakekube.options import WriteOptions


def owned_config_map(name, owner):
    body = config_map(name, namespace=owner["metadata"].get("namespace", "default"))
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
        }
    ]
    return body


def test_delete_returns_success_status_and_the_object_is_gone(api):
    api.create(config_map("settings"))
    answer = api.delete("v1", "configmaps", "settings")
    assert answer["kind"] == "Status" and answer["status"] == "Success"
    assert answer["details"]["name"] == "settings"
    assert not api.exists("v1", "configmaps", "settings")
    with pytest.raises(ApiError) as raised:
        api.delete("v1", "configmaps", "settings")
    assert raised.value.code == 404


def test_namespace_delete_cascades_to_its_contents(api):
    api.create(namespace("desk-alice"))
    api.create(config_map("settings", namespace="desk-alice"))
    api.create(deployment("desk", namespace="desk-alice"))
    api.delete("v1", "namespaces", "desk-alice", namespace=None)
    assert not api.exists("v1", "namespaces", "desk-alice", namespace=None)
    assert api.list("v1", "configmaps", "desk-alice") == []
    assert api.list("v1", "pods", "desk-alice") == []


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_may_not_be_deleted(api, name):
    with pytest.raises(ApiError) as raised:
        api.delete("v1", "namespaces", name, namespace=None)
    assert raised.value.code == 403
    assert raised.value.message == 'namespaces "%s" is forbidden: this namespace may not be deleted' % name


def test_finalizers_keep_an_object_terminating(api):
    body = config_map("held")
    body["metadata"]["finalizers"] = ["lab.example.org/keep"]
    api.create(body)
    answer = api.delete("v1", "configmaps", "held")
    assert answer["metadata"]["deletionTimestamp"]
    assert api.get("v1", "configmaps", "held")["metadata"]["deletionTimestamp"]
    api.patch("v1", "configmaps", "held", {"metadata": {"finalizers": None}})
    assert not api.exists("v1", "configmaps", "held")


def test_namespace_waits_for_finalized_contents(api):
    api.create(namespace("desk-bob"))
    body = config_map("held", namespace="desk-bob")
    body["metadata"]["finalizers"] = ["lab.example.org/keep"]
    api.create(body)
    terminating = api.delete("v1", "namespaces", "desk-bob", namespace=None)
    assert terminating["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as raised:
        api.create(config_map("late", namespace="desk-bob"))
    assert raised.value.code == 403
    api.patch("v1", "configmaps", "held", {"metadata": {"finalizers": None}}, namespace="desk-bob")
    assert not api.exists("v1", "namespaces", "desk-bob", namespace=None)


def test_owner_reference_cascade_and_orphan(api):
    owner = api.create(config_map("owner"))
    api.create(owned_config_map("child", owner))
    api.delete("v1", "configmaps", "owner")
    assert not api.exists("v1", "configmaps", "child")

    owner = api.create(config_map("owner2"))
    api.create(owned_config_map("kept", owner))
    api.delete("v1", "configmaps", "owner2", propagation="Orphan")
    kept = api.get("v1", "configmaps", "kept")
    assert "ownerReferences" not in kept["metadata"]


def test_deleting_a_deployment_removes_its_replicasets_and_pods(api):
    api.create(deployment("desk", replicas=2))
    assert len(api.list("v1", "pods", "default")) == 2
    api.delete("apps/v1", "deployments", "desk", propagation="Foreground")
    assert api.list("apps/v1", "replicasets", "default") == []
    assert api.list("v1", "pods", "default") == []


def test_deletecollection_honours_selectors(api):
    for name, app in (("a", "desk"), ("b", "desk"), ("c", "web")):
        api.create(config_map(name, app=app))
    rtype = api.type("v1", "configmaps")
    api.server.delete_collection(rtype, "default", "app=desk", "", WriteOptions(field_manager="t"))
    assert api.names("v1", "configmaps", "default", labels="app") == ["c"]


def test_delete_preconditions(api):
    created = api.create(config_map("settings"))
    rtype = api.type("v1", "configmaps")
    with pytest.raises(ApiError) as raised:
        api.server.delete(
            rtype,
            "default",
            "settings",
            WriteOptions(),
            {"preconditions": {"uid": "not-" + created["metadata"]["uid"]}},
        )
    assert raised.value.code == 409


def test_eviction_deletes_the_pod_unless_a_budget_forbids_it(api):
    api.create(deployment("desk", replicas=1))
    (pod,) = api.list("v1", "pods", "default")
    api.create(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "keep-one", "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "desk"}}},
        }
    )
    with pytest.raises(ApiError) as raised:
        api.server.evict("default", pod["metadata"]["name"], {}, WriteOptions())
    assert (raised.value.code, raised.value.reason) == (429, "TooManyRequests")
    assert "disruption budget keep-one needs 1 healthy pods and has 1 currently" in str(raised.value.details)
    api.delete("policy/v1", "poddisruptionbudgets", "keep-one")
    answer = api.server.evict("default", pod["metadata"]["name"], {}, WriteOptions())
    assert answer["status"] == "Success"
    assert not api.exists("v1", "pods", pod["metadata"]["name"])
    (replacement,) = api.list("v1", "pods", "default")
    assert replacement["metadata"]["name"] != pod["metadata"]["name"], "the ReplicaSet replaced the evicted Pod"


def test_crd_delete_stops_serving_its_resources(api):
    crd = api.create(rover_crd())
    assert crd["status"]["conditions"][1]["type"] == "Established"
    api.create(
        {
            "apiVersion": "lab.example.org/v1",
            "kind": "Rover",
            "metadata": {"name": "r1", "namespace": "default"},
            "spec": {"wheels": 6},
        }
    )
    api.delete("apiextensions.k8s.io/v1", "customresourcedefinitions", "rovers.lab.example.org", namespace=None)
    assert api.type("lab.example.org/v1", "rovers") is None


def rover_crd():
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "rovers.lab.example.org"},
        "spec": {
            "group": "lab.example.org",
            "scope": "Namespaced",
            "names": {"plural": "rovers", "singular": "rover", "kind": "Rover", "shortNames": ["rv"]},
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
