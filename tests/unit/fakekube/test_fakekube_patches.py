"""Merge patch, JSON patch and the strategic-merge subset."""

import pytest
from fakekube.errors import ApiError
from fakekube.patches import json_patch, merge_patch
from fakekube.strategic import strategic_merge

POD_SPEC = {
    "containers": [
        {
            "name": "desk",
            "image": "desk:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 6080, "name": "novnc"}],
            "volumeMounts": [{"name": "home", "mountPath": "/home"}],
        },
        {"name": "sidecar", "image": "side:1"},
    ],
    "volumes": [{"name": "home", "emptyDir": {}}],
    "tolerations": [{"key": "gpu", "operator": "Exists"}],
}


def test_merge_patch_merges_maps_and_deletes_nulls():
    assert merge_patch({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 9, "c": None}, "e": 4}) == {
        "a": {"b": 9},
        "d": 3,
        "e": 4,
    }


def test_merge_patch_replaces_lists():
    assert merge_patch({"l": [1, 2]}, {"l": [3]}) == {"l": [3]}


def test_json_patch_operations():
    doc = {"spec": {"replicas": 1, "list": ["a"]}}
    patched = json_patch(
        doc,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/list/-", "value": "b"},
            {"op": "add", "path": "/metadata", "value": {"labels": {"a~b/c": "x"}}},
            {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
            {"op": "move", "from": "/spec/copy", "path": "/spec/moved"},
            {"op": "remove", "path": "/spec/list/0"},
            {"op": "test", "path": "/metadata/labels/a~0b~1c", "value": "x"},
        ],
    )
    assert patched == {"spec": {"replicas": 3, "list": ["b"], "moved": 3}, "metadata": {"labels": {"a~b/c": "x"}}}
    assert doc == {"spec": {"replicas": 1, "list": ["a"]}}, "the input is not modified"


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove", "path": "/nope"},
        {"op": "replace", "path": "/nope", "value": 1},
        {"op": "test", "path": "/a", "value": 2},
        {"op": "frobnicate", "path": "/a"},
    ],
)
def test_json_patch_failures_are_422(operation):
    with pytest.raises(ApiError) as raised:
        json_patch({"a": 1}, [operation])
    assert raised.value.code == 422


def test_strategic_merge_merges_containers_by_name():
    patched = strategic_merge({"spec": POD_SPEC}, {"spec": {"containers": [{"name": "desk", "image": "desk:2"}]}})
    containers = patched["spec"]["containers"]
    assert [c["name"] for c in containers] == ["desk", "sidecar"]
    assert containers[0]["image"] == "desk:2"
    assert containers[0]["env"] == POD_SPEC["containers"][0]["env"], "fields not in the patch are kept"


def test_strategic_merge_merges_env_by_name_and_ports_by_container_port():
    patch = {
        "containers": [
            {
                "name": "desk",
                "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                "ports": [{"containerPort": 5900, "name": "vnc"}],
            }
        ]
    }
    desk = strategic_merge(POD_SPEC, patch)["containers"][0]
    assert desk["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]
    assert [p["containerPort"] for p in desk["ports"]] == [6080, 5900]


def test_strategic_merge_merges_volumes_by_name_and_replaces_atomic_lists():
    patched = strategic_merge(
        POD_SPEC,
        {"volumes": [{"name": "cache", "emptyDir": {}}], "tolerations": [{"key": "other", "operator": "Exists"}]},
    )
    assert [v["name"] for v in patched["volumes"]] == ["home", "cache"]
    assert patched["tolerations"] == [{"key": "other", "operator": "Exists"}]


def test_strategic_merge_directives():
    patched = strategic_merge(
        POD_SPEC,
        {
            "containers": [{"name": "sidecar", "$patch": "delete"}],
            "$setElementOrder/containers": [{"name": "desk"}],
            "volumes": [{"name": "only", "emptyDir": {}}, {"$patch": "replace"}],
        },
    )
    assert [c["name"] for c in patched["containers"]] == ["desk"]
    assert patched["volumes"] == [{"name": "only", "emptyDir": {}}]


def test_strategic_merge_service_ports_merge_by_port():
    spec = {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}
    patched = strategic_merge(spec, {"ports": [{"port": 443, "targetPort": 8443}]})
    assert patched["ports"][1] == {"port": 443, "name": "https", "targetPort": 8443}


def test_strategic_merge_finalizers_are_a_set_and_primitive_deletes_work():
    meta = {"finalizers": ["a", "b"]}
    assert strategic_merge(meta, {"finalizers": ["b", "c"]}) == {"finalizers": ["a", "b", "c"]}
    assert strategic_merge(meta, {"$deleteFromPrimitiveList/finalizers": ["a"]}) == {"finalizers": ["b"]}


def test_custom_resources_get_atomic_lists():
    patched = strategic_merge({"containers": [{"name": "a"}]}, {"containers": [{"name": "b"}]}, keyed=False)
    assert patched == {"containers": [{"name": "b"}]}
