"""Validation: names per kind, Invalid Status objects, immutable fields, unknown fields."""

import pytest
from conftest import config_map, deployment, namespace
from fakekube import schema
from fakekube.errors import ApiError
from fakekube.options import WriteOptions


def error_of(call, *args, **kwargs):
    with pytest.raises(ApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_bad_namespace_name_is_invalid_with_a_cause(api):
    error = error_of(api.create, namespace("desk-Alice_1"))
    assert (error.code, error.reason) == (422, "Invalid")
    assert error.message.startswith('Namespace "desk-Alice_1" is invalid: metadata.name: Invalid value: "desk-Alice_1"')
    (cause,) = error.details["causes"]
    assert cause["field"] == "metadata.name" and cause["reason"] == "FieldValueInvalid"


def test_service_names_are_dns1035_labels_but_configmaps_are_subdomains(api):
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1desk"}, "spec": {"ports": [{"port": 80}]}}
    assert error_of(api.create, service).code == 422
    assert api.create(config_map("1desk.settings"))["metadata"]["name"] == "1desk.settings"


def test_bad_label_value_is_invalid(api):
    error = error_of(api.create, config_map("settings", user="alice smith"))
    assert error.code == 422 and "metadata.labels" in error.message


def test_deployment_selector_must_match_template(api):
    body = deployment("desk")
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    error = error_of(api.create, body)
    assert error.code == 422
    assert "`selector` does not match template `labels`" in error.message


def test_container_needs_image_and_a_valid_name(api):
    body = deployment("desk")
    body["spec"]["template"]["spec"]["containers"] = [{"name": "Main"}]
    error = error_of(api.create, body)
    fields = {c["field"] for c in error.details["causes"]}
    assert fields == {"spec.template.spec.containers[0].name", "spec.template.spec.containers[0].image"}


def test_gpu_request_must_equal_its_limit(api):
    body = deployment("desk", requests={"nvidia.com/gpu": "1"}, limits={"nvidia.com/gpu": "2"})
    assert "must be equal to nvidia.com/gpu limit" in error_of(api.create, body).message
    body = deployment("desk", requests={"cpu": "2"}, limits={"cpu": "1"})
    assert "must be less than or equal to cpu limit" in error_of(api.create, body).message


def test_deployment_selector_is_immutable(api):
    api.create(deployment("desk"))
    patch = {
        "spec": {
            "selector": {"matchLabels": {"app": "desk", "v": "2"}},
            "template": {"metadata": {"labels": {"app": "desk", "v": "2"}}},
        }
    }
    error = error_of(api.patch, "apps/v1", "deployments", "desk", patch, "strategic")
    assert error.code == 422 and "spec.selector" in error.message and "field is immutable" in error.message


def pvc(size="10Gi", mode="ReadWriteOnce"):
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "home", "namespace": "default"},
        "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}},
    }


def test_pvc_may_grow_but_not_shrink_or_change(api):
    api.create(pvc())
    grown = api.patch(
        "v1", "persistentvolumeclaims", "home", {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}
    )
    assert grown["spec"]["resources"]["requests"]["storage"] == "20Gi"
    shrink = {"spec": {"resources": {"requests": {"storage": "5Gi"}}}}
    error = error_of(api.patch, "v1", "persistentvolumeclaims", "home", shrink)
    assert "field can not be less than previous value" in error.message
    error = error_of(api.patch, "v1", "persistentvolumeclaims", "home", {"spec": {"accessModes": ["ReadWriteMany"]}})
    assert "spec is immutable after creation" in error.message


@pytest.mark.parametrize("kind", ["Secret", "ConfigMap"])
def test_immutable_secrets_and_configmaps(api, kind):
    body = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": "fixed", "namespace": "default"},
        "data": {"key": "dmFsdWU="},
        "immutable": True,
    }
    api.create(body)
    plural = kind.lower() + "s"
    error = error_of(api.patch, "v1", plural, "fixed", {"data": {"key": "b3RoZXI="}})
    assert "field is immutable when `immutable` is set" in error.message
    error = error_of(api.patch, "v1", plural, "fixed", {"immutable": False})
    assert error.code == 422
    relabelled = api.patch("v1", plural, "fixed", {"metadata": {"labels": {"a": "b"}}})
    assert relabelled["metadata"]["labels"] == {"a": "b"}, "metadata stays mutable"


def test_service_cluster_ip_is_kept_and_immutable(api):
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "desk", "namespace": "default"},
        "spec": {"selector": {"app": "desk"}, "ports": [{"port": 80}]},
    }
    created = api.create(service)
    ip = created["spec"]["clusterIP"]
    assert ip.startswith("10.43.")
    replaced = api.replace(service)  # a PUT that leaves clusterIP out keeps it
    assert replaced["spec"]["clusterIP"] == ip
    error = error_of(api.patch, "v1", "services", "desk", {"spec": {"clusterIP": "10.43.99.99"}})
    assert "may not change once set" in error.message


def test_job_template_is_immutable(api):
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once", "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "x:1"}]}}},
    }
    api.create(job)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:2"}]}}}}
    error = error_of(api.patch, "batch/v1", "jobs", "once", patch, "strategic")
    assert "spec.template" in error.message and "field is immutable" in error.message


def test_job_needs_a_restart_policy_other_than_always(api):
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}},
    }
    assert 'Unsupported value: "Always"' in error_of(api.create, job).message


@pytest.mark.skipif(not schema.available(), reason="kubernetes-validate is not installed")
def test_type_errors_are_bad_requests(api):
    body = deployment("desk")
    body["spec"]["replicas"] = "one"
    error = error_of(api.create, body)
    assert error.code == 400 and "spec.replicas" in error.message


@pytest.mark.skipif(not schema.available(), reason="kubernetes-validate is not installed")
def test_unknown_fields_are_dropped_with_a_warning_or_refused_with_strict_validation(api):
    body = config_map("settings")
    body["dataa"] = {"x": "y"}
    rtype = api.type("v1", "configmaps")
    created, warnings = api.server.create(rtype, "default", body, WriteOptions(field_manager="t"))
    assert warnings == ['unknown field "dataa"']
    assert "dataa" not in created, "decoding drops unknown fields"
    body["metadata"]["name"] = "strict"
    error = error_of(
        api.server.create, rtype, "default", body, WriteOptions(field_manager="t", field_validation="Strict")
    )
    assert error.code == 400 and 'strict decoding error: unknown field "dataa"' in error.message


def test_crd_name_must_be_plural_dot_group(api):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "wrong"},
        "spec": {
            "group": "lab.example.org",
            "scope": "Namespaced",
            "names": {"plural": "rovers", "kind": "Rover"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    assert error_of(api.create, crd).code == 422
