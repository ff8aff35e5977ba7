"""Server-side apply: field managers, conflicts, force, removal of fields left out, no-op re-apply."""

import pytest
from conftest import deployment
from fakekube.errors import ApiError
from fakekube.options import WriteOptions


def desk(labels=None, env=None, image="desk:1", replicas=1):
    body = deployment("desk", replicas=replicas, image=image)
    body["metadata"]["labels"] = labels if labels is not None else {"app": "desk", "tier": "gpu"}
    body["spec"]["template"]["spec"]["containers"][0]["env"] = env or [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    return body


def managers(obj):
    return [(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"] if not m.get("subresource")]


def test_apply_creates_and_records_an_apply_manager(bare_api):
    created = bare_api.apply(desk())
    assert managers(created) == [("applier", "Apply")]
    fields = created["metadata"]["managedFields"][0]["fieldsV1"]
    containers = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert 'k:{"name":"main"}' in containers


def test_reapplying_the_same_config_writes_nothing(bare_api):
    first = bare_api.apply(desk())
    second = bare_api.apply(desk())
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert second == first


def test_fields_left_out_on_reapply_are_removed(bare_api):
    bare_api.apply(desk())
    after = bare_api.apply(desk(labels={"app": "desk"}, env=[{"name": "A", "value": "1"}], image="desk:2"))
    assert after["metadata"]["labels"] == {"app": "desk"}
    container = after["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["image"] == "desk:2"
    assert after["metadata"]["generation"] == 2


def test_fields_another_manager_owns_are_kept(bare_api):
    bare_api.apply(desk())
    bare_api.patch("apps/v1", "deployments", "desk", {"metadata": {"labels": {"team": "lab"}}}, manager="kubectl-edit")
    after = bare_api.apply(desk(labels={"app": "desk"}))
    assert after["metadata"]["labels"] == {"app": "desk", "team": "lab"}


def test_changing_a_field_an_update_manager_owns_conflicts(bare_api):
    bare_api.apply(desk())
    bare_api.patch("apps/v1", "deployments", "desk", {"spec": {"replicas": 3}}, manager="OpenAPI-Generator")
    with pytest.raises(ApiError) as raised:
        bare_api.apply(desk(replicas=2))
    error = raised.value
    assert (error.code, error.reason) == (409, "Conflict")
    assert (
        error.message == 'Apply failed with 1 conflict: conflict with "OpenAPI-Generator" using apps/v1: .spec.replicas'
    )
    assert error.details["causes"][0]["field"] == ".spec.replicas"


def test_conflict_between_two_appliers_and_force(bare_api):
    bare_api.apply(desk())
    with pytest.raises(ApiError) as raised:
        bare_api.apply(desk(image="desk:9"), manager="other")
    assert 'conflict with "applier": .spec.template.spec.containers[name="main"].image' in raised.value.message
    forced = bare_api.apply(desk(image="desk:9"), manager="other", force=True)
    assert forced["spec"]["template"]["spec"]["containers"][0]["image"] == "desk:9"
    # the first applier lost the field: applying its old value again now conflicts the other way
    with pytest.raises(ApiError):
        bare_api.apply(desk(image="desk:1"))


def test_same_value_from_two_appliers_is_shared_not_a_conflict(bare_api):
    bare_api.apply(desk())
    shared = bare_api.apply(desk(), manager="other")
    assert {manager for manager, _operation in managers(shared)} == {"applier", "other"}


def test_apply_needs_a_field_manager(bare_api):
    rtype = bare_api.type("apps/v1", "deployments")
    with pytest.raises(ApiError) as raised:
        bare_api.server.patch(rtype, "default", "desk", "application/apply-patch+yaml", desk(), WriteOptions())
    assert raised.value.code == 400


def test_update_managers_own_what_they_change(bare_api):
    bare_api.create(desk(), manager="creator")
    patched = bare_api.patch("apps/v1", "deployments", "desk", {"spec": {"replicas": 2}}, manager="scaler")
    entries = {m["manager"]: m["fieldsV1"] for m in patched["metadata"]["managedFields"]}
    assert "f:replicas" in entries["scaler"]["f:spec"]
    assert "f:replicas" not in entries["creator"]["f:spec"]


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("True", True), ("1", True), ("false", False), ("", False)]
)
def test_force_query_parameter_is_read_like_a_go_bool(value, expected):
    # the Python kubernetes client sends force=True; kube-apiserver reads it with strconv.ParseBool
    assert WriteOptions.from_query({"force": value}, "test/1.0").force is expected
