"""Custom resources against their CRD's structural schema: pruning, defaults, type/enum/required checks."""

import pytest
from fakekube.errors import ApiError
from fakekube.options import WriteOptions


def helm_chart(**spec):
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"},
        "spec": dict({"chart": "nvidia-device-plugin", "repo": "https://example.invalid/charts"}, **spec),
    }


def create(api, body, validation="Warn"):
    rtype = api.type(body["apiVersion"], body["kind"].lower() + "s")
    namespace = body["metadata"].get("namespace")
    return api.server.create(rtype, namespace, body, WriteOptions(field_manager="t", field_validation=validation))


def error_of(call, *args, **kwargs):
    with pytest.raises(ApiError) as raised:
        call(*args, **kwargs)
    return raised.value


def test_misspelt_helmchart_field_is_pruned_with_a_warning(bare_api):
    created, warnings = create(bare_api, helm_chart(valuesContents="gfd:\n  enabled: true\n"))
    assert "valuesContents" not in created["spec"]
    assert warnings == ['unknown field "spec.valuesContents"']


def test_strict_validation_refuses_the_misspelt_field(bare_api):
    error = error_of(create, bare_api, helm_chart(valuesContents="x"), "Strict")
    assert error.code == 400 and 'unknown field "spec.valuesContents"' in error.message


def test_helmchart_types_are_checked(bare_api):
    error = error_of(create, bare_api, helm_chart(backOffLimit="three"))
    assert error.code == 422
    assert error.message.startswith('HelmChart.helm.cattle.io "nvidia-device-plugin" is invalid: spec.backOffLimit')
    assert "must be of type integer" in error.message


def test_helmchart_set_takes_ints_and_strings(bare_api):
    created, _warnings = create(bare_api, helm_chart(set={"replicas": 2, "image.tag": "v1"}))
    assert created["spec"]["set"] == {"replicas": 2, "image.tag": "v1"}
    assert (
        error_of(
            create,
            bare_api,
            dict(helm_chart(set={"flag": True}), metadata={"name": "other", "namespace": "kube-system"}),
        ).code
        == 422
    )


def test_open_subtrees_keep_everything(bare_api):
    created, warnings = create(bare_api, helm_chart(podSecurityContext={"runAsUser": 1000, "anything": {"x": 1}}))
    assert created["spec"]["podSecurityContext"] == {"runAsUser": 1000, "anything": {"x": 1}}
    assert warnings == []


ROVER_SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["wheels"],
            "properties": {
                "wheels": {"type": "integer", "minimum": 3},
                "drive": {"type": "string", "enum": ["diff", "skid"], "default": "diff"},
                "sensors": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
    },
}


@pytest.fixture
def rovers(bare_api):
    bare_api.create(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "rovers.lab.example.org"},
            "spec": {
                "group": "lab.example.org",
                "scope": "Namespaced",
                "names": {"plural": "rovers", "kind": "Rover"},
                "versions": [
                    {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": ROVER_SCHEMA}}
                ],
            },
        }
    )
    return bare_api


def rover(**spec):
    return {
        "apiVersion": "lab.example.org/v1",
        "kind": "Rover",
        "metadata": {"name": "r1", "namespace": "default"},
        "spec": spec,
    }


def test_defaults_and_nested_pruning(rovers):
    created, warnings = create(
        rovers,
        rover(
            wheels=6,
            sensors=[{"name": "lidar", "rate": 10}],
            labels={"a": "b"},
            extra={"free": {"form": 1}},
            colour="red",
        ),
    )
    spec = created["spec"]
    assert spec["drive"] == "diff", "default filled in"
    assert spec["sensors"] == [{"name": "lidar"}]
    assert spec["extra"] == {"free": {"form": 1}}
    assert "colour" not in spec
    assert warnings == ['unknown field "spec.colour"', 'unknown field "spec.sensors[0].rate"']


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, "spec.wheels: Required value"),
        ({"wheels": 2}, "should be greater than or equal to 3"),
        ({"wheels": 6, "drive": "tank"}, 'Unsupported value: "tank"'),
        ({"wheels": 6, "labels": {"a": 1}}, "spec.labels.a in body must be of type string"),
    ],
)
def test_schema_violations_are_invalid(rovers, spec, expected):
    error = error_of(create, rovers, rover(**spec))
    assert error.code == 422 and expected in error.message
