"""Filters on Kubernetes objects: change plans against read objects, free GPUs, quantities, label values."""

import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter.k8s import (
    FilterModule,
    k8s_changes,
    k8s_fit_resource,
    k8s_free_resource,
    k8s_label_value,
    k8s_quantity,
)
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s.changes import (
    APPLIED_HASH,
    TEMPLATE_HASH,
    plain_copy,
)


def deployment(cpu="2", extra_env=None):
    env = [{"name": "A", "value": "1"}] + (extra_env or [])
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "alice-clouddesktop", "namespace": "clouddesktop-prod", "labels": {"app": "x"}},
        "spec": {
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "desktop", "env": env, "resources": {"requests": {"cpu": cpu}}}]},
            },
        },
    }


def as_stored(manifest, **server_fields):
    """What the API server gives back after applying a planned manifest: the manifest plus its own fields."""
    stored = plain_copy(manifest)
    stored["metadata"].update({"uid": "1234", "resourceVersion": "7", "managedFields": []})
    stored["status"] = {"replicas": 1}
    stored["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    stored["spec"].update(server_fields)
    return stored


def test_a_new_object_is_created_with_its_hashes():
    plan = k8s_changes([deployment()], {"Deployment": []})
    assert plan["created"] == ["Deployment clouddesktop-prod/alice-clouddesktop"]
    (applied,) = plan["apply"]
    assert APPLIED_HASH in applied["metadata"]["annotations"]
    assert TEMPLATE_HASH in applied["spec"]["template"]["metadata"]["annotations"]


def test_an_object_as_applied_is_unchanged_despite_server_defaults():
    applied = k8s_changes([deployment()], {})["apply"][0]
    plan = k8s_changes([deployment()], {"Deployment": [as_stored(applied, progressDeadlineSeconds=600)]})
    assert plan == {"apply": [], "created": [], "updated": [], "template_changed": [], "unchanged": 1}


def test_quantities_compare_by_value():
    applied = k8s_changes([deployment(cpu="1")], {})["apply"][0]
    stored = as_stored(applied)
    stored["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1000m"
    assert k8s_changes([deployment(cpu="1")], {"Deployment": [stored]})["unchanged"] == 1


def test_a_hand_edit_of_a_managed_field_is_put_back():
    applied = k8s_changes([deployment()], {})["apply"][0]
    stored = as_stored(applied)
    stored["spec"]["replicas"] = 0
    plan = k8s_changes([deployment()], {"Deployment": [stored]})
    assert plan["updated"] == ["Deployment clouddesktop-prod/alice-clouddesktop"]
    assert plan["template_changed"] == []  # replicas is not the pod template: no restart


def test_a_field_dropped_from_the_manifest_is_noticed_and_restarts():
    before = k8s_changes([deployment(extra_env=[{"name": "B", "value": "2"}])], {})["apply"][0]
    plan = k8s_changes([deployment()], {"Deployment": [as_stored(before)]})
    assert plan["updated"] and plan["template_changed"] == ["Deployment clouddesktop-prod/alice-clouddesktop"]


def test_true_is_not_one():
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": True}}
    stored = plain_copy(k8s_changes([manifest], {})["apply"][0])
    stored["data"]["x"] = 1
    assert k8s_changes([manifest], {"ConfigMap": [stored]})["updated"] == ["ConfigMap c"]


def test_manifests_without_a_name_are_refused():
    with pytest.raises(AnsibleFilterError):
        k8s_changes([{"kind": "ConfigMap", "metadata": {}}], {})
    with pytest.raises(AnsibleFilterError):
        k8s_changes({"kind": "ConfigMap"}, {})


def node(name, gpus=None, unschedulable=False, ready="True"):
    allocatable = {"cpu": "24"}
    if gpus is not None:
        allocatable["nvidia.com/gpu"] = gpus
    return {
        "metadata": {"name": name},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {"allocatable": allocatable, "conditions": [{"type": "Ready", "status": ready}]},
    }


def pod(gpus, phase="Running", field="limits"):
    return {"spec": {"containers": [{"resources": {field: {"nvidia.com/gpu": gpus}}}]}, "status": {"phase": phase}}


def test_free_gpus_count_schedulable_nodes_and_unfinished_pods():
    nodes = [
        node("rover1", "2"),
        node("rover2", "1"),
        node("cordoned", "4", unschedulable=True),
        node("down", "4", ready="False"),
        node("cpu"),
    ]
    pods = [
        pod("1"),
        pod(1, "Pending", "requests"),
        pod("1", "Succeeded"),
        pod("1", "Failed"),
        {"spec": {}, "status": {}},
    ]
    assert k8s_free_resource(nodes, pods) == {
        "resource": "nvidia.com/gpu",
        "allocatable": 3,
        "requested": 2,
        "free": 1,
        "nodes": ["rover1", "rover2"],
    }
    assert k8s_free_resource(nodes, [*pods, pod("3")])["free"] == 0


def placed_pod(gpus, node_name, user=None, phase="Running"):
    placed = pod(gpus, phase)
    placed["spec"]["nodeName"] = node_name
    placed["metadata"] = {"labels": {"user": user} if user else {}}
    return placed


def test_a_request_fits_only_on_one_node():
    # two nodes with one GPU each: the cluster has two free, but no node holds two
    nodes = [node("rover1", "1"), node("rover2", "1")]
    fit = k8s_fit_resource(nodes, [], [{"name": "bob", "amount": 2}])
    assert (fit["free"], fit["fits"]) == (2, False)
    assert fit["unplaced"] == [{"name": "bob", "amount": 2}]
    assert fit["per_node"] == [
        {"node": "rover1", "allocatable": 1, "free": 1},
        {"node": "rover2", "allocatable": 1, "free": 1},
    ]
    # two desktops with one each fit, one per node
    fit = k8s_fit_resource(nodes, [], [{"name": "bob", "amount": 1}, {"name": "carol", "amount": 1}])
    assert fit["fits"] and fit["placements"] == {"bob": "rover1", "carol": "rover2"}


def test_fitting_counts_pods_per_node_and_what_a_desktop_gives_back():
    nodes = [node("rover1", "2"), node("rover2", "1"), node("cordoned", "4", unschedulable=True)]
    pods = [placed_pod("1", "rover1", user="alice"), placed_pod("1", "rover2", user="zed")]
    # alice goes from 1 to 2 GPUs: her own pod's GPU on rover1 counts as free for her (Recreate)
    fit = k8s_fit_resource(nodes, pods, [{"name": "alice", "amount": 2, "labels": {"user": "alice"}}])
    assert fit["fits"] and fit["placements"] == {"alice": "rover1"}
    # bob's 2 fit nowhere: rover1 has 1 free, rover2 none; the cordoned node does not count
    fit = k8s_fit_resource(nodes, pods, [{"name": "bob", "amount": 2, "labels": {"user": "bob"}}])
    assert not fit["fits"]
    assert [(n["node"], n["free"]) for n in fit["per_node"]] == [("rover1", 1), ("rover2", 0)]
    # a pod waiting for a node is in line first
    waiting = {"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": "1"}}}]}, "status": {}}
    fit = k8s_fit_resource([node("rover1", "1")], [waiting], [{"name": "bob", "amount": 1}])
    assert not fit["fits"]


def test_a_gpu_workload_whose_pod_is_not_there_yet_counts():
    nodes = [node("rover1", "1")]
    bob = {"name": "bob", "amount": 1, "labels": {"user": "bob"}}
    alice = [{"name": "alice", "amount": 1, "labels": {"user": "alice"}}]
    # bob's Deployment was applied a moment ago: no pod of his yet, his GPU is taken all the same
    fit = k8s_fit_resource(nodes, [], alice, "nvidia.com/gpu", [bob])
    assert not fit["fits"] and fit["per_node"] == [{"node": "rover1", "allocatable": 1, "free": 0}]
    assert (fit["requested"], fit["free"]) == (1, 0)
    # once his pod exists it counts as a pod, once only
    fit = k8s_fit_resource(nodes, [placed_pod("1", "rover1", user="bob")], alice, "nvidia.com/gpu", [bob])
    assert not fit["fits"] and fit["per_node"][0]["free"] == 0 and fit["requested"] == 1
    # a wanted desktop is never in line before itself
    fit = k8s_fit_resource(nodes, [], alice, "nvidia.com/gpu", alice)
    assert fit["fits"] and fit["placements"] == {"alice": "rover1"}


def test_free_resource_refuses_malformed_input():
    with pytest.raises(AnsibleFilterError):
        k8s_free_resource([node("n", "lots")], [])
    with pytest.raises(AnsibleFilterError):
        k8s_free_resource("nodes", [])


def test_quantity_filter():
    assert k8s_quantity("500m") == 0.5
    assert k8s_quantity("1.5Gi", canonical=True) == "1536Mi"
    with pytest.raises(AnsibleFilterError, match="not a quantity"):
        k8s_quantity("big")


def test_label_values():
    assert k8s_label_value("NVIDIA GeForce RTX 2060 SUPER") == "NVIDIA-GeForce-RTX-2060-SUPER"
    assert k8s_label_value(" (H100) ") == "H100"
    assert len(k8s_label_value("x" * 100)) == 63


def test_all_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "k8s_quantity",
        "k8s_free_resource",
        "k8s_fit_resource",
        "k8s_changes",
        "k8s_label_value",
    }


def test_objects_read_may_come_as_json_text():
    applied = k8s_changes([deployment()], {})["apply"][0]
    stored = json.dumps({"Deployment": [as_stored(applied)]})
    assert k8s_changes(yaml.safe_dump_all([deployment()]), stored)["unchanged"] == 1
    assert k8s_changes([deployment()], {"Deployment": json.dumps([as_stored(applied)])})["unchanged"] == 1
    with pytest.raises(AnsibleFilterError, match="not valid JSON"):
        k8s_changes([deployment()], "{not json")
    with pytest.raises(AnsibleFilterError, match="not valid YAML"):
        k8s_changes("a: [", {})
