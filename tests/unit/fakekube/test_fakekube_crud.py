"""Create, read, list, replace and patch: metadata, conflicts, dry run and the status subresource."""

import pytest
from conftest import config_map, deployment, namespace, node
from fakekube.errors import ApiError
from fakekube.options import WriteOptions


def error_of(call, *args, **kwargs):
    with pytest.raises(ApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_create_sets_server_metadata(api):
    created = api.create(config_map("settings"))
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert meta["managedFields"][0]["manager"] == "test"
    assert meta["managedFields"][0]["operation"] == "Update"
    assert "f:data" in meta["managedFields"][0]["fieldsV1"]
    assert "generation" not in meta, "ConfigMaps have no generation"
    assert api.get("v1", "configmaps", "settings") == created


def test_second_create_is_already_exists(api):
    api.create(config_map("settings"))
    error = error_of(api.create, config_map("settings"))
    assert (error.code, error.reason) == (409, "AlreadyExists")
    assert error.message == 'configmaps "settings" already exists'


def test_get_missing_is_not_found_status(api):
    error = error_of(api.get, "apps/v1", "deployments", "nope")
    assert (error.code, error.reason) == (404, "NotFound")
    assert error.status()["details"] == {"name": "nope", "kind": "deployments", "group": "apps"}
    assert error.message == 'deployments.apps "nope" not found'


def test_namespace_must_exist(api):
    error = error_of(api.create, config_map("settings", namespace="desk-nobody"))
    assert error.code == 404
    assert error.message == 'namespaces "desk-nobody" not found'


def test_generate_name(api):
    created = api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "cm-"}})
    assert created["metadata"]["name"].startswith("cm-") and len(created["metadata"]["name"]) == 8


def test_list_filters_by_namespace_labels_and_fields(api):
    api.create(namespace("desk-a"))
    api.create(config_map("one", namespace="desk-a", app="desk", tier="gpu"))
    api.create(config_map("two", namespace="desk-a", app="desk"))
    api.create(config_map("three", app="web"))
    assert api.names("v1", "configmaps", labels="app=desk") == ["one", "two"]
    assert api.names("v1", "configmaps", labels="app in (desk,web),!tier") == ["three", "two"]
    assert api.names("v1", "configmaps", namespace="default", labels="app") == ["three"]
    assert api.names("v1", "configmaps", fields="metadata.name=two") == ["two"]
    assert api.names("v1", "configmaps", fields="metadata.namespace!=desk-a", labels="app") == ["three"]


def test_list_answer_is_a_typed_list_with_a_resource_version(api):
    listed = api.server.list(api.type("apps/v1", "deployments"), "default")
    assert listed["kind"] == "DeploymentList" and listed["apiVersion"] == "apps/v1"
    assert listed["metadata"]["resourceVersion"]


def test_replace_with_stale_resource_version_is_conflict(api):
    created = api.create(config_map("settings"))
    fresh = dict(created, data={"key": "new"})
    updated = api.replace(fresh)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = dict(created, data={"key": "newer"})
    error = error_of(api.replace, stale)
    assert (error.code, error.reason) == (409, "Conflict")
    assert "the object has been modified" in error.message


def test_unchanged_write_keeps_resource_version(api):
    created = api.create(config_map("settings"))
    again = api.patch("v1", "configmaps", "settings", {"data": {"key": "value"}})
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    changed = api.patch("v1", "configmaps", "settings", {"data": {"key": "other"}})
    assert changed["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]


def test_generation_counts_spec_changes_only(api):
    created = api.create(deployment("desk"))
    assert created["metadata"]["generation"] == 1
    relabelled = api.patch("apps/v1", "deployments", "desk", {"metadata": {"labels": {"x": "y"}}})
    assert relabelled["metadata"]["generation"] == 1
    scaled = api.patch("apps/v1", "deployments", "desk", {"spec": {"replicas": 2}})
    assert scaled["metadata"]["generation"] == 2


def test_uid_and_creation_timestamp_cannot_be_overwritten(api):
    created = api.create(config_map("settings"))
    body = dict(created, metadata=dict(created["metadata"], uid="forged", creationTimestamp="2000-01-01T00:00:00Z"))
    body["data"] = {"key": "changed"}
    updated = api.replace(body)
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]


def test_kind_and_api_version_must_match_the_url(api):
    body = config_map("settings")
    body["kind"] = "Secret"
    error = error_of(
        api.server.create, api.type("v1", "configmaps"), "default", body, WriteOptions(field_manager="test")
    )
    assert error.code == 400


def test_dry_run_create_update_and_delete_store_nothing(api):
    preview = api.create(config_map("settings"), dry_run=True)
    assert preview["metadata"]["uid"]
    assert not api.exists("v1", "configmaps", "settings")
    created = api.create(config_map("settings"))
    api.patch("v1", "configmaps", "settings", {"data": {"key": "dry"}}, dry_run=True)
    assert api.get("v1", "configmaps", "settings") == created
    api.delete("v1", "configmaps", "settings", dry_run=True)
    assert api.exists("v1", "configmaps", "settings")


def test_dry_run_in_missing_namespace_fails_like_the_real_server(api):
    """kubernetes.core's check mode on a fresh user hits this: the dry-run Namespace was never stored."""
    api.create(namespace("desk-carol"), dry_run=True)
    error = error_of(api.create, config_map("settings", namespace="desk-carol"), dry_run=True)
    assert error.code == 404


def test_status_subresource_isolates_status(bare_api):
    created = bare_api.create(deployment("desk"))
    ignored = bare_api.patch("apps/v1", "deployments", "desk", {"status": {"replicas": 5}})
    assert "status" not in ignored, "the main resource ignores status"
    written = bare_api.patch(
        "apps/v1", "deployments", "desk", {"status": {"replicas": 5}, "spec": {"replicas": 9}}, subresource="status"
    )
    assert written["status"] == {"replicas": 5}
    assert written["spec"]["replicas"] == 1, "the status subresource ignores spec"
    assert written["metadata"]["generation"] == created["metadata"]["generation"]


def test_status_is_dropped_on_create(bare_api):
    body = deployment("desk")
    body["status"] = {"replicas": 3}
    assert "status" not in bare_api.create(body)


def test_node_keeps_status_on_create_like_kubelet_registration(api):
    created = api.create(node("rover-1", gpus=1))
    assert created["status"]["allocatable"]["nvidia.com/gpu"] == "1"


def test_cordon_sets_unschedulable(api):
    api.create(node("rover-1"))
    cordoned = api.patch("v1", "nodes", "rover-1", {"spec": {"unschedulable": True}}, "strategic", namespace=None)
    assert cordoned["spec"]["unschedulable"] is True
    assert api.names("v1", "nodes", fields="spec.unschedulable=true") == ["rover-1"]


def test_json_patch_through_the_api(api):
    api.create(config_map("settings"))
    patched = api.patch("v1", "configmaps", "settings", [{"op": "add", "path": "/data/other", "value": "x"}], "json")
    assert patched["data"] == {"key": "value", "other": "x"}


def test_strategic_merge_patch_is_refused_for_custom_resources(api):
    api.create(
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": "chart", "namespace": "kube-system"},
            "spec": {"chart": "x"},
        }
    )
    error = error_of(
        api.patch, "helm.cattle.io/v1", "helmcharts", "chart", {"spec": {}}, "strategic", namespace="kube-system"
    )
    assert error.code == 415


def test_custom_resources_refuse_unconditional_put(api):
    created = api.create(
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": "chart", "namespace": "kube-system"},
            "spec": {"chart": "x"},
        }
    )
    body = dict(created, metadata={"name": "chart", "namespace": "kube-system"})
    error = error_of(api.replace, body)
    assert error.code == 422 and "resourceVersion" in error.message
